/**
 * Counters in Redis (REDIS_URL): one key per counter and window, atomic on the Redis server.
 * @module
 */
import { createHash } from 'node:crypto'
import {
  bucketOf,
  type CounterRef,
  type CounterStore,
  CountersUnavailableError,
  expiryOf,
  rowKey,
  slidingValue,
} from './types'

/** The part of an ioredis client the counters use. */
export interface RedisLike {
  evalsha(sha: string, keys: number, ...args: (string | number)[]): Promise<unknown>
  eval(script: string, keys: number, ...args: (string | number)[]): Promise<unknown>
  quit(): Promise<unknown>
  /** ioredis's connection state (`ready` when commands go straight to the server). */
  readonly status?: string
}

/**
 * Counts a batch of counters in one step on the Redis server. For each counter, in order (three
 * arguments each: the amount, or an empty string to only read; the current window key's lifetime
 * in ms; 1 when the previous window is read too): `INCRBY` and `PEXPIRE` the current window's key
 * (or `GET` it), then `GET` the previous window's key. Answers two counts a counter: the current
 * window's after its own amount, and the previous window's (0 when not read). A script runs alone
 * on the server, so a batch is atomic, and each counter's value is what it would have been had
 * the batch's calls run one after another, in order.
 */
const COUNT_SCRIPT = `
local counts = {}
local key = 1
for i = 0, tonumber(ARGV[1]) - 1 do
  local amount = ARGV[2 + i * 3]
  local current
  if amount == '' then
    current = tonumber(redis.call('GET', KEYS[key]) or '0')
  else
    current = redis.call('INCRBY', KEYS[key], amount)
    redis.call('PEXPIRE', KEYS[key], ARGV[3 + i * 3])
  end
  key = key + 1
  local previous = 0
  if ARGV[4 + i * 3] == '1' then
    previous = tonumber(redis.call('GET', KEYS[key]) or '0')
    key = key + 1
  end
  counts[#counts + 1] = current
  counts[#counts + 1] = previous
end
return counts
`
const COUNT_SHA = createHash('sha1').update(COUNT_SCRIPT).digest('hex')

/**
 * Counters one script call takes at most: the server runs nothing else while a script runs, so
 * a large batch goes as several calls, one after another on the connection.
 */
const MAX_COUNTERS_PER_CALL = 512

interface Pending {
  refs: CounterRef[]
  at: number
  /** null: read only. */
  amount: number | null
  resolve(values: number[]): void
  reject(error: unknown): void
}

/**
 * Counters in Redis: one key per counter and window, read together with the previous window's
 * key; keys expire on their own. The calls of one turn of the event loop (the checks of a start,
 * which run side by side, and concurrent starts) go to Redis as one script call: one command
 * and one round trip for all of them, where each call was a transaction of three commands per
 * counter. Every call is still counted atomically, in the order it was made. Should Redis refuse
 * the script partway (a key of another type where a counter's is, written by something else),
 * every call of that script call fails, and the counters before the refused one stay counted:
 * stricter, never looser.
 */
export function redisCounters(redis: RedisLike, prefix = 'textgate:fraud:'): CounterStore {
  const keyOf = (ref: CounterRef, bucket: number) => `${prefix}${rowKey(ref)}@${bucket}`
  let queue: Pending[] = []
  let scheduled = false

  /** A script call has been answered: from then on, a connection not ready fails at once. */
  let answered = false

  const send = async (keys: string[], args: (string | number)[]) => {
    try {
      return await redis.evalsha(COUNT_SHA, keys.length, ...keys, ...args)
    } catch (error) {
      // The server's script cache is empty (restarted, flushed): send the script itself.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return redis.eval(COUNT_SCRIPT, keys.length, ...keys, ...args)
    }
  }

  const count = async (keys: string[], args: (string | number)[]) => {
    // Once the connection has worked, a lost one fails the calls now instead of queueing them
    // until ioredis gives up (seconds); before that (the server starting) they wait for it.
    if (answered && redis.status !== undefined && redis.status !== 'ready') {
      throw new CountersUnavailableError(`Redis connection ${redis.status}`)
    }
    try {
      const replies = await send(keys, args)
      answered = true
      return replies
    } catch (error) {
      // Redis answered with an error (a key of another type): the script's fault, said as is.
      if (error instanceof Error && error.name === 'ReplyError') throw error
      throw new CountersUnavailableError((error as Error).message, { cause: error })
    }
  }

  /** Sends `calls` as one script call and answers each with its counters' sliding values. */
  async function run(calls: Pending[]) {
    const keys: string[] = []
    const args: (string | number)[] = [0]
    let counters = 0
    for (const { refs, at, amount } of calls) {
      for (const ref of refs) {
        const bucket = bucketOf(at, ref.windowMs)
        keys.push(keyOf(ref, bucket))
        // A relative lifetime: the app's clock decides the window, not the Redis server's.
        args.push(
          amount === null ? '' : amount,
          Math.max(1_000, expiryOf(ref, bucket) - at),
          ref.fixed ? 0 : 1,
        )
        if (!ref.fixed) keys.push(keyOf(ref, bucket - ref.windowMs))
        counters++
      }
    }
    args[0] = counters
    const replies = await count(keys, args)
    if (!Array.isArray(replies) || replies.length !== counters * 2) {
      throw new Error('[textgate] [fraud] Redis answered the counters script with something else')
    }
    let reply = 0
    for (const call of calls) {
      const values = call.refs.map((ref) => {
        const current = Number(replies[reply++])
        const previous = Number(replies[reply++])
        return slidingValue(ref, call.at, current, previous)
      })
      call.resolve(values)
    }
  }

  function flush() {
    scheduled = false
    const batch = queue
    queue = []
    // Whole calls per script call, each at most MAX_COUNTERS_PER_CALL counters (or one call).
    let from = 0
    while (from < batch.length) {
      let to = from
      let counters = 0
      while (to < batch.length) {
        const size = batch[to]?.refs.length ?? 0
        if (to > from && counters + size > MAX_COUNTERS_PER_CALL) break
        counters += size
        to++
      }
      const calls = batch.slice(from, to)
      run(calls).catch((error: unknown) => {
        for (const call of calls) call.reject(error)
      })
      from = to
    }
  }

  function enqueue(refs: CounterRef[], at: number, amount: number | null): Promise<number[]> {
    if (refs.length === 0) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      queue.push({ refs, at, amount, resolve, reject })
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    })
  }

  return {
    hit: (refs, at, amount = 1) => enqueue(refs, at, amount),
    add: async (refs, at, amount = 1) => {
      await enqueue(refs, at, amount)
    },
    read: (refs, at) => enqueue(refs, at, null),
    close: async () => {
      await redis.quit()
    },
  }
}
