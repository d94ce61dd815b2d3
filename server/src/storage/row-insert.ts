/**
 * Inserting rows on the hot path without building and compiling a Kysely query each time.
 * Kysely builds an operation tree and compiles it to SQL for every insert, which costs more
 * than SQLite takes to run it; the SQL of one table and set of columns never changes, so it is
 * compiled once per dialect and reused with each row's values. (The SQLite driver then reuses
 * its prepared statement by that SQL text, see openStorage.) Rows that belong together go into
 * a {@link RowBatch}: one statement on PostgreSQL, where each statement is a round trip.
 * @module
 */
import { CompiledQuery, type Insertable, PostgresAdapter } from 'kysely'
import type { Database, DatabaseWriter } from './schema'
import type { WriteStatement } from './writer-thread'

/** Where a row goes: the database now, or a batch written later in one go. */
export type RowWriter = DatabaseWriter | RowBatch

/** SQL by `table(columns)` (or a batch's shapes), per dialect (the adapter identifies it). */
const compiled = new WeakMap<object, Map<string, string | null>>()

const sameValues = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((value, i) => value === b[i])

interface Row {
  table: keyof Database & string
  values: Record<string, unknown>
  shape: string
  parameters: unknown[]
}

/** Shapes a table's rows have had (their columns, and the shape's name), a few per table. */
const shapesOfTable = new Map<string, { columns: readonly string[]; shape: string }[]>()
const SHAPES_KEPT = 16

/**
 * `table(column,…)`: the name a row's shape is compiled under. A table's rows come in a few
 * shapes, so a known one is found by comparing column names (the same interned strings, each
 * compared by pointer) instead of joining them into a new string and hashing it on every row.
 */
function shapeOf(table: string, columns: readonly string[]): string {
  let known = shapesOfTable.get(table)
  if (!known) {
    known = []
    shapesOfTable.set(table, known)
  }
  for (const seen of known) if (sameValues(seen.columns, columns)) return seen.shape
  const shape = `${table}(${columns.join(',')})`
  if (known.length < SHAPES_KEPT) known.push({ columns, shape })
  return shape
}

function rowOf(table: keyof Database & string, row: object): Row {
  const values = row as Record<string, unknown>
  const columns = Object.keys(values).filter((column) => values[column] !== undefined)
  return {
    table,
    values,
    shape: shapeOf(table, columns),
    parameters: columns.map((column) => values[column]),
  }
}

function shapesOf(db: DatabaseWriter): Map<string, string | null> {
  const { adapter } = db.getExecutor()
  let byShape = compiled.get(adapter)
  if (!byShape) {
    byShape = new Map()
    compiled.set(adapter, byShape)
  }
  return byShape
}

/**
 * The SQL of `row`'s shape, compiled by Kysely the first time; null when its parameters are not
 * the row's values in column order (a value Kysely turns into SQL): that shape always goes
 * through Kysely.
 */
function sqlOf(db: DatabaseWriter, row: Row): string | null {
  const byShape = shapesOf(db)
  let sql = byShape.get(row.shape)
  if (sql === undefined) {
    const first = db
      .insertInto(row.table)
      .values(row.values as never)
      .compile()
    sql = sameValues(first.parameters, row.parameters) ? first.sql : null
    byShape.set(row.shape, sql)
  }
  return sql
}

async function insertNow(db: DatabaseWriter, row: Row): Promise<void> {
  const sql = sqlOf(db, row)
  if (sql === null) {
    await db
      .insertInto(row.table)
      .values(row.values as never)
      .execute()
    return
  }
  await db.executeQuery(CompiledQuery.raw(sql, row.parameters))
}

/**
 * Runs `insert into table (columns) values (…)` for `row`, exactly as
 * `db.insertInto(table).values(row).execute()` would (columns whose value is undefined are left
 * out); into a {@link RowBatch}, it only queues the row.
 * @example
 * await insertRow(trx, 'outbox', { id, message_id, state: 'pending', … })
 */
export async function insertRow<T extends keyof Database & string>(
  db: RowWriter,
  table: T,
  row: Insertable<Database[T]>,
): Promise<void> {
  if (db instanceof RowBatch) {
    db.add(table, row)
    return
  }
  await insertNow(db, rowOf(table, row))
}

/** Whether `db` speaks PostgreSQL (else SQLite). */
export const isPostgres = (db: DatabaseWriter) =>
  db.getExecutor().adapter instanceof PostgresAdapter

/**
 * Rows written together by {@link RowBatch.write}: on PostgreSQL in one statement (one
 * multi-row insert per table and column set, each but the last a data-modifying CTE: atomic on
 * its own, and foreign keys are checked at its end, so a row may refer to one added before it);
 * on SQLite one statement per row in the order they were added, as {@link insertRow} runs them
 * (statements there cost no round trip, and SQLite has no data-modifying CTEs).
 * @example
 * const rows = new RowBatch()
 * await insertRow(rows, 'messages', message)
 * await insertRow(rows, 'outbox', outboxRow)
 * await rows.write(trx)
 */
export class RowBatch {
  readonly #rows: Row[] = []

  /** One batch of the rows of `batches`, in their order. */
  static merge(batches: readonly RowBatch[]): RowBatch {
    const merged = new RowBatch()
    for (const batch of batches) merged.#rows.push(...batch.#rows)
    return merged
  }

  get isEmpty(): boolean {
    return this.#rows.length === 0
  }

  add<T extends keyof Database & string>(table: T, row: Insertable<Database[T]>): void {
    this.#rows.push(rowOf(table, row))
  }

  /** True when {@link write} takes one statement on `db` (atomic without a transaction). */
  isOneStatementOn(db: DatabaseWriter): boolean {
    return this.#rows.length === 1 || (this.#rows.length > 1 && isPostgres(db))
  }

  /**
   * The batch as SQLite statements, one a row in order, to be run by another connection (the
   * writer thread); null on PostgreSQL, or when a row's shape must go through Kysely each time.
   */
  sqliteStatements(db: DatabaseWriter): WriteStatement[] | null {
    if (isPostgres(db)) return null
    const statements: WriteStatement[] = []
    for (const row of this.#rows) {
      const sql = sqlOf(db, row)
      if (sql === null) return null
      statements.push([sql, row.parameters])
    }
    return statements
  }

  /**
   * On PostgreSQL, the batch's inserts and then `statement` as one statement (atomic on its
   * own: no transaction, one round trip): the inserts go first as data-modifying CTEs, `statement`
   * (which may start with its own `with`) is the last part and its parameters come after the
   * rows'. `key` names `statement`'s SQL for the cache (a statement whose text varies must have
   * a key that varies with it). Null on SQLite, for an empty batch, or when a row's shape must
   * go through Kysely each time.
   * @example
   * const one = rows.beforeStatement(db, 'sent:3', sent)
   * if (one) await db.executeQuery(one)
   */
  beforeStatement(db: DatabaseWriter, key: string, statement: CompiledQuery): CompiledQuery | null {
    if (this.#rows.length === 0 || !isPostgres(db)) return null
    return chainedStatement(db, this.#rows, { key, statement })
  }

  async write(db: DatabaseWriter): Promise<void> {
    const rows = this.#rows
    if (rows.length === 0) return
    if (rows.length === 1 || !isPostgres(db)) {
      for (const row of rows) await insertNow(db, row)
      return
    }
    const statement = chainedStatement(db, rows)
    if (statement === null) {
      // A row Kysely must build each time: one statement a row, still all or nothing.
      if (db.isTransaction) for (const row of rows) await insertNow(db, row)
      else
        await db.transaction().execute(async (trx) => {
          for (const row of rows) await insertNow(trx, row)
        })
      return
    }
    await db.executeQuery(statement)
  }
}

/** Shapes kept per dialect. */
const MAX_SHAPES = 500

/**
 * `rows` as one PostgreSQL statement (see chained), `tail` last when given, compiled once per
 * shape of the batch (its tables, columns and row counts) and tail key; null when a row's shape
 * must go through Kysely each time.
 */
function chainedStatement(
  db: DatabaseWriter,
  rows: readonly Row[],
  tail?: { key: string; statement: CompiledQuery },
): CompiledQuery | null {
  const groups = new Map<string, Row[]>()
  for (const row of rows) {
    const group = groups.get(row.shape)
    if (group) group.push(row)
    else groups.set(row.shape, [row])
  }
  const shape = [...groups].map(([rowShape, group]) => `${rowShape}*${group.length}`).join('+')
  const cacheKey = tail ? `${shape}>${tail.key}` : shape
  const byShape = shapesOf(db)
  let sql = byShape.get(cacheKey)
  if (sql === undefined) {
    const parts = [...groups.values()].map((group) => groupSqlOf(db, group))
    if (tail) parts.push(tail.statement.sql)
    sql = parts.every((part) => part !== null) ? chained(parts as string[]) : null
    // A batch's shape carries its row counts: bounded, as query templates are.
    if (byShape.size >= MAX_SHAPES) byShape.clear()
    byShape.set(cacheKey, sql)
  }
  if (sql === null) return null
  const parameters = [...groups.values()].flat().flatMap((row) => row.parameters)
  return CompiledQuery.raw(sql, tail ? [...parameters, ...tail.statement.parameters] : parameters)
}

/** One multi-row insert of rows of one shape (see sqlOf), or null. */
function groupSqlOf(db: DatabaseWriter, group: Row[]): string | null {
  const [first] = group
  if (!first) return null
  if (group.length === 1) return sqlOf(db, first)
  const compiledGroup = db
    .insertInto(first.table)
    .values(group.map((row) => row.values) as never)
    .compile()
  const parameters = group.flatMap((row) => row.parameters)
  return sameValues(compiledGroup.parameters, parameters) ? compiledGroup.sql : null
}

/**
 * PostgreSQL inserts as one statement: `with "r0" as (insert …), "r1" as (insert …) insert …`,
 * each one's `$n` placeholders numbered on from the one before. Only SQL whose parameters are
 * its rows' values (see sqlOf) comes here, and a last statement of ours (see
 * RowBatch.beforeStatement): texts that hold no `$` but the placeholders.
 */
function chained(parts: string[]): string {
  let offset = 0
  const renumbered = parts.map((part) => {
    let count = 0
    const sql = part.replace(/\$(\d+)/g, (_, n: string) => {
      count = Math.max(count, Number(n))
      return `$${Number(n) + offset}`
    })
    offset += count
    return sql
  })
  let last = renumbered.pop() as string
  if (renumbered.length === 0) return last
  const ctes = renumbered.map((sql, i) => `"r${i}" as (${sql})`).join(', ')
  // A last part with its own `with` list (a tail of ours; inserts never have one): its CTEs
  // join the list after the inserts'.
  const own = /^with\s+/i.exec(last)
  if (own) {
    last = last.slice(own[0].length)
    return `with ${ctes}, ${last}`
  }
  return `with ${ctes} ${last}`
}
