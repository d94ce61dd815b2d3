/**
 * Group commit: transactions queued in the same turn of the event loop run as one database
 * transaction, so concurrent requests share one commit (the dearest statement of a write on
 * SQLite, and a WAL flush on PostgreSQL). A batch that fails runs each of its transactions
 * again on its own, so one request's error never becomes another's.
 * @module
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely'
import { RowBatch } from './row-insert'
import type { Database, DatabaseWriter } from './schema'
import { type WriteStatement, writerThreadOf } from './writer-thread'

/** Runs `body` in a transaction that may be shared with others queued at the same time. */
export interface BatchedTransaction {
  <T>(body: (trx: Transaction<Database>) => Promise<T>): Promise<T>
  /**
   * Writes `rows` (see RowBatch). On PostgreSQL the row batches queued together are written as
   * one statement, atomic on its own: without a transaction (no BEGIN and COMMIT round trips)
   * unless other bodies share the turn, and then in theirs.
   */
  insertRows(rows: RowBatch): Promise<void>
  /**
   * Runs SQLite `statements` that read nothing back (a text's record), in one transaction: on
   * the writer thread, after the rows queued in the same turn and in their transaction; in a
   * transaction here when they cannot go there.
   */
  writeStatements(statements: readonly WriteStatement[]): Promise<void>
}

interface Queued {
  body: (trx: Transaction<Database>) => Promise<unknown>
  /** Set for insertRows: the rows the body writes. */
  rows?: RowBatch | undefined
  /** Set for writeStatements: the statements the body runs. */
  statements?: readonly WriteStatement[] | undefined
  resolve(value: unknown): void
  reject(error: unknown): void
}

/** Runs `bodies` one after another in `trx`: their answers, in order. */
async function runBodies(
  trx: Transaction<Database>,
  bodies: readonly Queued[],
): Promise<unknown[]> {
  const out: unknown[] = []
  for (const { body } of bodies) out.push(await body(trx))
  return out
}

const shared = new WeakMap<Kysely<Database>, BatchedTransaction>()

/**
 * The batcher of `db` that every hot-path writer shares (starts, the dispatcher's claims and
 * answers, the sandbox inbox), so their writes of one turn share one commit.
 */
export function sharedBatchedTransactions(db: Kysely<Database>): BatchedTransaction {
  let batcher = shared.get(db)
  if (!batcher) {
    batcher = batchedTransactions(db)
    shared.set(db, batcher)
  }
  return batcher
}

/**
 * A body must be safe to run twice (it is re-run alone when its batch fails) and must write
 * only through `trx`. Bodies of one batch run one after another on one connection.
 * @example
 * const inTransaction = batchedTransactions(db)
 * await inTransaction(async (trx) => { await trx.insertInto('outbox').values(row).execute() })
 */
export function batchedTransactions(
  db: Kysely<Database>,
  { maxBatch = 32 }: { maxBatch?: number } = {},
): BatchedTransaction {
  let queue: Queued[] = []
  let scheduled = false

  /**
   * Writes `rows`, then `more`, on the SQLite writer thread when `db` has one (and the rows can
   * go there).
   */
  function onWriterThread(
    rows: RowBatch,
    more: readonly WriteStatement[] = [],
  ): Promise<void> | undefined {
    const writer = writerThreadOf(db)
    const statements = writer && rows.sqliteStatements(db)
    if (!statements) return undefined
    return writer.write(more.length > 0 ? [...statements, ...more] : statements)
  }

  function alone({ body, rows, statements, resolve, reject }: Queued): Promise<void> {
    const run =
      (rows && onWriterThread(rows)) ??
      (statements && onWriterThread(new RowBatch(), statements)) ??
      (rows?.isOneStatementOn(db) ? rows.write(db) : db.transaction().execute(body))
    return run.then(resolve, reject)
  }

  async function flush(): Promise<void> {
    scheduled = false
    const batch = queue.slice(0, maxBatch)
    queue = queue.slice(maxBatch)
    if (queue.length > 0) schedule()
    if (batch.length === 1) return alone(batch[0] as Queued)
    // The row batches of the turn become one, written first; then the other bodies in order.
    const rows = RowBatch.merge(batch.flatMap((queued) => (queued.rows ? [queued.rows] : [])))
    // On SQLite with a writer thread, the rows are written there, then the statements queued
    // with them, in one transaction; the other bodies of the turn (which read as they write)
    // share a transaction of their own here.
    const elsewhere = onWriterThread(
      rows,
      batch.flatMap((queued) => queued.statements ?? []),
    )
    if (elsewhere) {
      const there = batch.filter((queued) => queued.rows || queued.statements)
      const here = batch.filter((queued) => !queued.rows && !queued.statements)
      const written = elsewhere.then(
        () => {
          for (const queued of there) queued.resolve(undefined)
        },
        async () => {
          for (const queued of there) await alone(queued)
        },
      )
      await Promise.all([written, here.length > 0 ? runTogether(here) : undefined])
      return
    }
    const bodies = batch.filter((queued) => !queued.rows)
    let values: unknown[]
    try {
      if (bodies.length === 0 && rows.isOneStatementOn(db)) {
        await rows.write(db)
        values = []
      } else {
        values = await db.transaction().execute(async (trx) => {
          await rows.write(trx)
          return runBodies(trx, bodies)
        })
      }
    } catch {
      // Whichever body or row failed (or the commit), each gets its own answer.
      for (const queued of batch) await alone(queued)
      return
    }
    for (const { rows, resolve } of batch) resolve(rows ? undefined : values.shift())
  }

  /** `bodies` in one transaction, each re-run alone when it fails. */
  async function runTogether(bodies: Queued[]): Promise<void> {
    if (bodies.length === 1) return alone(bodies[0] as Queued)
    let values: unknown[]
    try {
      values = await db.transaction().execute((trx) => runBodies(trx, bodies))
    } catch {
      for (const queued of bodies) await alone(queued)
      return
    }
    for (const [i, queued] of bodies.entries()) queued.resolve(values[i])
  }

  function schedule(): void {
    if (scheduled) return
    scheduled = true
    setImmediate(() => void flush())
  }

  const enqueue = <T>(
    body: (trx: Transaction<Database>) => Promise<T>,
    rows?: RowBatch,
    statements?: readonly WriteStatement[],
  ) =>
    new Promise<T>((resolve, reject) => {
      queue.push({ body, rows, statements, resolve: resolve as (value: unknown) => void, reject })
      schedule()
    })
  return Object.assign(<T>(body: (trx: Transaction<Database>) => Promise<T>) => enqueue(body), {
    insertRows: (rows: RowBatch) => enqueue((trx) => rows.write(trx), rows),
    writeStatements: (statements: readonly WriteStatement[]) =>
      enqueue(
        async (trx) => {
          for (const [sql, parameters] of statements) {
            await trx.executeQuery(CompiledQuery.raw(sql, [...parameters]))
          }
        },
        undefined,
        statements,
      ),
  })
}

/**
 * Runs `body` inside `db` when it is a transaction already (a batch's, say), else in a
 * transaction of its own: for writes that must be atomic whoever calls them.
 */
export function withinTransaction<T>(
  db: DatabaseWriter,
  body: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? body(db as Transaction<Database>) : db.transaction().execute(body)
}
