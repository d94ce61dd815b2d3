/**
 * Counters answered from memory and written to the database behind the answers, for the one
 * process that holds the sole-writer lease (see ./lease.ts): while no other process writes the
 * counter rows, what this process has counted is the whole truth, and a start needs no round
 * trip to count.
 *
 * - Values: what this process knows of each key's rows (every window length asked for, the
 *   current window and the one before), in a bounded cache by key: a counter costs a lookup by
 *   its key, with no row name built. A row not known is read from the database, unless the
 *   Bloom filters of rows that may exist say it has none: a start's own number and address are
 *   new, so most of its counters cost no read at all. A key with counts not yet written stays
 *   until they are.
 * - Admission: a key enters the cache when asked for again after the flush that followed its
 *   first ask, or when it had rows in the table (the shared ones: a project, a country, a
 *   prefix). A key asked for by one start only (its own number and address) is kept in a map
 *   made anew at each flush. The cache's maps then hold a hundred keys or so, where thousands of
 *   new keys a second made them grow for seconds: by then in the old generation, each rehash
 *   allocated its new table there (see ../../in-flight), garbage for the next mark-compact.
 * - Writes: what is counted is summed per row and added every flush (multi-row upserts), so a
 *   start's counting costs a share of a statement, not two.
 * - A flush writes in parts (128 rows; on SQLite's writer thread 16, more for a large flush),
 *   each its own transaction, with other writers' transactions between them. A row stays in
 *   memory while counts of it are being written, so a row read from the table has every count
 *   of it there: a batch that must read rows does not wait for a flush under way (one took 25-65
 *   ms at 960 starts a second, and returning shoppers' numbers waited for it), only for the batch
 *   reading before it. A batch memory answers waits for neither.
 * @module
 */
import type { Kysely } from 'kysely'
import type { Database } from '../../storage'
import { writerThreadOf } from '../../storage/writer-thread'
import { type Hashes, hashesOf, KnownRows, rowHashes } from './bloom'
import { addRowStatements, addRows, read, storedRows } from './database'
import {
  bucketOf,
  type CounterRef,
  type CounterRow,
  type CounterStore,
  expiryOf,
  inRowOrder,
  rowId,
  rowKey,
  slidingValue,
} from './types'

/**
 * Keys whose counters are kept per generation (the cache keeps up to twice as many): the keys
 * asked for again are the shared ones (a project, a country, a prefix) and returning shoppers'
 * numbers and addresses, and a hit keeps them in. A key holds its windows of each length asked
 * for (a start's number: an hour and a day). Only keys asked for again are taken in, so new
 * numbers do not fill it. With 5,000 returning shoppers (a number and an address are about four
 * keys) 4,096 kept too few, and their rows were read again: with 16,384, starts ran 1.09-1.58
 * times as fast in three paired rounds, for 4.4 MiB more JS heap (RESULTS, thirteenth session).
 */
const KEYS_PER_GENERATION = 16_384
/**
 * Rows a flush writes per transaction: on SQLite a transaction holds the one connection, and
 * the starts waiting for it to commit wait for the whole part (about 2 ms for 128 rows).
 */
const ROWS_PER_TRANSACTION = 128
/**
 * The same on SQLite's writer thread, where a part is a message the thread runs between the
 * starts' batches, and the starts queued behind it wait for all of it: 128 rows of counters
 * with keys all over the index took the thread 0.7-2.4 ms (p50-p90) at full speed, longer than
 * the batch of starts they held up; 16 take about as long as one (0.3 ms). Parts go one after
 * another, each after the one before is answered, so a flush of many rows takes larger ones:
 * at most WRITER_PARTS_PER_FLUSH, or a flush would take longer than the counting it writes.
 */
const ROWS_PER_WRITER_PART = 16
const WRITER_PARTS_PER_FLUSH = 32
/** Reads of the table one batch makes at most before it fails (see runBatch). */
const MAX_READS_PER_BATCH = 8

/** How many rows a part of a flush of `rows` rows writes on `db`. */
export const flushPartRows = (db: Kysely<Database>, rows: number) =>
  writerThreadOf(db)
    ? Math.max(ROWS_PER_WRITER_PART, Math.ceil(rows / WRITER_PARTS_PER_FLUSH))
    : ROWS_PER_TRANSACTION

export interface WriteBehindCounters extends CounterStore {
  /** Writes what was counted and not yet written; resolves once it is in the database. */
  flush(): Promise<void>
  /** Flushes until every caller so far is answered and written (before a hand-over). */
  flushAll(): Promise<void>
  /** Rows with counts not yet written. */
  readonly unwritten: number
}

/** One window of a counter (a table row, or one to be), as this process knows it. */
interface Row {
  readonly bucket: number
  /** Its whole count: the table's and what is counted here. Undefined until known (read). */
  count: number | undefined
  /**
   * Counted here and not yet written: below zero when what was reserved is given back (a spend
   * reservation for a text not sent), and zero again when a change is undone before a flush.
   */
  unwritten: number
  /** In the list to write (`unwritten` below), once, whatever `unwritten` went through since. */
  listed: boolean
  /** Counted here and being written by a flush under way: the row stays in memory meanwhile. */
  writing: number
  /** The last plan that named it: a plan never pushes out a row it named itself. */
  planned: number
  /** In the Bloom filters of rows that may exist. */
  known: boolean
  /** The last call that counted it: a call counts a row once, however many refs name it. */
  call: number
}

/**
 * A counter: a key and a window length, with the windows of it asked for lately. The cache
 * holds thousands, so a counter is one object with its windows in fields, not in arrays.
 */
interface Counter {
  /** The key (the first window length asked for stands for it in the cache). */
  readonly key: string
  readonly windowMs: number
  /** Its {@link rowKey}: the table's key column. */
  readonly rowKey: string
  /** The Bloom hashes of its row key, which each of its rows' hashes derive from. */
  readonly h1: number
  readonly h2: number
  /** The key's counter of another window length. */
  next: Counter | undefined
  /** The flush interval the key was first asked for in (its first counter's field). */
  readonly epoch: number
  /** The windows asked for lately: the current one, the one before, and the one before that. */
  row0: Row | undefined
  row1: Row | undefined
  row2: Row | undefined
  /** Older windows not written yet (a flush failing for a while): rare. */
  older: Row[] | undefined
}

interface Pending {
  refs: CounterRef[]
  at: number
  amount: number | null
  /**
   * Planned: each ref's key (its first counter) and counter, its current window and the one
   * before (a fixed window has none).
   */
  keys: Counter[]
  counters: Counter[]
  rows: (Row | undefined)[]
  resolve(values: number[]): void
  reject(error: unknown): void
}

/** A row to be counted that is not in the list to write yet, with what names it there. */
interface Unwritten {
  /** The key's first counter, which keeps the key in memory until written. */
  first: Counter
  counter: Counter
  row: Row
}

/** Which rows the table holds, read from it: taken once no other process writes it. */
export async function readKnownRows(db: Kysely<Database>): Promise<KnownRows> {
  const known = new KnownRows()
  let key = ''
  let hashes: Hashes = [0, 1]
  for await (const page of storedRows(db)) {
    for (const row of page) {
      if (row.key !== key) {
        key = row.key
        hashes = hashesOf(key)
      }
      known.addHashed(row.expiresAt, rowHashes(hashes[0], hashes[1], row.bucket))
    }
  }
  return known
}

/** @param known the rows the table holds (see {@link readKnownRows}). */
export function writeBehindCounters(
  db: Kysely<Database>,
  known: KnownRows,
  { keysPerGeneration = KEYS_PER_GENERATION } = {},
): WriteBehindCounters {
  // What is known of each key, in two generations: when the current one is full it becomes the
  // previous one and the one before is dropped (between batches, never in the middle of one,
  // so a batch's rows stay one object each). A hit in the previous generation moves the key on.
  let current = new Map<string, Counter>()
  let previous = new Map<string, Counter>()
  /**
   * Keys first asked for since the last flush began, not (yet) admitted to the cache:
   * forgotten at each flush (the lease's beat flushes every tenth of a second, failing or not),
   * never in the middle of a batch, which plans again after each read and must find its keys.
   */
  let fresh = new Map<string, Counter>()
  /** Keys with rows not yet written, and keys being written: never dropped meanwhile. */
  let pinned = new Map<string, Counter>()
  let writing = new Map<string, Counter>()
  /** Keys of the batch reading the table: never dropped before it has planned again. */
  const reading = new Map<string, Counter>()
  /** Rows with counts not yet written. */
  let unwritten: Unwritten[] = []
  /** The latest time counted at: rows that expired well before it are forgotten. */
  let latest = 0
  let calls = 0
  /** Plans made (see Row.planned). */
  let plans = 0
  /** Flushes begun: the interval between two is an epoch. */
  let epoch = 0
  /**
   * The key's first counter (made of this window length when the key is new). A key the cache
   * does not hold enters it when asked for again after the flush that followed its first ask:
   * a start asks for its own keys several times within a few milliseconds (to count, to read,
   * to count what was sent), and that is not a second start.
   */
  function keyOf(key: string, windowMs: number): Counter {
    let first = current.get(key)
    if (first !== undefined) return first
    first =
      previous.get(key) ?? fresh.get(key) ?? pinned.get(key) ?? writing.get(key) ?? reading.get(key)
    if (first === undefined) {
      first = newCounter(key, windowMs)
      fresh.set(key, first)
    } else if (first.epoch !== epoch) current.set(key, first)
    return first
  }
  function age() {
    if (current.size < keysPerGeneration) return
    previous = current
    current = new Map()
  }

  function newCounter(key: string, windowMs: number): Counter {
    const name = rowKey({ key, windowMs })
    const [h1, h2] = hashesOf(name)
    return {
      key,
      windowMs,
      rowKey: name,
      // As 32-bit integers (small integers in V8, not numbers boxed apart): the same probes.
      h1: h1 | 0,
      h2: h2 | 0,
      next: undefined,
      epoch,
      row0: undefined,
      row1: undefined,
      row2: undefined,
      older: undefined,
    }
  }

  /** The key's counter of `windowMs` (`first`: the key's first counter). */
  function counterOf(first: Counter, windowMs: number): Counter {
    let counter = first
    for (;;) {
      if (counter.windowMs === windowMs) return counter
      if (counter.next === undefined) break
      counter = counter.next
    }
    counter.next = newCounter(first.key, windowMs)
    return counter.next
  }

  /** The counter's row of the window starting at `bucket`, known or to be read. */
  function rowOf(counter: Counter, bucket: number): Row {
    const { row0, row1, row2, older } = counter
    if (row0?.bucket === bucket) return row0
    if (row1?.bucket === bucket) return row1
    if (row2?.bucket === bucket) return row2
    if (older !== undefined) for (const row of older) if (row.bucket === bucket) return row
    const row: Row = {
      bucket,
      count: undefined,
      unwritten: 0,
      listed: false,
      writing: 0,
      planned: 0,
      known: false,
      call: 0,
    }
    // It takes an empty place, else the oldest window's: windows long past are no longer read
    // (the one before the current one is). One not written yet, or being written, waits in
    // `older` (a row read from the table must find every count of it there), and so does one
    // the plan under way named: a batch whose callers' clocks span more windows than a counter
    // keeps (a clock stepped back or forth between two of them) would otherwise push out, each
    // time it planned, the rows it had just read, and read them again for ever.
    const oldest = (a: Row | undefined, b: Row | undefined) =>
      a === undefined || (b !== undefined && a.bucket <= b.bucket) ? a : b
    const out = oldest(oldest(row0, row1), row2)
    const held = (r: Row) => r.listed || r.writing !== 0 || r.planned === plans
    if (out !== undefined && held(out)) counter.older = [...(older ?? []), out]
    else if (older !== undefined) {
      const waiting = older.filter(held)
      counter.older = waiting.length > 0 ? waiting : undefined
    }
    if (out === row0) counter.row0 = row
    else if (out === row1) counter.row1 = row
    else counter.row2 = row
    return row
  }

  /** Runs each job after every job before it in the same line has settled. */
  function line() {
    let tail: Promise<unknown> = Promise.resolve()
    return <T>(job: () => Promise<T> | T): Promise<T> => {
      const run = tail.then(job)
      tail = run.catch(() => {})
      return run
    }
  }
  /** Flushes, one after another. */
  const flushes = line()
  /** Batches that read the table, one after another (a flush's own batch too). */
  const readers = line()

  let queue: Pending[] = []
  let scheduled = false
  /** Batches waiting to read rows (behind another batch reading). */
  let lined = 0
  function schedule() {
    if (scheduled) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      const batch = queue
      queue = []
      if (batch.length === 0) return
      // The common batch (its shared counters kept, the start's own ones new) is answered here
      // and now, even while a flush is being written or another batch waits to read. One that
      // must read waits for the batches reading before it, not for a flush: a row it reads is
      // not in memory, so no batch answered meanwhile counts it without reading it too (and
      // lining up behind this one), and no count of it is on its way to the table.
      try {
        const missing = plan(batch)
        if (missing.size === 0) return settle(batch)
      } catch (error) {
        for (const pending of batch) pending.reject(error)
        return
      } finally {
        age()
      }
      lined++
      readers(() => runBatch(batch)).finally(() => lined--)
    })
  }

  /**
   * Names each call's rows, and answers from memory what it can: a row not known is certainly
   * new when the Bloom filters say so (count 0), else it is to be read. The rows to read, by
   * row id, with their counters.
   */
  function plan(batch: Pending[]): Map<string, { counter: Counter; row: Row }> {
    const missing = new Map<string, { counter: Counter; row: Row }>()
    plans++
    const need = (counter: Counter, row: Row) => {
      row.planned = plans
      if (row.count !== undefined) return
      const hashes = rowHashes(counter.h1, counter.h2, row.bucket)
      if (known.mayExistHashed(expiryOf(counter, row.bucket), hashes)) {
        missing.set(rowId(counter.rowKey, row.bucket), { counter, row })
      } else row.count = 0
    }
    for (const pending of batch) {
      const { refs, at, keys, counters, rows } = pending
      if (at > latest) latest = at
      keys.length = 0
      counters.length = 0
      rows.length = 0
      for (const ref of refs) {
        const first = keyOf(ref.key, ref.windowMs)
        const counter = counterOf(first, ref.windowMs)
        keys.push(first)
        counters.push(counter)
        const bucket = bucketOf(at, ref.windowMs)
        const now = rowOf(counter, bucket)
        need(counter, now)
        rows.push(now)
        if (ref.fixed) rows.push(undefined)
        else {
          const before = rowOf(counter, bucket - ref.windowMs)
          need(counter, before)
          rows.push(before)
        }
      }
    }
    return missing
  }

  /** Runs a batch in the readers' line, reading what it must. */
  async function runBatch(batch: Pending[]) {
    try {
      // Planned again after each read (in the same turn as its answers): what was counted or
      // dropped meanwhile is what this batch counts on. A row read is kept until the batch is
      // answered, so a second read is rare and a third would be a fault: it fails the batch
      // rather than read on for ever (each read answers as a microtask, so a loop of them would
      // never let the event loop turn).
      for (let reads = 0; ; reads++) {
        if (reads === MAX_READS_PER_BATCH)
          throw new Error(`fraud counters: rows still unknown after ${reads} reads of the table`)
        let missing: Map<string, { counter: Counter; row: Row }>
        try {
          missing = plan(batch)
          if (missing.size === 0) return settle(batch)
        } finally {
          age()
        }
        let oldest = Number.POSITIVE_INFINITY
        const keys = new Set<string>()
        for (const { counter, row } of missing.values()) {
          keys.add(counter.rowKey)
          if (row.bucket < oldest) oldest = row.bucket
        }
        // A flush may start meanwhile (and forget the keys first asked since the last one), and
        // the cache may turn a generation: the batch's keys stay until it has planned again.
        for (const pending of batch) for (const first of pending.keys) reading.set(first.key, first)
        const stored = await read(db, [...keys], oldest)
        for (const found of stored) {
          const place = missing.get(rowId(found.key, Number(found.bucket)))
          if (place === undefined || place.row.count !== undefined) continue
          place.row.count = Number(found.count) + place.row.unwritten
          place.row.known = true
          // A key with rows in the table was counted before: it is kept, not read again.
          const first = fresh.get(place.counter.key)
          if (first !== undefined) current.set(first.key, first)
        }
        for (const { row } of missing.values()) row.count ??= row.unwritten
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error)
    } finally {
      reading.clear()
    }
  }

  /** Counts the batch's hits and answers its callers (every row planned is known). */
  function settle(batch: Pending[]) {
    for (const { refs, keys, counters, rows, at, amount, resolve } of batch) {
      const call = ++calls
      if (amount !== null) {
        for (let i = 0; i < refs.length; i++) {
          const row = rows[2 * i] as Row
          if (row.call === call) continue
          row.call = call
          row.count = (row.count as number) + amount
          const counter = counters[i] as Counter
          // Listed once: a count that went back to zero (a reservation given back) and then
          // moved again is still one row to write, not two (PostgreSQL refuses an upsert that
          // names one row twice).
          if (!row.listed) {
            const first = keys[i] as Counter
            unwritten.push({ first, counter, row })
            pinned.set(first.key, first)
            row.listed = true
          }
          row.unwritten += amount
          if (!row.known) {
            known.addHashed(
              expiryOf(counter, row.bucket),
              rowHashes(counter.h1, counter.h2, row.bucket),
            )
            row.known = true
          }
        }
      }
      const values: number[] = []
      for (let i = 0; i < refs.length; i++) {
        const before = rows[2 * i + 1]
        values.push(
          slidingValue(
            refs[i] as CounterRef,
            at,
            (rows[2 * i] as Row).count as number,
            before === undefined ? 0 : (before.count as number),
          ),
        )
      }
      resolve(values)
    }
  }

  function enqueue(refs: CounterRef[], at: number, amount: number | null): Promise<number[]> {
    if (refs.length === 0) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      queue.push({ refs, at, amount, keys: [], counters: [], rows: [], resolve, reject })
      schedule()
    })
  }

  function flush(): Promise<void> {
    return flushes(async () => {
      // What callers asked before the flush is counted first, so the flush holds it.
      const asked = queue
      queue = []
      if (asked.length > 0) await readers(() => runBatch(asked))
      known.prune(latest)
      // Keys asked for in one epoch are forgotten from here (kept while being written): a start
      // asking again reads what was written.
      fresh = new Map()
      epoch++
      if (unwritten.length === 0) return
      // Rows in key order, then window: the order every writer locks them in.
      const pairs = unwritten.map((place) => {
        const { counter, row } = place
        const out: CounterRow = {
          key: counter.rowKey,
          bucket: row.bucket,
          count: row.unwritten,
          expires_at: expiryOf(counter, row.bucket),
        }
        row.writing += row.unwritten
        row.unwritten = 0
        row.listed = false
        return { place, out }
      })
      pairs.sort((a, b) => inRowOrder(a.out, b.out))
      const taken = pairs.map((pair) => pair.place)
      const rows = pairs.map((pair) => pair.out)
      unwritten = []
      writing = pinned
      pinned = new Map()
      try {
        // In parts, each its own transaction, the other writers' transactions between them: a
        // busy moment's flush never holds the connection for long.
        const size = flushPartRows(db, rows.length)
        for (let from = 0; from < rows.length; from += size) {
          const part = rows.slice(from, from + size)
          try {
            // On SQLite's writer thread when the server has one, else here.
            const writer = writerThreadOf(db)
            if (writer) await writer.write(addRowStatements(db, part))
            else await db.transaction().execute((trx) => addRows(trx, part))
          } catch (error) {
            // This part and those after it were not written: they wait for the next flush.
            for (let i = from; i < rows.length; i++) {
              const { first, counter, row } = taken[i] as Unwritten
              const count = (rows[i] as CounterRow).count
              if (!row.listed) {
                unwritten.push({ first, counter, row })
                pinned.set(first.key, first)
                row.listed = true
              }
              row.unwritten += count
              row.writing -= count
            }
            throw error
          }
          // In the table now: a row with nothing else on its way may leave memory.
          for (let i = from; i < from + part.length; i++) {
            ;(taken[i] as Unwritten).row.writing -= (rows[i] as CounterRow).count
          }
          if (from + size < rows.length) await new Promise(setImmediate)
        }
      } finally {
        writing = new Map()
      }
    })
  }

  /** Flushes until nothing is asked, lined up or unwritten (a hand-over: no caller comes after). */
  async function flushAll(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      await flush()
      if (queue.length === 0 && lined === 0 && unwritten.length === 0) return
      // Callers asked meanwhile are answered on the next turn of the event loop.
      await new Promise(setImmediate)
    }
  }

  return {
    hit: (refs, at, amount = 1) => enqueue(refs, at, amount),
    add: async (refs, at, amount = 1) => {
      await enqueue(refs, at, amount)
    },
    read: (refs, at) => enqueue(refs, at, null),
    flush,
    flushAll,
    get unwritten() {
      return unwritten.length
    },
  }
}
