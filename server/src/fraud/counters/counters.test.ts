import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS, type TestStorage } from '../../../testing/storage'
import {
  type CounterStore,
  CountersUnavailableError,
  databaseCounters,
  type RedisLike,
  redisCounters,
} from '.'

const redisUrl = process.env.TEXTGATE_TEST_REDIS_URL
const HOUR = 3_600_000
const T0 = Date.parse('2026-11-27T10:00:00Z')

type Setup = () => Promise<{ store: CounterStore; dispose(): Promise<void> }>

const stores: [string, Setup][] = DIALECTS.map((dialect) => [
  `database (${dialect})`,
  async () => {
    const storage: TestStorage = await createTestStorage(dialect)
    return { store: databaseCounters(storage.db), dispose: () => storage.dispose() }
  },
])
if (redisUrl) {
  stores.push([
    'redis',
    async () => {
      const store = redisCounters(
        new Redis(redisUrl),
        `textgate:test:${randomBytes(4).toString('hex')}:`,
      )
      return { store, dispose: async () => store.close?.() }
    },
  ])
}

describe.each(stores)('fraud counters in %s', (_name, setup) => {
  const disposers: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const dispose of disposers) await dispose()
  })

  it('counts atomically under concurrent hits', async () => {
    const { store, dispose } = await setup()
    disposers.push(dispose)
    const ref = { key: 'start:p:ip:203.0.113.9', windowMs: HOUR }
    const values = await Promise.all(Array.from({ length: 50 }, () => store.hit([ref], T0 + 1000)))
    expect(values.map((v) => v[0]).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
    expect(await store.read([ref], T0 + 2000)).toEqual([50])
  })

  it('slides: the previous window counts by how much of it still overlaps', async () => {
    const { store, dispose } = await setup()
    disposers.push(dispose)
    const ref = { key: 'start:p:phone:+447400111222', windowMs: HOUR }
    await store.hit([ref], T0 + 10, 10)
    // A quarter into the next window, three quarters of the old one still count: 7.5 + 1.
    expect(await store.hit([ref], T0 + HOUR + HOUR / 4)).toEqual([8.5])
    // Two windows later nothing is left.
    expect(await store.read([ref], T0 + 3 * HOUR)).toEqual([0])
  })

  it('gives concurrent callers of one counter the values they would get one after another', async () => {
    const { store, dispose } = await setup()
    disposers.push(dispose)
    const shared = { key: 'spend:p:project', windowMs: HOUR }
    const own = (n: number) => ({ key: `start:p:phone:+44740000000${n}`, windowMs: HOUR })
    // Different amounts, other counters beside, a read among them: whatever share a round trip.
    const [a, b, c] = await Promise.all([
      store.hit([shared, own(1)], T0 + 1, 5),
      store.hit([own(2), shared], T0 + 2, 2),
      store.hit([shared], T0 + 3, 1),
      store.read([own(1)], T0 + 4),
    ])
    const sharedValues = [a?.[0], b?.[1], c?.[0]].sort((x, y) => (x ?? 0) - (y ?? 0))
    // Each value is the running total after that caller's own amount: never one past the total.
    expect(sharedValues.at(-1)).toBe(8)
    expect(new Set(sharedValues).size).toBe(3)
    expect([a?.[1], b?.[0]]).toEqual([5, 2])
    expect(await store.read([shared, own(1), own(2)], T0 + 5)).toEqual([8, 5, 2])
  })

  it('reads, in the round trip of a hit, the previous window and the hit itself', async () => {
    const { store, dispose } = await setup()
    disposers.push(dispose)
    const ref = { key: 'start:p:prefix-4:+4474', windowMs: HOUR }
    await store.hit([ref], T0 + 10, 10)
    const at = T0 + HOUR + HOUR / 4
    const [hit, read] = await Promise.all([store.hit([ref], at), store.read([ref], at)])
    expect(hit).toEqual([8.5])
    expect(read).toEqual([8.5])
  })

  it('counts a fixed window alone, and adds without answering', async () => {
    const { store, dispose } = await setup()
    disposers.push(dispose)
    const day = { key: 'spend:p:project', windowMs: 24 * HOUR, fixed: true }
    await store.add([day], T0, 7)
    // The next day starts from nothing: yesterday's spend does not slide into it.
    expect(await store.hit([day], T0 + 24 * HOUR, 2)).toEqual([2])
    expect(await store.read([day], T0 + 24 * HOUR + 5)).toEqual([2])
  })

  it('gives back an amount exactly: a negative add undoes a hit among others (a resend that lost)', async () => {
    const { store, dispose } = await setup()
    disposers.push(dispose)
    const day = { key: 'spend:p:country:GB', windowMs: 24 * HOUR, fixed: true }
    await Promise.all([
      store.hit([day], T0, 70_000),
      store.hit([day], T0 + 1, 70_000),
      store.add([day], T0 + 2, -70_000),
      store.hit([day], T0 + 3, 50_000),
    ])
    expect(await store.read([day], T0 + 4)).toEqual([120_000])
  })

  it('keeps counters with the same key but different windows apart', async () => {
    const { store, dispose } = await setup()
    disposers.push(dispose)
    const short = { key: 'start:p:ip:198.51.100.1', windowMs: 600_000 }
    const long = { key: 'start:p:ip:198.51.100.1', windowMs: 24 * HOUR }
    await store.hit([short, long], T0 + 5)
    await store.hit([long], T0 + 6)
    expect(await store.read([short, long], T0 + 7)).toEqual([1, 2])
  })
})

if (!redisUrl) {
  describe('fraud counters in redis', () => {
    it.skip('needs TEXTGATE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379); CI sets it', () => {})
  })
}

describe.runIf(redisUrl)('fraud counters in redis, batched', () => {
  const clients: Redis[] = []
  afterAll(async () => {
    for (const client of clients) await client.quit()
  })
  /** A store on its own key prefix, and the script calls it sent (through a counting client). */
  function setup() {
    const client = new Redis(redisUrl as string)
    clients.push(client)
    const calls = { evalsha: 0, eval: 0 }
    const counted: RedisLike = {
      evalsha: (...args) => {
        calls.evalsha++
        return client.evalsha(...args)
      },
      eval: (...args) => {
        calls.eval++
        return client.eval(...args)
      },
      quit: async () => {},
    }
    const prefix = `textgate:test:${randomBytes(4).toString('hex')}:`
    return { store: redisCounters(counted, prefix), calls, client, prefix }
  }

  it('sends the calls of one turn as one script call', async () => {
    const { store, calls } = setup()
    const ref = (n: number) => ({ key: `start:p:phone:+4474000000${n}`, windowMs: HOUR })
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, n) => store.hit([ref(n), ref(99)], T0 + n)),
      store.read([ref(99)], T0 + 30),
    ])
    expect(calls.evalsha + calls.eval).toBe(1)
    // The shared counter's values run 1…20 in call order, and the read comes after them all.
    expect(results.slice(0, 20).map((values) => values[1])).toEqual(
      Array.from({ length: 20 }, (_, n) => n + 1),
    )
    expect(results[20]).toEqual([20])
    // The next turn is the next script call.
    await store.hit([ref(1)], T0 + 40)
    expect(calls.evalsha + calls.eval).toBe(2)
  })

  it('loads the script again when the server has forgotten it', async () => {
    const { store, calls, client } = setup()
    const ref = { key: 'start:p:ip:198.51.100.77', windowMs: HOUR }
    await store.hit([ref], T0)
    await client.script('FLUSH')
    expect(await store.hit([ref], T0 + 1)).toEqual([2])
    expect(calls.eval).toBeGreaterThanOrEqual(1)
  })

  it('splits a turn of many counters into several script calls, still counting each once', async () => {
    const { store, calls } = setup()
    const refs = (call: number) =>
      Array.from({ length: 30 }, (_, i) => ({ key: `start:p:prefix:${call}:${i}`, windowMs: HOUR }))
    const shared = { key: 'start:p:project', windowMs: HOUR }
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, call) => store.hit([shared, ...refs(call)], T0 + call)),
    )
    // 40 calls of 31 counters: over the 512 a script call takes, so several.
    expect(calls.evalsha + calls.eval).toBeGreaterThan(1)
    expect(results.map((values) => values[0])).toEqual(Array.from({ length: 40 }, (_, n) => n + 1))
    expect(results.every((values) => values.slice(1).every((v) => v === 1))).toBe(true)
  })

  it('fails at once, without sending, while a connection that worked is not ready', async () => {
    const { client } = setup()
    const ref = { key: 'start:p:ip:198.51.100.90', windowMs: HOUR }
    let status = 'connecting'
    let sends = 0
    const store = redisCounters(
      {
        evalsha: (...args) => {
          sends++
          return client.evalsha(...args)
        },
        eval: (...args) => {
          sends++
          return client.eval(...args)
        },
        quit: async () => {},
        get status() {
          return status
        },
      },
      `textgate:test:${randomBytes(4).toString('hex')}:`,
    )
    // Before its first answer a store waits for the connection (a server starting up)…
    expect(await store.hit([ref], T0)).toEqual([1])
    expect(sends).toBe(1)
    // …after it, a connection that is not ready fails the calls at once, sending nothing.
    status = 'reconnecting'
    await expect(store.hit([ref], T0 + 1)).rejects.toBeInstanceOf(CountersUnavailableError)
    expect(sends).toBe(1)
    status = 'ready'
    expect(await store.hit([ref], T0 + 2)).toEqual([2])
  })

  it('rejects every call of a script call Redis refuses, and counts on after', async () => {
    const { store, client, prefix } = setup()
    const broken = { key: 'start:p:ip:203.0.113.200', windowMs: HOUR }
    const fine = { key: 'start:p:ip:203.0.113.201', windowMs: HOUR }
    // A key of another type where the counter's current window would be: INCRBY fails.
    await client.hset(`${prefix}${broken.key}|${HOUR}@${T0}`, 'x', '1')
    const outcomes = await Promise.allSettled([store.hit([broken], T0), store.hit([fine], T0)])
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected'])
    const reason = (outcomes[0] as PromiseRejectedResult).reason as Error
    // Redis's own refusal, said as is: not taken for Redis being away.
    expect(reason).not.toBeInstanceOf(CountersUnavailableError)
    expect(String(reason)).toMatch(/WRONGTYPE/)
    // The script stopped at the refused counter, the first: the other was not counted. The store
    // goes on with the next turn.
    expect(await store.hit([fine], T0 + 1)).toEqual([1])
  })
})
