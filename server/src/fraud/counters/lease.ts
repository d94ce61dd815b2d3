/**
 * The fraud counters of the server processes on one database: exact across processes always,
 * from memory while one process runs alone.
 *
 * - Every process says it is alive (`fraud_counter_processes`) twice a second.
 * - A process that sees no other takes the sole-writer lease (`fraud_counter_lease`, renewed
 *   twice a second, lapsing after three seconds) and answers counters from memory, writing them behind
 *   (./write-behind.ts). Taking it, it looks for other processes once more: of two processes
 *   starting together, one sees the other's row or the other sees the lease taken.
 * - A process that starts while the lease is held waits: the holder sees it within half a second,
 *   writes what it holds, and gives the lease back. From then on every process counts in the
 *   table, exactly (./database.ts), until one is alone again.
 * - A holder that cannot renew stops answering from memory before the lease lapses; one that
 *   dies loses what it had not written, at most one flush (a tenth of a second) of counts.
 * - A process counts in the table only while its own "alive" row is fresh, so a holder never
 *   takes the lease while it is still counting there.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { type CompiledQuery, type Kysely, PostgresAdapter, sql } from 'kysely'
import type { Logger } from 'pino'
import { InFlight } from '../../in-flight'
import type { Database } from '../../storage'
import { writerThreadOf } from '../../storage/writer-thread'
import { databaseCounters } from './database'
import { bucketOf, type CounterRef, type CounterStore, expiryOf, rowId, rowKey } from './types'
import { readKnownRows, type WriteBehindCounters, writeBehindCounters } from './write-behind'

/** Where a process is with the counters, in the order a lone process goes through them. */
export const LEASE_MODES = [
  /** Not yet known whether another process runs. */
  'starting',
  /** Another process holds the lease: counting waits until it is handed back. */
  'waiting',
  /** Counting in the table (other processes run). */
  'shared',
  /** The lease is ours; reading which rows exist, still counting in the table. */
  'taking',
  /** The lease is ours: counting in memory. */
  'local',
  /** Writing what memory holds, to give the lease back. */
  'handing-over',
  'closed',
] as const
export type LeaseMode = (typeof LEASE_MODES)[number]

export interface LeaseTimings {
  /** How often counts held in memory are written. */
  flushMs: number
  /** How often a process says it is alive and the holder renews the lease. */
  beatMs: number
  /** How long a lease lasts unless renewed. */
  leaseMs: number
  /** How long a process counts as alive after it last said so. */
  aliveMs: number
  /** How long a counter call waits for the lease to be handed over before it fails. */
  waitMs: number
}

const TIMINGS: LeaseTimings = {
  flushMs: 100,
  beatMs: 500,
  leaseMs: 3_000,
  aliveMs: 5_000,
  waitMs: 10_000,
}

const LEASE = 'counters'
/** Beats between two sweeps of the rows of processes gone for long. */
const STALE_SWEEP_BEATS = 120

export interface LeasedCounters extends CounterStore {
  readonly mode: LeaseMode
  readonly id: string
  close(): Promise<void>
}

export function leasedCounters(
  db: Kysely<Database>,
  {
    logger,
    timings: given = {},
    id = randomUUID(),
  }: { logger?: Logger | undefined; timings?: Partial<LeaseTimings>; id?: string } = {},
): LeasedCounters {
  const timings: LeaseTimings = Object.assign({}, TIMINGS, given)
  const shared = databaseCounters(db)
  let mode: LeaseMode = 'starting'
  let local: WriteBehindCounters | undefined
  /**
   * When (this process's monotonic clock) our lease was last taken or renewed, and when this
   * process last wrote that it is alive: both from before the statement was sent, so the lease
   * lapses for others no sooner than it counts as lapsed here, whatever the clocks.
   */
  let leaseFrom = Number.NEGATIVE_INFINITY
  let aliveFrom = Number.NEGATIVE_INFINITY
  let nextBeat = 0
  /** Counter calls in the table not yet answered. */
  const inTable = new InFlight()
  /** While taking the lease: ids counted in the table, for the filter being read. */
  let takenMeanwhile: Map<string, { key: string; bucket: number; expiresAt: number }> | undefined

  let waiters: (() => void)[] = []
  function notify() {
    const woken = waiters
    waiters = []
    for (const wake of woken) wake()
  }
  function setMode(next: LeaseMode) {
    if (mode === next) return
    logger?.debug({ from: mode, to: next }, 'fraud counters: %s', next)
    mode = next
    notify()
  }

  const wall = Date.now
  /**
   * The database's clock less this process's, on PostgreSQL: servers on several machines judge
   * each other's rows (`seen_at`, `expires_at`) by one clock. SQLite is one machine's.
   */
  let skew = 0
  /** The last readings of the skew: the one with the shortest round trip is the truest. */
  const readings: { roundTrip: number; skew: number }[] = []
  /** The time rows are written and judged in. */
  const clock = () => wall() + skew
  async function readSkew() {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return
    const sent = wall()
    const { rows } = await sql<{ now: string }>`
      SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`.execute(db)
    const received = wall()
    // Whole milliseconds: the times are written to bigint columns.
    const reading = Math.round(Number(rows[0]?.now) - (sent + received) / 2)
    readings.push({ roundTrip: received - sent, skew: reading })
    if (readings.length > 20) readings.shift()
    skew = readings.reduce((best, r) => (r.roundTrip < best.roundTrip ? r : best)).skew
  }
  const monotonic = () => performance.now()
  /** Counting in memory needs the lease for a while yet: a beat or two may be late. */
  const leaseHeld = () => monotonic() < leaseFrom + timings.leaseMs - 2 * timings.beatMs
  /** Counting in the table needs every holder to see this process alive. */
  const seenAlive = () => monotonic() < aliveFrom + timings.aliveMs - 3 * timings.beatMs

  /** The store to count in now, once there is one. */
  async function current(): Promise<CounterStore> {
    const deadline = wall() + timings.waitMs
    for (;;) {
      if (mode === 'local' && local && leaseHeld()) return local
      if (mode === 'local') {
        handOver('the lease is about to lapse').catch((error: unknown) =>
          logger?.warn({ err: error }, 'fraud counters: could not hand the counters over yet'),
        )
      }
      if ((mode === 'shared' || mode === 'taking') && seenAlive()) return tracked
      if (mode === 'closed') throw new Error('[textgate] [fraud] the counters are closed')
      const left = deadline - wall()
      if (left <= 0) {
        throw new Error(
          `[textgate] [fraud] the counters are not available (${mode}): ${mode === 'waiting' ? 'another server process holds them and has not handed them over' : 'the database cannot be reached'}`,
        )
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, timings.beatMs))
        waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Counts wherever {@link current} says, once there is a store to count in. */
  const whenReady: CounterStore = {
    hit: async (refs, at, amount) => (await current()).hit(refs, at, amount),
    add: async (refs, at, amount) => (await current()).add(refs, at, amount),
    read: async (refs, at) => (await current()).read(refs, at),
  }
  /** The store to count in, straight away in the common case (in memory, the lease held). */
  const storeNow = (): CounterStore =>
    mode === 'local' && local && leaseHeld() ? local : whenReady

  function track<T>(call: Promise<T>): Promise<T> {
    return inTable.track(call)
  }
  function noteTaken(refs: CounterRef[], at: number) {
    if (!takenMeanwhile) return
    for (const ref of refs) {
      const bucket = bucketOf(at, ref.windowMs)
      const key = rowKey(ref)
      takenMeanwhile.set(rowId(key, bucket), { key, bucket, expiresAt: expiryOf(ref, bucket) })
    }
  }
  /** The table's counters, with what is under way known. */
  const tracked: CounterStore = {
    hit: (refs, at, amount) => {
      noteTaken(refs, at)
      return track(shared.hit(refs, at, amount))
    },
    add: (refs, at, amount) => {
      noteTaken(refs, at)
      return track(shared.add(refs, at, amount))
    },
    read: (refs, at) => track(shared.read(refs, at)),
  }

  const othersAlive = async (at: number) => {
    const row = await db
      .selectFrom('fraud_counter_processes')
      .select((eb) => eb.fn.countAll<number>().as('others'))
      .where('id', '!=', id)
      .where('seen_at', '>', at - timings.aliveMs)
      .executeTakeFirstOrThrow()
    return Number(row.others) > 0
  }

  const leaseIsFree = async (at: number) => {
    const lease = await db
      .selectFrom('fraud_counter_lease')
      .select(['holder', 'expires_at'])
      .where('name', '=', LEASE)
      .executeTakeFirst()
    return !lease || lease.holder === null || lease.holder === id || Number(lease.expires_at) < at
  }

  async function release() {
    await db
      .updateTable('fraud_counter_lease')
      .set({ holder: null, expires_at: 0 })
      .where('name', '=', LEASE)
      .where('holder', '=', id)
      .execute()
    leaseFrom = Number.NEGATIVE_INFINITY
  }

  /**
   * Runs one of the beat's writes: on SQLite's writer thread when the server has one, so the
   * serving connection writes nothing while the lease is held (each of its writes, four a
   * second, emptied the writer thread's page cache, as SQLite drops a connection's cache when
   * another connection has written, and held the serving thread for a commit), else here. The
   * rows it changed.
   */
  async function beatWrite(query: { compile(): CompiledQuery }): Promise<number> {
    const compiled = query.compile()
    const writer = writerThreadOf(db)
    if (!writer) return Number((await db.executeQuery(compiled)).numAffectedRows ?? 0)
    const [changes] = await writer.writeCounted([[compiled.sql, compiled.parameters]])
    return changes ?? 0
  }

  /** Extends our lease from `at` (`since` on the monotonic clock); false when it is not ours. */
  async function renew(at: number, since = monotonic()): Promise<boolean> {
    const query = db
      .updateTable('fraud_counter_lease')
      .set({ expires_at: at + timings.leaseMs })
      .where('name', '=', LEASE)
      .where('holder', '=', id)
    if ((await beatWrite(query)) === 0) return false
    leaseFrom = since
    return true
  }

  async function take(at: number, since: number) {
    // The migration writes the row; a table emptied since gets it back.
    await db
      .insertInto('fraud_counter_lease')
      .values({ name: LEASE, holder: null, expires_at: 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute()
    const taken = await db
      .updateTable('fraud_counter_lease')
      .set({ holder: id, expires_at: at + timings.leaseMs })
      .where('name', '=', LEASE)
      .where((eb) =>
        eb.or([eb('holder', 'is', null), eb('holder', '=', id), eb('expires_at', '<', at)]),
      )
      .executeTakeFirst()
    if (Number(taken.numUpdatedRows) === 0) return setMode('waiting')
    leaseFrom = since
    // The lease is written: a process that wrote its row before now is seen here, and one
    // that writes it after sees the lease taken and waits.
    if (await othersAlive(at)) {
      await release()
      return setMode('shared')
    }
    takenMeanwhile = new Map()
    setMode('taking')
    try {
      const known = await readKnownRows(db)
      // Calls counted in the table until now must have landed before memory takes over.
      setMode('handing-over')
      await inTable.settled()
      for (const { key, bucket, expiresAt } of takenMeanwhile.values()) {
        known.add(key, bucket, expiresAt)
      }
      // Reading a large table takes a while: the lease is renewed before memory counts.
      if (!(await renew(clock()))) return setMode('waiting')
      local = writeBehindCounters(db, known)
      setMode('local')
      logger?.info('fraud counters in memory: this server process is alone on the database')
    } catch (error) {
      await release().catch(() => {})
      setMode('shared')
      throw error
    } finally {
      takenMeanwhile = undefined
    }
  }

  let handing: Promise<void> | undefined
  /** Writes what memory holds and gives the lease back; the table counts from then on. */
  function handOver(why: string): Promise<void> {
    handing ??= (async () => {
      setMode('handing-over')
      try {
        await local?.flushAll()
        local = undefined
        await release()
        logger?.info({ why }, 'fraud counters in the table: %s', why)
        // Lost rather than given back: another process may hold it now.
        setMode((await leaseIsFree(clock())) ? 'shared' : 'waiting')
      } finally {
        handing = undefined
      }
    })()
    return handing
  }

  let beats = 0
  async function beat() {
    const since = monotonic()
    await readSkew()
    const at = clock()
    const alive = db
      .insertInto('fraud_counter_processes')
      .values({ id, seen_at: at })
      .onConflict((oc) => oc.column('id').doUpdateSet({ seen_at: at }))
    await beatWrite(alive)
    aliveFrom = since
    notify()
    // Rows of processes long gone, once a minute or so (the first beat included).
    if (beats++ % STALE_SWEEP_BEATS === 0) {
      await db
        .deleteFrom('fraud_counter_processes')
        .where('seen_at', '<', at - 60 * timings.aliveMs)
        .execute()
    }
    const others = await othersAlive(at)
    if (mode === 'local') {
      if (!(await renew(at, since))) return handOver('the lease was lost')
      if (others) return handOver('another server process started on the database')
      return
    }
    if (mode === 'starting' || mode === 'waiting' || mode === 'shared') {
      if (!(await leaseIsFree(at))) return setMode('waiting')
      if (!others) return take(at, since)
      setMode('shared')
    }
  }

  let timer: NodeJS.Timeout | undefined
  let stopping = false
  let ticking: Promise<void> | undefined
  async function tick() {
    try {
      if (mode === 'handing-over' && !handing && local) await handOver('retrying')
      // The beat first: under load, a flush may wait behind the batches being counted.
      if (wall() >= nextBeat) {
        nextBeat = wall() + timings.beatMs
        await beat()
      } else if (mode === 'waiting' && (await leaseIsFree(clock()))) {
        setMode(seenAlive() ? 'shared' : 'starting')
      }
      if (mode === 'local') await local?.flush()
    } catch (error) {
      logger?.warn({ err: error, mode }, 'fraud counters: could not keep the lease up to date')
    }
  }
  function loop() {
    if (stopping) return
    timer = setTimeout(() => {
      ticking = tick().finally(loop)
    }, timings.flushMs)
    timer.unref()
  }
  ticking = tick().finally(loop)

  return {
    get mode() {
      return mode
    },
    id,
    hit: (refs, at, amount) => storeNow().hit(refs, at, amount),
    add: (refs, at, amount) => storeNow().add(refs, at, amount),
    read: (refs, at) => storeNow().read(refs, at),
    async close() {
      if (stopping) return
      stopping = true
      clearTimeout(timer)
      // A database that stopped answering must not hold the server's shutdown: each wait is
      // bounded, and what memory held unwritten is then lost (as if the process had died).
      const bounded = <T>(work: Promise<T>) => {
        let timeout: NodeJS.Timeout | undefined
        const late = new Promise<never>((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error('the database did not answer')),
            timings.waitMs,
          )
        })
        return Promise.race([work, late]).finally(() => clearTimeout(timeout))
      }
      try {
        await bounded(ticking ?? Promise.resolve())
        if (local) await bounded(handOver('this server process is stopping'))
        await bounded(inTable.settled())
        await bounded(db.deleteFrom('fraud_counter_processes').where('id', '=', id).execute())
      } catch (error) {
        logger?.warn({ err: error }, 'fraud counters: closed without writing what was left')
        throw error
      } finally {
        setMode('closed')
      }
    },
  }
}
