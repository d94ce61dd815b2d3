/**
 * Inserting one row on the hot path without building and compiling a Kysely query each time.
 * Kysely builds an operation tree and compiles it to SQL for every insert, which costs more
 * than SQLite takes to run it; the SQL of one table and set of columns never changes, so it is
 * compiled once per dialect and reused with each row's values. (The SQLite driver then reuses
 * its prepared statement by that SQL text, see openStorage.)
 * @module
 */
import { CompiledQuery, type Insertable, type Kysely, type Transaction } from 'kysely'
import type { Database } from './schema'

type Writer = Kysely<Database> | Transaction<Database>

/** SQL by `table(columns)`, per dialect (the adapter object identifies it). */
const compiled = new WeakMap<object, Map<string, string | null>>()

const sameValues = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((value, i) => value === b[i])

/**
 * Runs `insert into table (columns) values (…)` for `row`, exactly as
 * `db.insertInto(table).values(row).execute()` would (columns whose value is undefined are left
 * out). The first insert of a table and column set is compiled by Kysely; when its parameters
 * are not the row's values in column order (a value Kysely turns into SQL), that shape always
 * goes through Kysely.
 * @example
 * await insertRow(trx, 'outbox', { id, message_id, state: 'pending', … })
 */
export async function insertRow<T extends keyof Database & string>(
  db: Writer,
  table: T,
  row: Insertable<Database[T]>,
): Promise<void> {
  const values = row as Record<string, unknown>
  const columns = Object.keys(values).filter((column) => values[column] !== undefined)
  const parameters = columns.map((column) => values[column])
  const { adapter } = db.getExecutor()
  let byShape = compiled.get(adapter)
  if (!byShape) {
    byShape = new Map()
    compiled.set(adapter, byShape)
  }
  const shape = `${table}(${columns.join(',')})`
  let sql = byShape.get(shape)
  if (sql === undefined) {
    const query = db.insertInto(table).values(row as never)
    const first = query.compile()
    sql = sameValues(first.parameters, parameters) ? first.sql : null
    byShape.set(shape, sql)
    await db.executeQuery(first)
    return
  }
  if (sql === null) {
    await db
      .insertInto(table)
      .values(row as never)
      .execute()
    return
  }
  await db.executeQuery(CompiledQuery.raw(sql, parameters))
}
