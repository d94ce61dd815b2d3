/**
 * A copy of an object with fields added or replaced: what `{ ...base, ...fields }` means, in a
 * form Node 20's V8 gives one hidden class per shape. An object literal that starts with a spread
 * (`{ ...base, more }`) is cloned from `base`, and the clone gains the fields after it through a
 * hidden class made for that one object: a new class and descriptor array, allocated straight in
 * the old generation, for every object built that way. On a request's path that fills the old
 * generation with dead classes, and its collections (tens of milliseconds of slower requests
 * each) come every few seconds (measured on a start at 1,450/s: 3.6 MB/s of them out of 7 MB/s
 * promoted). `Object.assign` into a new empty object walks the usual transitions instead.
 * `with-fields.test.ts` finds literals that start with a spread and have more fields.
 *
 * For small objects: past about 16 fields the copy is a dictionary (slower to read, still one
 * class). A large row is better written out field by field, or spread with no field added.
 * @example
 * const sent = withFields(result, { carrier: result.carrier ?? adapter.id })
 * @module
 */
export function withFields<T extends object, U extends object>(
  base: T,
  fields: U,
): Omit<T, keyof U> & U {
  return Object.assign({}, base, fields)
}
