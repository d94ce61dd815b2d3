/**
 * Queries of the hot path compiled once per shape. Kysely builds an operation tree and compiles
 * it to SQL on every call, which costs more than SQLite takes to run a small statement. A query
 * whose SQL depends only on a few sizes (how many rows, how many keys) is built once per shape
 * with a placeholder for each value, and from then on run with new values and the same SQL.
 * (The SQLite driver then reuses its prepared statement by that SQL text, see openStorage.)
 * @module
 */
import { randomUUID } from 'node:crypto'
import { type Compilable, CompiledQuery } from 'kysely'
import type { DatabaseWriter } from './schema'

/** Each parameter of the compiled SQL: a value by its index, or a constant of the query. */
type Slot = { value: number } | { constant: unknown }

interface Template {
  sql: string
  slots: Slot[]
}

/** Templates by shape, per dialect (the adapter object identifies it); null: not templatable. */
const templates = new WeakMap<object, Map<string, Template | null>>()

/** Shapes kept per dialect: a bound, since a shape may carry a size (rows of a batch). */
const MAX_SHAPES = 500

/** A placeholder no caller's value can equal. */
const MARK = `\u0000tg:${randomUUID()}:`

function templateOf(compiled: CompiledQuery, count: number): Template | null {
  // A placeholder written into the SQL text (a literal) cannot be swapped: not templatable.
  if (compiled.sql.includes(MARK)) return null
  const slots: Slot[] = []
  for (const parameter of compiled.parameters) {
    if (typeof parameter === 'string' && parameter.startsWith(MARK)) {
      const value = Number(parameter.slice(MARK.length))
      if (!Number.isInteger(value) || value < 0 || value >= count) return null
      slots.push({ value })
    } else if (parameter === null || ['string', 'number', 'boolean'].includes(typeof parameter)) {
      slots.push({ constant: parameter })
    } else {
      return null
    }
  }
  return { sql: compiled.sql, slots }
}

/**
 * Runs the query `build` makes, with `values` in its placeholders. `build` is called once per
 * `shape` (and dialect): it must only pass each placeholder into the query, never read it, and
 * the SQL it makes must depend on nothing but `shape` (say, the number of rows). A query whose
 * SQL carries a placeholder as a literal is built and compiled by Kysely every time.
 * @example
 * const rows = await runTemplate(db, `keys:${keys.length}`, keys, (v) =>
 *   db.selectFrom('fraud_counters').selectAll().where('key', 'in', keys.map((_, i) => v(i))),
 * )
 */
export async function runTemplate<R>(
  db: DatabaseWriter,
  shape: string,
  values: readonly unknown[],
  build: (value: (index: number) => never) => Compilable<R>,
): Promise<R[]> {
  return (await db.executeQuery<R>(compileTemplate(db, shape, values, build))).rows
}

/**
 * The query {@link runTemplate} would run, compiled and not run: for a connection other than
 * `db`'s (the SQLite writer thread), which takes SQL and parameters.
 */
export function compileTemplate<R>(
  db: DatabaseWriter,
  shape: string,
  values: readonly unknown[],
  build: (value: (index: number) => never) => Compilable<R>,
): CompiledQuery<R> {
  const { adapter } = db.getExecutor()
  let byShape = templates.get(adapter)
  if (!byShape) {
    byShape = new Map()
    templates.set(adapter, byShape)
  }
  let template = byShape.get(shape)
  if (template === undefined) {
    template = templateOf(build((index) => `${MARK}${index}` as never).compile(), values.length)
    if (byShape.size >= MAX_SHAPES) byShape.clear()
    byShape.set(shape, template)
  }
  if (template === null) return build((index) => values[index] as never).compile()
  const parameters = template.slots.map((slot) =>
    'value' in slot ? values[slot.value] : slot.constant,
  )
  return CompiledQuery.raw(template.sql, parameters) as CompiledQuery<R>
}
