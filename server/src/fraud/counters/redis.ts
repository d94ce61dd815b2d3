/**
 * Counters in Redis (REDIS_URL): one key per counter and window, atomic on the Redis server.
 * @module
 */
import {
  bucketOf,
  type CounterRef,
  type CounterStore,
  estimate,
  expiryOf,
  rowId,
  rowKey,
} from './types'

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
        multi.pexpire(keyOf(ref, bucket), Math.max(1_000, expiryOf(ref, bucket) - at))
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
        [rowId(rowKey(ref), bucket), Number(current ?? 0)],
        [rowId(rowKey(ref), bucket - ref.windowMs), Number(previous ?? 0)],
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
