import { randomBytes } from 'node:crypto'

/** `prefix_` followed by 20 random base32 characters (100 bits). */
export function newId(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  const bytes = randomBytes(20)
  let id = ''
  for (const byte of bytes) id += alphabet[byte & 31]
  return `${prefix}_${id}`
}

/**
 * True when `value` looks like an id {@link newId} made with `prefix` (ids made by older versions
 * included). Checked before any query: a NUL or a stray byte never reaches the database.
 */
export function isId(prefix: string, value: string): boolean {
  return value.startsWith(`${prefix}_`) && /^[a-z0-9]{1,64}$/.test(value.slice(prefix.length + 1))
}
