/**
 * Sliding-window counters shared by every server process: in the database by default, or in
 * Redis when REDIS_URL is set (see {@link redisCounters}).
 *
 * Each counter keeps one row per fixed window; the sliding estimate weighs the previous window
 * by how much of it still overlaps the last `window` (the "sliding window counter" of rate
 * limiters). A hit is one multi-row upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`), so
 * concurrent processes never lose an increment, on SQLite and on PostgreSQL.
 * @module
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely'
import type { Database } from '../storage'
import { runTemplate } from '../storage/query-templates'

export interface CounterRef {
  /** What is counted, e.g. `start:ip:203.0.113.7`. */
  key: string
  windowMs: number
  /**
   * A fixed window (a day's spend): only the current window counts, so a hit needs no read of
   * the previous one.
   */
  fixed?: boolean
}

const rowKey = (ref: CounterRef) => `${ref.key}|${ref.windowMs}`
const bucketOf = (at: number, windowMs: number) => Math.floor(at / windowMs) * windowMs

function estimate(
  ref: CounterRef,
  at: number,
  countOf: (id: string) => number | undefined,
): { current: number; previous: number; value: number } {
  const bucket = bucketOf(at, ref.windowMs)
  const current = countOf(`${rowKey(ref)}@${bucket}`) ?? 0
  const previous = countOf(`${rowKey(ref)}@${bucket - ref.windowMs}`) ?? 0
  if (ref.fixed) return { current, previous: 0, value: current }
  const overlap = 1 - (at - bucket) / ref.windowMs
  return { current, previous, value: current + previous * overlap }
}

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

interface CounterRow {
  key: string
  bucket: number
  count: number
  expires_at: number
}

const upsertQuery = (db: Kysely<Database>, rows: number, v: (index: number) => never) =>
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
    .returning(['key', 'bucket', 'count'])

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
    upsertQuery(db, rows.length, v),
  )

/** The stored windows of `keys` from bucket `oldest` on. */
const read = (db: Kysely<Database>, keys: string[], oldest: number) =>
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
        .with('up', () => upsertQuery(db, rows.length, v))
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
      const id = `${rowKey(ref)}@${bucket}`
      const row = added.get(id)
      if (row) row.count += amount
      else {
        added.set(id, {
          key: rowKey(ref),
          bucket,
          count: amount,
          expires_at: bucket + 2 * ref.windowMs,
        })
      }
      return { id, amount }
    })
  })

  const rows = [...added.values()].sort((a, b) =>
    a.key === b.key ? a.bucket - b.bucket : a.key < b.key ? -1 : 1,
  )
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
      const id = `${row.key}@${Number(row.bucket)}`
      if (Number(row.upserted) === 1) totals.set(id, Number(row.count))
      else stored.set(id, Number(row.count))
    }
  } else {
    for (let from = 0; from < rows.length; from += MAX_ROWS_PER_UPSERT) {
      const part = rows.slice(from, from + MAX_ROWS_PER_UPSERT)
      for (const row of await upsert(db, part)) {
        totals.set(`${row.key}@${Number(row.bucket)}`, Number(row.count))
      }
    }
    if (wanted.length > 0) {
      for (const row of await read(db, wanted, oldest)) {
        stored.set(`${row.key}@${Number(row.bucket)}`, Number(row.count))
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

/** Where the guard keeps its counters. */
export interface CounterStore {
  /** Adds `amount` to each counter; each one's sliding value including this hit. */
  hit(refs: CounterRef[], at: number, amount?: number): Promise<number[]>
  /** Adds `amount` to each counter, when the values are not needed (one statement less). */
  add(refs: CounterRef[], at: number, amount?: number): Promise<void>
  /** Each counter's sliding value, without counting. */
  read(refs: CounterRef[], at: number): Promise<number[]>
  close?(): Promise<void>
}

/** The part of an ioredis client the counters use. */
export interface RedisLike {
  multi(): {
    incrby(key: string, amount: number): unknown
    pexpire(key: string, ms: number): unknown
    get(key: string): unknown
    exec(): Promise<[Error | null, unknown][] | null>
  }
  quit(): Promise<unknown>
}

/**
 * Counters in Redis: one key per counter and window, `INCRBY` + `PEXPIRE` in a MULTI (atomic
 * on the server), read together with the previous window's key. Keys expire on their own.
 */
export function redisCounters(redis: RedisLike, prefix = 'textgate:fraud:'): CounterStore {
  const keyOf = (ref: CounterRef, bucket: number) => `${prefix}${rowKey(ref)}@${bucket}`
  async function run(refs: CounterRef[], at: number, amount: number | null): Promise<number[]> {
    if (refs.length === 0) return []
    const multi = redis.multi()
    for (const ref of refs) {
      const bucket = bucketOf(at, ref.windowMs)
      if (amount !== null) {
        multi.incrby(keyOf(ref, bucket), amount)
        // A relative lifetime: the app's clock decides the window, not the Redis server's.
        multi.pexpire(keyOf(ref, bucket), Math.max(1_000, bucket + 2 * ref.windowMs - at))
      } else {
        multi.get(keyOf(ref, bucket))
      }
      multi.get(keyOf(ref, bucket - ref.windowMs))
    }
    const replies = await multi.exec()
    if (!replies) throw new Error('[textgate] [fraud] the Redis transaction was aborted')
    const step = amount !== null ? 3 : 2
    return refs.map((ref, i) => {
      const bucket = bucketOf(at, ref.windowMs)
      const [currentError, current] = replies[i * step] ?? [null, 0]
      const [previousError, previous] = replies[i * step + step - 1] ?? [null, 0]
      if (currentError) throw currentError
      if (previousError) throw previousError
      const counts = new Map<string, number>([
        [`${rowKey(ref)}@${bucket}`, Number(current ?? 0)],
        [`${rowKey(ref)}@${bucket - ref.windowMs}`, Number(previous ?? 0)],
      ])
      return estimate(ref, at, (id) => counts.get(id)).value
    })
  }
  return {
    hit: (refs, at, amount = 1) => run(refs, at, amount),
    add: async (refs, at, amount = 1) => {
      await run(refs, at, amount)
    },
    read: (refs, at) => run(refs, at, null),
    close: async () => {
      await redis.quit()
    },
  }
}
