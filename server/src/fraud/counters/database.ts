/**
 * Counters in the database, exact across server processes: each counter keeps one row per fixed
 * window (see ./types.ts). A hit is one multi-row upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`), so
 * concurrent processes never lose an increment, on SQLite and on PostgreSQL.
 * @module
 */
import { CompiledQuery, type Kysely, PostgresAdapter, sql } from 'kysely'
import type { Database, DatabaseWriter } from '../../storage'
import { compileTemplate, runTemplate } from '../../storage/query-templates'
import type { WriteStatement } from '../../storage/writer-thread'
import {
  bucketOf,
  type CounterRef,
  type CounterRow,
  type CounterStore,
  estimate,
  expiryOf,
  inRowOrder,
  rowId,
  rowKey,
} from './types'

/** One caller's counters waiting for the next round trip. */
interface Pending {
  refs: CounterRef[]
  at: number
  /** What to add; null to read only. */
  amount: number | null
  /** False when the caller only adds and wants no values back. */
  values: boolean
  resolve(values: number[]): void
  reject(error: unknown): void
}

/** Rows of one multi-row upsert: PostgreSQL takes at most 65,535 parameters per statement. */
const MAX_ROWS_PER_UPSERT = 1_000

const upsertQuery = (db: DatabaseWriter, rows: number, v: (index: number) => never) =>
  db
    .insertInto('fraud_counters')
    .values(
      Array.from({ length: rows }, (_, i) => ({
        key: v(4 * i),
        bucket: v(4 * i + 1),
        count: v(4 * i + 2),
        expires_at: v(4 * i + 3),
      })),
    )
    .onConflict((oc) =>
      oc.columns(['key', 'bucket']).doUpdateSet((eb) => ({
        count: eb('fraud_counters.count', '+', eb.ref('excluded.count')),
      })),
    )

const readQuery = (db: Kysely<Database>, keys: number, v: (index: number) => never, from: number) =>
  db
    .selectFrom('fraud_counters')
    .select(['key', 'bucket', 'count'])
    .where(
      'key',
      'in',
      Array.from({ length: keys }, (_, i) => v(from + 1 + i)),
    )
    .where('bucket', '>=', v(from))

const rowValues = (rows: CounterRow[]) =>
  rows.flatMap((row) => [row.key, row.bucket, row.count, row.expires_at])

/** Adds each row's count (rows in key order); every row's new total. */
const upsert = (db: Kysely<Database>, rows: CounterRow[]) =>
  // Compiled once per number of rows (see runTemplate): four values a row.
  runTemplate(db, `counters.upsert:${rows.length}`, rowValues(rows), (v) =>
    upsertQuery(db, rows.length, v).returning(['key', 'bucket', 'count']),
  )

/** Rows of the largest statement of {@link addRows}. */
const MAX_ROWS_PER_ADD = 512

/**
 * Adds each row's count, answering nothing (the write-behind flush, see ./write-behind.ts).
 * Rows go in statements of powers of two, so that a few statement shapes serve every size.
 */
export async function addRows(db: DatabaseWriter, rows: CounterRow[]): Promise<void> {
  for (const { sql, parameters } of addStatements(db, rows)) {
    await db.executeQuery(CompiledQuery.raw(sql, [...parameters]))
  }
}

/** The statements of {@link addRows}, compiled for `db`'s dialect, to run elsewhere. */
export function addRowStatements(db: DatabaseWriter, rows: CounterRow[]): WriteStatement[] {
  return addStatements(db, rows).map(({ sql, parameters }) => [sql, parameters])
}

function addStatements(db: DatabaseWriter, rows: CounterRow[]): CompiledQuery[] {
  const statements: CompiledQuery[] = []
  for (let from = 0; from < rows.length; ) {
    const size = Math.min(MAX_ROWS_PER_ADD, 2 ** Math.floor(Math.log2(rows.length - from)))
    const part = rows.slice(from, from + size)
    statements.push(
      compileTemplate(db, `counters.add:${size}`, rowValues(part), (v) => upsertQuery(db, size, v)),
    )
    from += size
  }
  return statements
}

/** The stored windows of `keys` (each a `rowKey`) from bucket `oldest` on. */
export const read = (db: Kysely<Database>, keys: string[], oldest: number) =>
  runTemplate(db, `counters.read:${keys.length}`, [oldest, ...keys], (v) =>
    readQuery(db, keys.length, v, 0),
  )

/** Key places of a read beside an upsert come in steps (see upsertAndRead). */
const KEY_STEP = 8

/**
 * {@link upsert} and {@link read} in one statement (PostgreSQL: a data-modifying CTE); each row
 * says which part it comes from. The keys take places in steps of {@link KEY_STEP} (the last
 * repeated: the same `IN` list), so the shapes of rows × keys stay few.
 */
function upsertAndRead(db: Kysely<Database>, rows: CounterRow[], wanted: string[], oldest: number) {
  const places = Math.ceil(wanted.length / KEY_STEP) * KEY_STEP
  const keys = Array.from({ length: places }, (_, i) => wanted[Math.min(i, wanted.length - 1)])
  return runTemplate(
    db,
    `counters.upsert-read:${rows.length}:${keys.length}`,
    [...rowValues(rows), oldest, ...keys],
    (v) =>
      db
        .with('up', () => upsertQuery(db, rows.length, v).returning(['key', 'bucket', 'count']))
        .selectFrom('up')
        .select(['key', 'bucket', 'count', sql<number>`1`.as('upserted')])
        .unionAll(
          readQuery(db, keys.length, v, 4 * rows.length).select(sql<number>`0`.as('upserted')),
        ),
  )
}

/**
 * Runs every queued caller's hits and reads in two statements: one multi-row upsert for all the
 * hits (`… ON CONFLICT DO UPDATE … RETURNING`, rows in key order so that two processes lock them
 * in the same order) and one select for the previous windows and the reads; on PostgreSQL both
 * in one statement, a round trip less on every start. Several callers hitting one counter get
 * the values they would have got one after another, so every limit stays exact: the upsert
 * returns the total, and each caller's value is that total less what the callers queued after
 * it added.
 */
async function runBatch(db: Kysely<Database>, batch: Pending[]): Promise<void> {
  const added = new Map<string, CounterRow>()
  const hitsOf = batch.map(({ refs, at, amount }) => {
    if (amount === null) return []
    const unique = new Map<string, CounterRef>()
    for (const ref of refs) unique.set(rowKey(ref), ref)
    return [...unique.values()].map((ref) => {
      const bucket = bucketOf(at, ref.windowMs)
      const id = rowId(rowKey(ref), bucket)
      const row = added.get(id)
      if (row) row.count += amount
      else {
        added.set(id, {
          key: rowKey(ref),
          bucket,
          count: amount,
          expires_at: expiryOf(ref, bucket),
        })
      }
      return { id, amount }
    })
  })

  const rows = [...added.values()].sort(inRowOrder)
  // Previous windows of the sliding hits, current (and previous) windows of the reads.
  const keys = new Set<string>()
  let oldest = Number.POSITIVE_INFINITY
  for (const { refs, at, amount, values } of batch) {
    if (!values) continue
    for (const ref of refs) {
      if (amount !== null && ref.fixed) continue
      keys.add(rowKey(ref))
      oldest = Math.min(oldest, bucketOf(at, ref.windowMs) - (ref.fixed ? 0 : ref.windowMs))
    }
  }
  const wanted = [...keys]

  const totals = new Map<string, number>()
  const stored = new Map<string, number>()
  if (
    rows.length > 0 &&
    rows.length <= MAX_ROWS_PER_UPSERT &&
    wanted.length > 0 &&
    db.getExecutor().adapter instanceof PostgresAdapter
  ) {
    // PostgreSQL: one round trip. The read sees the table as it was before the upsert (one
    // snapshot per statement), which is all it needs: what was upserted comes from RETURNING.
    for (const row of await upsertAndRead(db, rows, wanted, oldest)) {
      const id = rowId(row.key, Number(row.bucket))
      if (Number(row.upserted) === 1) totals.set(id, Number(row.count))
      else stored.set(id, Number(row.count))
    }
  } else {
    for (let from = 0; from < rows.length; from += MAX_ROWS_PER_UPSERT) {
      const part = rows.slice(from, from + MAX_ROWS_PER_UPSERT)
      for (const row of await upsert(db, part)) {
        totals.set(rowId(row.key, Number(row.bucket)), Number(row.count))
      }
    }
    if (wanted.length > 0) {
      for (const row of await read(db, wanted, oldest)) {
        stored.set(rowId(row.key, Number(row.bucket)), Number(row.count))
      }
    }
  }
  for (const [id, total] of totals) stored.set(id, total)

  // Each hit's own value: the total less what later callers of the batch added.
  const later = new Map<string, number>()
  const own: Map<string, number>[] = batch.map(() => new Map())
  for (let i = batch.length - 1; i >= 0; i--) {
    for (const { id, amount } of hitsOf[i] ?? []) {
      const after = later.get(id) ?? 0
      own[i]?.set(id, (totals.get(id) ?? 0) - after)
      later.set(id, after + amount)
    }
  }
  batch.forEach(({ refs, at, resolve }, i) => {
    const mine = own[i]
    const countOf = (id: string) => mine?.get(id) ?? stored.get(id)
    resolve(refs.map((ref) => estimate(ref, at, countOf).value))
  })
}

/**
 * Counters in the database. Calls made while a round trip is being prepared (by the checks of
 * one start, which run side by side, and by concurrent requests) share it: see {@link runBatch}.
 */
export function databaseCounters(db: Kysely<Database>): CounterStore {
  let queue: Pending[] = []
  let running = false
  let scheduled = false
  function schedule() {
    if (scheduled || running) return
    scheduled = true
    setImmediate(flush)
  }
  // One batch at a time: the batches would take the same rows' locks in turn anyway (every
  // start counts its project's counters), so callers that come while one runs join the next.
  function flush() {
    scheduled = false
    const batch = queue
    queue = []
    running = true
    runBatch(db, batch)
      .catch((error: unknown) => {
        for (const pending of batch) pending.reject(error)
      })
      .finally(() => {
        running = false
        if (queue.length > 0) schedule()
      })
  }
  function enqueue(
    refs: CounterRef[],
    at: number,
    amount: number | null,
    values = true,
  ): Promise<number[]> {
    if (refs.length === 0) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      queue.push({ refs, at, amount, values, resolve, reject })
      schedule()
    })
  }
  return {
    hit: (refs, at, amount = 1) => enqueue(refs, at, amount),
    add: async (refs, at, amount = 1) => {
      await enqueue(refs, at, amount, false)
    },
    read: (refs, at) => enqueue(refs, at, null),
  }
}

/** Rows a page of {@link storedRows} reads. */
const SCAN_PAGE = 5_000

/**
 * Every counter row's key, window and expiry, a page at a time in key order (keyset paging:
 * every page is an index range, however big the table).
 */
export async function* storedRows(
  db: Kysely<Database>,
): AsyncGenerator<{ key: string; bucket: number; expiresAt: number }[]> {
  let after: { key: string; bucket: number } | undefined
  for (;;) {
    let query = db
      .selectFrom('fraud_counters')
      .select(['key', 'bucket', 'expires_at'])
      .orderBy('key')
      .orderBy('bucket')
      .limit(SCAN_PAGE)
    if (after) {
      const { key, bucket } = after
      query = query.where((eb) =>
        eb.or([eb('key', '>', key), eb.and([eb('key', '=', key), eb('bucket', '>', bucket)])]),
      )
    }
    const rows = await query.execute()
    if (rows.length === 0) return
    yield rows.map((row) => ({
      key: row.key,
      bucket: Number(row.bucket),
      expiresAt: Number(row.expires_at),
    }))
    const last = rows.at(-1) as { key: string; bucket: number }
    after = { key: last.key, bucket: Number(last.bucket) }
    if (rows.length < SCAN_PAGE) return
  }
}
