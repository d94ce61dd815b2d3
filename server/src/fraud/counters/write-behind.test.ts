import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestStorage, STORAGE_SETUPS, type TestStorage } from '../../../testing/storage'
import { BloomFilter, KnownRows } from './bloom'
import { databaseCounters } from './database'
import type { CounterRef } from './types'
import { flushPartRows, readKnownRows, writeBehindCounters } from './write-behind'

const HOUR = 3_600_000
const T0 = Date.parse('2026-11-27T10:00:00Z')

/** A small deterministic generator, so a failing sequence can be replayed. */
function random(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
}

/** Counters as plainly as they can be written, to check the stores against. */
function modelCounters() {
  const counts = new Map<string, number>()
  const id = (ref: CounterRef, bucket: number) => `${ref.key}|${ref.windowMs}@${bucket}`
  const value = (ref: CounterRef, at: number) => {
    const bucket = Math.floor(at / ref.windowMs) * ref.windowMs
    const current = counts.get(id(ref, bucket)) ?? 0
    if (ref.fixed) return current
    const previous = counts.get(id(ref, bucket - ref.windowMs)) ?? 0
    return current + previous * (1 - (at - bucket) / ref.windowMs)
  }
  return {
    hit(refs: CounterRef[], at: number, amount: number) {
      const ids = new Set(refs.map((ref) => id(ref, Math.floor(at / ref.windowMs) * ref.windowMs)))
      for (const each of ids) counts.set(each, (counts.get(each) ?? 0) + amount)
      return refs.map((ref) => value(ref, at))
    },
    read: (refs: CounterRef[], at: number) => refs.map((ref) => value(ref, at)),
  }
}

describe('the Bloom filter', () => {
  it('never forgets a string and rarely invents one', () => {
    const filter = new BloomFilter(10_000, 0.01)
    for (let i = 0; i < 10_000; i++) filter.add(`start:p:phone:+4474${i}|3600000@${i}`)
    for (let i = 0; i < 10_000; i++)
      expect(filter.has(`start:p:phone:+4474${i}|3600000@${i}`)).toBe(true)
    let invented = 0
    for (let i = 0; i < 10_000; i++) if (filter.has(`other:${i}`)) invented++
    expect(invented).toBeLessThan(250)
  })
})

describe('the rows known to exist', () => {
  it('holds more rows than its first filter, and forgets only hours long past', () => {
    const known = new KnownRows()
    const at = Date.parse('2026-12-02T10:30:00Z')
    for (let i = 0; i < 200_000; i++) known.add(`row:${i}`, at, at + HOUR)
    expect(known.bytes).toBeGreaterThan(new BloomFilter(131_072).bytes)
    for (let i = 0; i < 200_000; i += 97)
      expect(known.mayExist(`row:${i}`, at, at + HOUR)).toBe(true)
    expect(known.mayExist('row:none', at, at + 3 * HOUR)).toBe(false)
    known.prune(at + 3 * HOUR)
    // Its hour was dropped: nothing can be said any more, so it may exist.
    expect(known.mayExist('row:none', at, at + HOUR)).toBe(true)
    expect(known.mayExist('row:none', at, at + 3 * HOUR)).toBe(false)
  })
})

for (const { name, dialect, writerThread } of STORAGE_SETUPS) {
  describe(`write-behind counters (${name})`, () => {
    const storages: TestStorage[] = []
    afterAll(async () => {
      for (const storage of storages) await storage.dispose()
    })
    const open = async () => {
      const storage = await createTestStorage(dialect, { writerThread })
      storages.push(storage)
      return storage
    }

    it.each([7, 11, 23])(
      'answers every call as the table does, whatever is kept, flushed or forgotten (seed %i)',
      async (seed) => {
        // Two databases, the same calls: one counted in the table, one in memory written behind
        // with a cache of 3 values a generation; the hours go by, so rows are forgotten as they expire.
        const [exact, behind] = [await open(), await open()]
        const table = databaseCounters(exact.db)
        const memory = writeBehindCounters(behind.db, new KnownRows(), {
          keysPerGeneration: 3,
        })
        const model = modelCounters()
        const next = random(seed)
        const keys = Array.from({ length: 12 }, (_, i) => `start:p:ip:198.51.100.${i}`)
        const windows = [600_000, HOUR]
        let at = T0
        for (let step = 0; step < 400; step++) {
          at += Math.floor(next() * 120_000)
          const refs: CounterRef[] = Array.from({ length: 1 + Math.floor(next() * 3) }, () => ({
            key: keys[Math.floor(next() * keys.length)] as string,
            windowMs: windows[Math.floor(next() * windows.length)] as number,
            ...(next() < 0.2 ? { fixed: true } : {}),
          }))
          const kind = next()
          if (kind < 0.6) {
            const amount = 1 + Math.floor(next() * 3)
            const [a, b] = await Promise.all([
              table.hit(refs, at, amount),
              memory.hit(refs, at, amount),
            ])
            expect(a, `step ${step}`).toEqual(model.hit(refs, at, amount))
            expect(b, `step ${step}`).toEqual(a)
            // Now and then given back (a reservation for a text not sent), before any flush.
            if (next() < 0.25) {
              await Promise.all([table.add(refs, at, -amount), memory.add(refs, at, -amount)])
              model.hit(refs, at, -amount)
            }
          } else if (kind < 0.9) {
            const expected = model.read(refs, at)
            expect(await table.read(refs, at), `step ${step}`).toEqual(expected)
            expect(await memory.read(refs, at), `step ${step}`).toEqual(expected)
          } else {
            await memory.flush()
          }
        }
        await memory.flush()
        expect(memory.unwritten).toBe(0)
        // Written behind, the rows are the table's rows.
        const rows = (storage: TestStorage) =>
          storage.db
            .selectFrom('fraud_counters')
            .select(['key', 'bucket', 'count'])
            .orderBy('key')
            .orderBy('bucket')
            .execute()
            .then((list) => list.map((row) => [row.key, Number(row.bucket), Number(row.count)]))
        expect(await rows(behind)).toEqual(await rows(exact))
      },
    )

    it.each([5, 13])(
      'answers callers while a flush is being written, in parts, as the table does (seed %i)',
      async (seed) => {
        // Each round, a flush of a few hundred rows (several parts) is under way while every
        // counter of the round is hit once, all at the same time: a counter the cache dropped is
        // read behind the flush, one it keeps is answered at once. Every answer must be the
        // model's, whatever order they come in.
        const storage = await open()
        const memory = writeBehindCounters(storage.db, new KnownRows(), { keysPerGeneration: 50 })
        const model = modelCounters()
        const next = random(seed)
        const keys = Array.from({ length: 400 }, (_, i) => `start:p:phone:+44740000${1000 + i}`)
        let at = T0
        for (let round = 0; round < 6; round++) {
          at += Math.floor(next() * 600_000)
          const picked = keys.filter(() => next() < 0.6)
          const calls = picked.map((key) => ({ ref: { key, windowMs: HOUR }, hit: next() < 0.8 }))
          // One call per counter: each answer is known whatever order they come in.
          const expected = calls.map(({ ref, hit }) =>
            hit ? model.hit([ref], at, 1) : model.read([ref], at),
          )
          const flushing = memory.flush()
          // Calls arrive over the next few turns of the event loop, between the flush's parts.
          const answers = await Promise.all(
            calls.map(async ({ ref, hit }, i) => {
              for (let turn = 0; turn < i % 5; turn++) await new Promise(setImmediate)
              return hit ? memory.hit([ref], at) : memory.read([ref], at)
            }),
          )
          await flushing
          expect(answers, `round ${round}`).toEqual(expected)
        }
        await memory.flush()
        expect(memory.unwritten).toBe(0)
        const fresh = writeBehindCounters(storage.db, await readKnownRows(storage.db))
        const all = keys.map((key) => ({ key, windowMs: HOUR }))
        expect(await fresh.read(all, at)).toEqual(model.read(all, at))
      },
    )

    it('gives back an amount exactly, in memory and in the rows written behind', async () => {
      const storage = await open()
      const memory = writeBehindCounters(storage.db, new KnownRows())
      const day: CounterRef = { key: 'spend:p:project:0', windowMs: 24 * HOUR, fixed: true }
      expect(await memory.hit([day], T0, 70_000)).toEqual([70_000])
      await memory.flush()
      expect(await memory.hit([day], T0 + 1, 70_000)).toEqual([140_000])
      // A resend that lost its race gives its reservation back, before and after a flush.
      await memory.add([day], T0 + 2, -70_000)
      expect(await memory.read([day], T0 + 3)).toEqual([70_000])
      await memory.flush()
      expect(memory.unwritten).toBe(0)
      expect(await databaseCounters(storage.db).read([day], T0 + 4)).toEqual([70_000])
    })

    it('writes a row once when a count given back is counted again before the flush', async () => {
      // +5, -5 (back to nothing unwritten), then +3: one row to write, not two (PostgreSQL
      // refuses an upsert that names a row twice).
      const storage = await open()
      const memory = writeBehindCounters(storage.db, new KnownRows())
      const day: CounterRef = { key: 'spend:p:country:FR:0', windowMs: 24 * HOUR, fixed: true }
      await memory.hit([day], T0, 5)
      await memory.add([day], T0, -5)
      expect(await memory.hit([day], T0 + 1, 3)).toEqual([3])
      expect(memory.unwritten).toBe(1)
      await memory.flush()
      expect(memory.unwritten).toBe(0)
      expect(await databaseCounters(storage.db).read([day], T0 + 2)).toEqual([3])
    })

    it('keeps the parts of a flush that failed part-way, and writes them next time', async () => {
      const storage = await open()
      const memory = writeBehindCounters(storage.db, new KnownRows())
      // 300 rows in parts (three of 128; on the writer thread, of 16): row 200 is refused by a
      // trigger, so the parts before its own are written.
      const refs = Array.from({ length: 300 }, (_, i) => ({
        // Keys in row order as in index order.
        key: `start:p:ip:${String(i).padStart(3, '0')}`,
        windowMs: HOUR,
      }))
      const refused = `${refs[200]?.key}|${HOUR}`
      await memory.hit(refs, T0 + 5, 2)
      if (dialect === 'postgres') {
        await sql`CREATE OR REPLACE FUNCTION refuse_row() RETURNS trigger AS $$ BEGIN
        IF NEW.key = ${sql.lit(refused)} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW;
        END $$ LANGUAGE plpgsql`.execute(storage.db)
        await sql`CREATE TRIGGER refuse BEFORE INSERT ON fraud_counters FOR EACH ROW
        EXECUTE FUNCTION refuse_row()`.execute(storage.db)
      } else {
        await sql`CREATE TRIGGER refuse BEFORE INSERT ON fraud_counters
        WHEN NEW.key = ${sql.lit(refused)} BEGIN SELECT RAISE(ABORT, 'refused'); END`.execute(
          storage.db,
        )
      }
      await expect(memory.flush()).rejects.toThrow(/refused/)
      // The parts before the refused row's were written; the rest wait, with the hits counted
      // meanwhile.
      const size = flushPartRows(storage.db, 300)
      expect(size).toBe(writerThread ? 16 : 128)
      const written = Math.floor(200 / size) * size
      expect(memory.unwritten).toBe(300 - written)
      const table = databaseCounters(storage.db)
      expect(await table.read(refs.slice(0, written), T0 + 6)).toEqual(
        refs.slice(0, written).map(() => 2),
      )
      expect(await table.read(refs.slice(written), T0 + 6)).toEqual(
        refs.slice(written).map(() => 0),
      )
      expect(await memory.hit(refs.slice(250), T0 + 7)).toEqual(refs.slice(250).map(() => 3))
      if (dialect === 'postgres') {
        await sql`DROP TRIGGER refuse ON fraud_counters`.execute(storage.db)
        await sql`DROP FUNCTION refuse_row`.execute(storage.db)
      } else await sql`DROP TRIGGER refuse`.execute(storage.db)
      await memory.flush()
      expect(memory.unwritten).toBe(0)
      expect(await table.read(refs, T0 + 8)).toEqual(refs.map((_, i) => (i < 250 ? 2 : 3)))
    })

    it('keeps a key asked for again after a flush, and forgets one asked for by one start', async () => {
      // The table is changed behind the store's back (no other process writes it in use): what
      // the store answers then shows whether it kept the key in memory or reads it again.
      const storage = await open()
      const memory = writeBehindCounters(storage.db, new KnownRows())
      const once = { key: 'start:p:phone:+447400123001', windowMs: HOUR }
      const shared = { key: 'start:p:country:GB', windowMs: HOUR }
      const day = { key: once.key, windowMs: 24 * HOUR }
      expect(await memory.hit([once, shared, day], T0 + 1)).toEqual([1, 1, 1])
      // The same start asking again before the flush (to read, to count what was sent) is not
      // a second start.
      expect(await memory.read([once, day], T0 + 1)).toEqual([1, 1])
      await memory.flush()
      // Another start after the flush: the shared key's row is read, and the key kept.
      expect(await memory.hit([shared], T0 + 2)).toEqual([2])
      await memory.flush()
      await databaseCounters(storage.db).hit([once, shared, day], T0 + 3, 10)
      expect(await memory.read([once, day], T0 + 4)).toEqual([11, 11])
      expect(await memory.read([shared], T0 + 4)).toEqual([2])
    })

    it('gives concurrent callers of one counter the values they would get one after another', async () => {
      const storage = await open()
      const memory = writeBehindCounters(storage.db, await readKnownRows(storage.db))
      const ref = { key: 'start:p:country:GB', windowMs: HOUR }
      const values = await Promise.all(Array.from({ length: 50 }, () => memory.hit([ref], T0 + 1)))
      expect(values.map((v) => v[0]).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
        Array.from({ length: 50 }, (_, i) => i + 1),
      )
    })

    it('counts a new row once for each caller while another caller of it reads the table', async () => {
      const storage = await open()
      const stored = { key: 'start:p:ip:203.0.113.9', windowMs: HOUR }
      await databaseCounters(storage.db).hit([stored], T0 + 1, 5)
      const memory = writeBehindCounters(storage.db, await readKnownRows(storage.db))
      const fresh = { key: 'start:p:phone:+447400999000', windowMs: HOUR }
      // The first call reads `stored` (it has a row); the next ones, on the turns after, are
      // answered from memory while that read is under way. Each counts `fresh` once.
      const first = memory.hit([stored, fresh], T0 + 2)
      const others: Promise<number[]>[] = []
      for (let turn = 0; turn < 5; turn++) {
        await new Promise(setImmediate)
        others.push(memory.hit([fresh], T0 + 3))
      }
      const values = [(await first)[1], ...(await Promise.all(others)).map((v) => v[0])]
      expect(values.sort()).toEqual([1, 2, 3, 4, 5, 6])
      expect((await first)[0]).toBe(6)
      expect(await memory.read([fresh], T0 + 4)).toEqual([6])
    })

    it('reads a row a caller needs without waiting for a flush under way', async () => {
      // A returning shopper's number: its row is in the table, its key no longer in memory.
      const storage = await open()
      const returning = { key: 'start:p:phone:+447400555000', windowMs: HOUR }
      await databaseCounters(storage.db).hit([returning], T0 + 1, 3)
      const memory = writeBehindCounters(storage.db, await readKnownRows(storage.db))
      // A flush of 3,000 rows: many parts, each its own transaction, the event loop turning
      // between them.
      const many = Array.from({ length: 3_000 }, (_, i) => ({
        key: `start:p:ip:10.0.${i >> 8}.${i & 255}`,
        windowMs: HOUR,
      }))
      await memory.hit(many, T0 + 2)
      const order: string[] = []
      const flushed = memory.flush().then(() => order.push('flush'))
      await new Promise(setImmediate)
      const answer = memory.hit([returning], T0 + 3).then((values) => {
        order.push('read')
        return values
      })
      await Promise.all([flushed, answer])
      expect(await answer).toEqual([4])
      expect(order).toEqual(['read', 'flush'])
    })

    it('keeps a row being written in memory when its counter moves on, so a read counts it', async () => {
      // The row of the first hour is in the last part of a long flush; while it is on its way,
      // three later hours push it out of the counter's windows; then a caller whose clock is
      // still in the second hour asks for the sliding value, which weighs the first hour's row.
      const storage = await open()
      const memory = writeBehindCounters(storage.db, new KnownRows())
      const model = modelCounters()
      const ref = { key: 'start:p:ip:~last', windowMs: HOUR }
      const before = Array.from({ length: 3_000 }, (_, i) => ({
        key: `start:p:ip:10.1.${i >> 8}.${i & 255}`,
        windowMs: HOUR,
      }))
      model.hit(before, T0 + 1, 1)
      await memory.hit(before, T0 + 1)
      expect(await memory.hit([ref], T0 + 2, 5)).toEqual(model.hit([ref], T0 + 2, 5))
      const flushed = memory.flush()
      await new Promise(setImmediate)
      for (const hour of [1, 2, 3]) {
        const at = T0 + hour * HOUR + 10
        expect(await memory.hit([ref], at), `hour ${hour}`).toEqual(model.hit([ref], at, 1))
      }
      const late = T0 + HOUR + HOUR / 2
      expect(await memory.read([ref], late)).toEqual(model.read([ref], late))
      await flushed
      await memory.flush()
      expect(memory.unwritten).toBe(0)
      expect(await databaseCounters(storage.db).read([ref], late)).toEqual(model.read([ref], late))
    })

    it("answers a batch whose callers' clocks are hours apart (a clock stepped between them)", async () => {
      // One batch names six windows of one counter, which keeps three: reading some must not
      // push out the others it read, or the batch would read for ever.
      const storage = await open()
      const ref = { key: 'start:p:ip:192.0.2.77', windowMs: 600_000 }
      const model = modelCounters()
      const times = [T0 + 5, T0 + HOUR + 5, T0 + 2 * HOUR + 5]
      for (const at of times) {
        await databaseCounters(storage.db).hit([ref], at - 600_000, 2)
        model.hit([ref], at - 600_000, 2)
      }
      const memory = writeBehindCounters(storage.db, await readKnownRows(storage.db))
      const expected = times.map((at) => model.hit([ref], at, 1))
      expect(await Promise.all(times.map((at) => memory.hit([ref], at)))).toEqual(expected)
    })

    it.each([3, 17, 29])(
      'loses and doubles no count while reads, flushes and moving windows overlap (seed %i)',
      async (seed) => {
        // Calls from many callers at once, their clocks up to two hours apart, flushes begun
        // at random moments and not waited for, a cache of 3 keys a generation: whatever order
        // the answers come in, once all is written the table holds exactly what was counted.
        const storage = await open()
        const memory = writeBehindCounters(storage.db, new KnownRows(), { keysPerGeneration: 3 })
        const model = modelCounters()
        const next = random(seed)
        const keys = Array.from({ length: 30 }, (_, i) => `start:p:phone:+4474009${1000 + i}`)
        const windows = [600_000, HOUR]
        let at = T0
        const flushes: Promise<void>[] = []
        for (let round = 0; round < 8; round++) {
          at += Math.floor(next() * 2 * HOUR)
          const calls: Promise<unknown>[] = []
          for (let i = 0; i < 60; i++) {
            const refs = Array.from({ length: 1 + Math.floor(next() * 3) }, () => ({
              key: keys[Math.floor(next() * keys.length)] as string,
              windowMs: windows[Math.floor(next() * windows.length)] as number,
            }))
            const when = at - Math.floor(next() * 2 * HOUR)
            const hit = next() < 0.7
            if (hit) model.hit(refs, when, 1)
            const waits = Math.floor(next() * 4)
            calls.push(
              (async () => {
                for (let turn = 0; turn < waits; turn++) await new Promise(setImmediate)
                return hit ? memory.hit(refs, when) : memory.read(refs, when)
              })(),
            )
            if (next() < 0.05) flushes.push(memory.flush())
          }
          await Promise.all(calls)
        }
        await Promise.all(flushes)
        await memory.flush()
        expect(memory.unwritten).toBe(0)
        // Every window of every counter: the table's count is the model's.
        const all = keys.flatMap((key) => windows.map((windowMs) => ({ key, windowMs })))
        const table = databaseCounters(storage.db)
        for (let t = T0 - 2 * HOUR; t <= at + HOUR; t += 600_000) {
          const fixed = all.map((ref) => ({ ...ref, fixed: true }))
          expect(await table.read(fixed, t), `at ${t - T0}`).toEqual(model.read(fixed, t))
        }
      },
    )

    it('keeps every window counted while flushes fail and the windows move on', async () => {
      const storage = await open()
      const memory = writeBehindCounters(storage.db, new KnownRows(), { keysPerGeneration: 2 })
      const model = modelCounters()
      const refs = [
        { key: 'start:p:ip:203.0.113.1', windowMs: 600_000 },
        { key: 'start:p:ip:203.0.113.2', windowMs: 600_000 },
        { key: 'start:p:ip:203.0.113.3', windowMs: 600_000 },
      ]
      await storage.db.schema.alterTable('fraud_counters').renameTo('fraud_counters_away').execute()
      // Six windows of ten minutes, every one hit, none written.
      for (let step = 0; step < 12; step++) {
        const at = T0 + step * 300_000
        expect(await memory.hit(refs, at), `step ${step}`).toEqual(model.hit(refs, at, 1))
        await expect(memory.flush()).rejects.toThrow()
      }
      await storage.db.schema.alterTable('fraud_counters_away').renameTo('fraud_counters').execute()
      await memory.flush()
      expect(memory.unwritten).toBe(0)
      const rows = await storage.db
        .selectFrom('fraud_counters')
        .select(['bucket', 'count'])
        .execute()
      // Three keys, six windows each, two hits in each window.
      expect(rows).toHaveLength(18)
      for (const row of rows) expect(Number(row.count)).toBe(2)
      const at = T0 + 12 * 300_000
      expect(await memory.read(refs, at)).toEqual(model.read(refs, at))
    })

    it('starts from the rows in the table, and keeps what a failed flush held', async () => {
      const storage = await open()
      const ref = { key: 'start:p:phone:+447400111222', windowMs: HOUR }
      await databaseCounters(storage.db).hit([ref], T0 + 10, 4)
      const memory = writeBehindCounters(storage.db, await readKnownRows(storage.db))
      expect(await memory.hit([ref], T0 + 20)).toEqual([5])
      await storage.db.schema.alterTable('fraud_counters').renameTo('fraud_counters_away').execute()
      await expect(memory.flush()).rejects.toThrow()
      expect(memory.unwritten).toBe(1)
      await storage.db.schema.alterTable('fraud_counters_away').renameTo('fraud_counters').execute()
      await memory.flush()
      expect(await databaseCounters(storage.db).read([ref], T0 + 30)).toEqual([5])
    })
  })
}
