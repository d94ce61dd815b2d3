import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS, type TestStorage } from '../../../testing/storage'
import { openStorage } from '../../storage'
import { databaseCounters } from './database'
import { type LeasedCounters, leasedCounters } from './lease'

/** Ten times faster than in production, so a test sees hand-overs happen. */
const timings = { flushMs: 10, beatMs: 100, leaseMs: 500, aliveMs: 1_000, waitMs: 5_000 }
const ref = { key: 'start:p:country:GB', windowMs: 3_600_000 }

async function until(what: string, ready: () => boolean) {
  const deadline = Date.now() + 5_000
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** `work`, failing with what it was doing if it takes over 8 s (not at the test's timeout). */
async function step<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after 8 s: ${what}`)), 8_000)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}

const sorted = (values: (number | undefined)[]) => [...values].sort((a, b) => (a ?? 0) - (b ?? 0))
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe.each(DIALECTS)('counters of server processes on one %s database', (dialect) => {
  let storage: TestStorage
  const opened: LeasedCounters[] = []
  const open = () => {
    const counters = leasedCounters(storage.db, { timings })
    opened.push(counters)
    return counters
  }
  afterAll(async () => {
    for (const counters of opened) await counters.close()
    await storage?.dispose()
  })

  it('count in memory alone and in the table together, losing no count as they switch', async () => {
    storage = await createTestStorage(dialect)
    const table = databaseCounters(storage.db)
    const at = Date.now()

    const first = open()
    await until('the first is alone and counts in memory', () => first.mode === 'local')
    const alone = await Promise.all(range(1, 30).map(() => first.hit([ref], at)))
    expect(sorted(alone.map((v) => v[0]))).toEqual(range(1, 30))

    // A second process starts while the first counts: it waits until the first has written
    // what it holds and given the lease back, then both count in the table.
    const second = open()
    const together = await Promise.all([
      ...range(1, 20).map(() => first.hit([ref], at)),
      ...range(1, 20).map(() => second.hit([ref], at)),
    ])
    expect(sorted(together.map((v) => v[0]))).toEqual(range(31, 70))
    expect([first.mode, second.mode]).toEqual(['shared', 'shared'])
    expect(await table.read([ref], at)).toEqual([70])

    // The second stops: the first is alone again and takes the counters back into memory.
    await second.close()
    await until('the first is alone again', () => first.mode === 'local')
    expect(await first.hit([ref], at)).toEqual([71])
    await first.close()
    expect(await table.read([ref], at)).toEqual([71])
  })

  it.runIf(dialect === 'sqlite')(
    'beat through the writer thread when the server has one: the serving connection writes nothing while the lease is held',
    async () => {
      const threaded = await createTestStorage('sqlite', { writerThread: true })
      const holder = leasedCounters(threaded.db, { timings })
      try {
        await until('the holder counts in memory', () => holder.mode === 'local')
        const lease = () =>
          threaded.db
            .selectFrom('fraud_counter_lease')
            .select(['holder', 'expires_at'])
            .executeTakeFirstOrThrow()
        const seen = async () =>
          Number(
            (
              await threaded.db
                .selectFrom('fraud_counter_processes')
                .select('seen_at')
                .where('id', '=', holder.id)
                .executeTakeFirstOrThrow()
            ).seen_at,
          )
        // Rows the serving connection itself changed (SQLite counts them per connection).
        const ownChanges = async () =>
          Number(
            (await sql<{ n: number }>`select total_changes() as n`.execute(threaded.db)).rows[0]?.n,
          )
        const [before, leaseBefore, seenBefore] = [await ownChanges(), await lease(), await seen()]
        await new Promise((resolve) => setTimeout(resolve, 3 * timings.beatMs))
        // Renewed and seen alive meanwhile, by the thread.
        expect(Number((await lease()).expires_at)).toBeGreaterThan(Number(leaseBefore.expires_at))
        expect(await seen()).toBeGreaterThan(seenBefore)
        expect(await ownChanges()).toBe(before)
        // A renewal through the thread that changes no row (the lease is another's) is told apart.
        await threaded.db.updateTable('fraud_counter_lease').set({ holder: 'another' }).execute()
        await until('the holder stops counting in memory', () => holder.mode !== 'local')
      } finally {
        await holder.close()
        await threaded.dispose()
      }
    },
  )

  it('two processes starting together never both count in memory', async () => {
    const table = databaseCounters(storage.db)
    const key = { key: 'start:p:ip:203.0.113.1', windowMs: 600_000 }
    const at = Date.now()
    const [a, b] = [open(), open()]
    const values = await Promise.all(
      range(1, 40).map((i) => ((i % 2 === 0 ? a : b) as LeasedCounters).hit([key], at)),
    )
    expect(sorted(values.map((v) => v[0]))).toEqual(range(1, 40))
    expect([a.mode, b.mode].filter((mode) => mode === 'local')).toEqual([])
    await Promise.all([a.close(), b.close()])
    expect(await table.read([key], at)).toEqual([40])
  })

  it('closes within its wait when the database stops answering', async () => {
    const alone = await createTestStorage(dialect)
    const holder = leasedCounters(alone.db, { timings: { ...timings, waitMs: 1_000 } })
    await until('the holder counts in memory', () => holder.mode === 'local')
    await step('the holder counting', holder.hit([ref], Date.now(), 3))
    // The database stops answering the holder: on SQLite a transaction that never ends holds
    // the one connection; on PostgreSQL another connection locks the lease row, so renewing it
    // waits.
    let letGo = () => {}
    const stuck = new Promise<void>((resolve) => {
      letGo = resolve
    })
    const other = dialect === 'postgres' ? openStorage(alone.url) : undefined
    let locked: Promise<unknown>
    if (other) {
      let isLocked = () => {}
      const lockHeld = new Promise<void>((resolve) => {
        isLocked = resolve
      })
      locked = other.db.transaction().execute(async (trx) => {
        await trx.selectFrom('fraud_counter_lease').selectAll().forUpdate().execute()
        isLocked()
        await stuck
      })
      await lockHeld
    } else locked = alone.db.transaction().execute(() => stuck)
    const started = Date.now()
    await expect(step('the holder closing', holder.close())).rejects.toThrow(/did not answer/)
    expect(Date.now() - started).toBeLessThan(4_000)
    expect(holder.mode).toBe('closed')
    letGo()
    await locked
    await other?.close()
    await alone.dispose()
  })

  it('go on without a holder that died, once its lease has lapsed', async () => {
    // Two connections to one database, as two processes have: the holder's is cut, so it can
    // neither write what it holds nor renew its lease nor give it back.
    const shared = await createTestStorage(dialect, {
      sqliteFile: join(mkdtempSync(join(tmpdir(), 'tg-lease-')), 'counters.db'),
    })
    const doomed = openStorage(shared.url)
    const key = { key: 'start:p:phone:+447400123456', windowMs: 3_600_000 }
    const at = Date.now()
    const holder = leasedCounters(doomed.db, { timings: { ...timings, waitMs: 1_000 } })
    await until('the holder counts in memory', () => holder.mode === 'local')
    await step('the holder counting 5', holder.hit([key], at, 5))
    // Long enough for the holder to write what it counted.
    await new Promise((resolve) => setTimeout(resolve, 5 * timings.flushMs))
    await step('the holder counting 1', holder.hit([key], at, 1))
    await step("closing the holder's connection", doomed.close())

    const lease = await shared.db
      .selectFrom('fraud_counter_lease')
      .select('expires_at')
      .executeTakeFirstOrThrow()
    const survivor = leasedCounters(shared.db, { timings })
    // It waits for the lease to lapse, then counts: what the holder wrote is there, what it
    // held unwritten (at most one flush) is lost.
    const [value] = await step('the survivor counting', survivor.hit([key], at))
    expect(Date.now()).toBeGreaterThanOrEqual(Number(lease.expires_at))
    expect(value).toBeGreaterThanOrEqual(6)
    expect(value).toBeLessThanOrEqual(7)
    // The dead holder answers nothing from memory once its lease could have lapsed.
    await expect(step('the dead holder refusing', holder.hit([key], at))).rejects.toThrow(
      /not available/,
    )
    await step('the survivor closing', survivor.close())
    await step(
      'the holder closing',
      holder.close().catch(() => {}),
    )
    await shared.dispose()
  })
})
