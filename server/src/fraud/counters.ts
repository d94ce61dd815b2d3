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
import type { Kysely } from 'kysely'
import type { Database } from '../storage'

export interface CounterRef {
  /** What is counted, e.g. `start:ip:203.0.113.7`. */
  key: string
  windowMs: number
}

const rowKey = (ref: CounterRef) => `${ref.key}|${ref.windowMs}`
const bucketOf = (at: number, windowMs: number) => Math.floor(at / windowMs) * windowMs

function estimate(
  ref: CounterRef,
  at: number,
  counts: Map<string, number>,
): { current: number; previous: number; value: number } {
  const bucket = bucketOf(at, ref.windowMs)
  const current = counts.get(`${rowKey(ref)}@${bucket}`) ?? 0
  const previous = counts.get(`${rowKey(ref)}@${bucket - ref.windowMs}`) ?? 0
  const overlap = 1 - (at - bucket) / ref.windowMs
  return { current, previous, value: current + previous * overlap }
}

async function previousAndCurrent(db: Kysely<Database>, refs: CounterRef[], at: number) {
  const keys = [...new Set(refs.map(rowKey))]
  const counts = new Map<string, number>()
  if (keys.length === 0) return counts
  const oldest = Math.min(...refs.map((r) => bucketOf(at, r.windowMs) - r.windowMs))
  const rows = await db
    .selectFrom('fraud_counters')
    .select(['key', 'bucket', 'count'])
    .where('key', 'in', keys)
    .where('bucket', '>=', oldest)
    .execute()
  for (const row of rows) counts.set(`${row.key}@${Number(row.bucket)}`, Number(row.count))
  return counts
}

/**
 * Adds `amount` to each counter and returns each one's sliding value including this hit,
 * in the order of `refs`.
 */
export async function hitCounters(
  db: Kysely<Database>,
  refs: CounterRef[],
  at: number,
  amount = 1,
): Promise<number[]> {
  if (refs.length === 0) return []
  const unique = new Map<string, CounterRef>()
  for (const ref of refs) unique.set(rowKey(ref), ref)
  const rows = [...unique.values()].map((ref) => {
    const bucket = bucketOf(at, ref.windowMs)
    return { key: rowKey(ref), bucket, count: amount, expires_at: bucket + 2 * ref.windowMs }
  })
  const updated = await db
    .insertInto('fraud_counters')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['key', 'bucket']).doUpdateSet((eb) => ({
        count: eb('fraud_counters.count', '+', eb.ref('excluded.count')),
      })),
    )
    .returning(['key', 'bucket', 'count'])
    .execute()
  const counts = await previousAndCurrent(db, refs, at)
  // The upsert's own answer is authoritative for the current window.
  for (const row of updated) counts.set(`${row.key}@${Number(row.bucket)}`, Number(row.count))
  return refs.map((ref) => estimate(ref, at, counts).value)
}

/** The sliding value of each counter, without counting anything. */
export async function readCounters(
  db: Kysely<Database>,
  refs: CounterRef[],
  at: number,
): Promise<number[]> {
  const counts = await previousAndCurrent(db, refs, at)
  return refs.map((ref) => estimate(ref, at, counts).value)
}

/** Where the guard keeps its counters. */
export interface CounterStore {
  /** Adds `amount` to each counter; each one's sliding value including this hit. */
  hit(refs: CounterRef[], at: number, amount?: number): Promise<number[]>
  /** Each counter's sliding value, without counting. */
  read(refs: CounterRef[], at: number): Promise<number[]>
  close?(): Promise<void>
}

export function databaseCounters(db: Kysely<Database>): CounterStore {
  return {
    hit: (refs, at, amount = 1) => hitCounters(db, refs, at, amount),
    read: (refs, at) => readCounters(db, refs, at),
  }
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
      return estimate(ref, at, counts).value
    })
  }
  return {
    hit: (refs, at, amount = 1) => run(refs, at, amount),
    read: (refs, at) => run(refs, at, null),
    close: async () => {
      await redis.quit()
    },
  }
}
