/**
 * Counters answered from memory and written to the database behind the answers, for the one
 * process that holds the sole-writer lease (see ./lease.ts): while no other process writes the
 * counter rows, what this process has counted is the whole truth, and a start needs no round
 * trip to count.
 *
 * - Values: a bounded cache of counters' current counts. A counter not in it is read from the
 *   database (its row, plus what is counted and not yet written), unless the Bloom filters of
 *   rows that may exist say it has none: a start's own number and address are new, so most
 *   of its counters cost no read at all.
 * - Writes: what is counted is summed per row and added every flush (multi-row upserts), so a
 *   start's counting costs a share of a statement, not two.
 * - A flush writes in parts (128 rows; on SQLite's writer thread 16, more for a large flush),
 *   each its own transaction, with other writers' transactions between them. A batch that must
 *   read rows waits for a flush under way, so no read sees one half done; a batch memory
 *   answers does not wait.
 * @module
 */
import type { Kysely } from 'kysely'
import { BoundedCache } from '../../bounded-cache'
import type { Database } from '../../storage'
import { writerThreadOf } from '../../storage/writer-thread'
import { type Hashes, hashesOf, KnownRows } from './bloom'
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
 * Counter values kept per generation (the cache keeps up to twice as many): the counters read
 * again are the shared ones (a project, a country, a prefix), and a hit keeps them in.
 */
const VALUES_PER_GENERATION = 16_384
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

interface Pending {
  refs: CounterRef[]
  /** Each ref's rows, named once per call. */
  rows: RefRows[]
  at: number
  amount: number | null
  resolve(values: number[]): void
  reject(error: unknown): void
}

/** A counter's rows for one call: its key, its current window and the one before. */
interface RefRows {
  key: string
  bucket: number
  current: string
  /** Absent for a fixed window. */
  previous: string | undefined
}

function rowsOf(ref: CounterRef, at: number): RefRows {
  const key = rowKey(ref)
  const bucket = bucketOf(at, ref.windowMs)
  return {
    key,
    bucket,
    current: rowId(key, bucket),
    previous: ref.fixed ? undefined : rowId(key, bucket - ref.windowMs),
  }
}

/** Which rows the table holds, read from it: taken once no other process writes it. */
export async function readKnownRows(db: Kysely<Database>): Promise<KnownRows> {
  const known = new KnownRows()
  for await (const page of storedRows(db)) for (const row of page) known.add(row.id, row.expiresAt)
  return known
}

/** @param known the rows the table holds (see {@link readKnownRows}). */
export function writeBehindCounters(
  db: Kysely<Database>,
  known: KnownRows,
  { valuesPerGeneration = VALUES_PER_GENERATION } = {},
): WriteBehindCounters {
  const values = new BoundedCache<string, number>(valuesPerGeneration)
  /** Counts not yet written, per row id. */
  let unwritten = new Map<string, CounterRow>()
  /** The latest time counted at: rows that expired well before it are forgotten. */
  let latest = 0

  let tail: Promise<unknown> = Promise.resolve()
  /** Runs `job` after every job before it has settled. */
  function exclusive<T>(job: () => Promise<T> | T): Promise<T> {
    const run = tail.then(job)
    tail = run.catch(() => {})
    return run
  }

  let queue: Pending[] = []
  let scheduled = false
  /** Batches waiting in the exclusive line (to read rows, behind a flush under way). */
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
      // must read waits for the line: a row it reads is not in memory, so no batch answered
      // meanwhile counts it without reading it too (and lining up behind this one).
      try {
        const plan = planOf(batch)
        if (plan.missing.size === 0) return settle(batch, plan)
      } catch (error) {
        for (const pending of batch) pending.reject(error)
        return
      }
      lined++
      exclusive(() => runBatch(batch)).finally(() => lined--)
    })
  }

  interface Plan {
    /** The batch's counters, held apart from the cache, which may drop them meanwhile. */
    counts: Map<string, number>
    /** Counters neither kept nor certainly without a row (id → row key): their rows are read. */
    missing: Map<string, string>
    /** The oldest window of those. */
    oldest: number
    /** The Bloom hashes of the rows found new, for adding them (hashed once). */
    hashes: Map<string, Hashes>
  }

  /** What of a batch memory answers, and which rows must be read for the rest. */
  function planOf(batch: Pending[]): Plan {
    const counts = new Map<string, number>()
    const missing = new Map<string, string>()
    const hashes = new Map<string, Hashes>()
    let oldest = Number.POSITIVE_INFINITY
    const need = (id: string, key: string, bucket: number, expiresAt: number) => {
      if (counts.has(id) || missing.has(id)) return
      const kept = values.get(id)
      if (kept !== undefined) return counts.set(id, kept)
      const hashed = hashesOf(id)
      if (unwritten.has(id) || known.mayExist(id, expiresAt, hashed)) {
        missing.set(id, key)
        oldest = Math.min(oldest, bucket)
      } else {
        counts.set(id, 0)
        hashes.set(id, hashed)
      }
    }
    for (const { refs, rows, at } of batch) {
      if (at > latest) latest = at
      refs.forEach((ref, i) => {
        const { key, bucket, current, previous } = rows[i] as RefRows
        need(current, key, bucket, expiryOf(ref, bucket))
        if (previous !== undefined) {
          need(previous, key, bucket - ref.windowMs, expiryOf(ref, bucket - ref.windowMs))
        }
      })
    }
    return { counts, missing, oldest, hashes }
  }

  /** Runs a batch in the exclusive line: after any flush under way, reading what it must. */
  async function runBatch(batch: Pending[]) {
    try {
      const plan = planOf(batch)
      const { counts, missing, oldest } = plan
      if (missing.size > 0) {
        const stored = new Map<string, number>()
        for (const row of await read(db, [...new Set(missing.values())], oldest)) {
          stored.set(rowId(row.key, Number(row.bucket)), Number(row.count))
        }
        // A counter's whole count: its row and what is not yet written of it.
        for (const id of missing.keys()) {
          const count = (stored.get(id) ?? 0) + (unwritten.get(id)?.count ?? 0)
          counts.set(id, count)
          values.set(id, count)
        }
      }
      settle(batch, plan)
    } catch (error) {
      for (const pending of batch) pending.reject(error)
    }
  }

  /** Counts the batch's hits and answers its callers. */
  function settle(batch: Pending[], { counts, hashes }: Plan) {
    const countOf = (id: string | undefined) => (id === undefined ? 0 : (counts.get(id) ?? 0))
    for (const { refs, rows, at, amount, resolve } of batch) {
      if (amount !== null) {
        const seen = new Set<string>()
        refs.forEach((ref, i) => {
          const { key, bucket, current: id } = rows[i] as RefRows
          if (seen.has(id)) return
          seen.add(id)
          const count = countOf(id) + amount
          counts.set(id, count)
          values.set(id, count)
          const row = unwritten.get(id)
          if (row) row.count += amount
          else {
            const expiresAt = expiryOf(ref, bucket)
            unwritten.set(id, { key, bucket, count: amount, expires_at: expiresAt })
            known.add(id, expiresAt, hashes.get(id))
          }
        })
      }
      resolve(
        refs.map((ref, i) => {
          const { current, previous } = rows[i] as RefRows
          return slidingValue(ref, at, countOf(current), countOf(previous))
        }),
      )
    }
  }

  function enqueue(refs: CounterRef[], at: number, amount: number | null): Promise<number[]> {
    if (refs.length === 0) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      queue.push({ refs, rows: refs.map((ref) => rowsOf(ref, at)), at, amount, resolve, reject })
      schedule()
    })
  }

  function flush(): Promise<void> {
    return exclusive(async () => {
      // What callers asked before the flush is counted first, so the flush holds it.
      const asked = queue
      queue = []
      if (asked.length > 0) await runBatch(asked)
      known.prune(latest)
      if (unwritten.size === 0) return
      const rows = [...unwritten.values()].sort(inRowOrder)
      unwritten = new Map()
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
          for (const row of rows.slice(from)) {
            const id = rowId(row.key, row.bucket)
            const later = unwritten.get(id)
            if (later) later.count += row.count
            else unwritten.set(id, row)
          }
          throw error
        }
        if (from + size < rows.length) await new Promise(setImmediate)
      }
    })
  }

  /** Flushes until nothing is asked, lined up or unwritten (a hand-over: no caller comes after). */
  async function flushAll(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      await flush()
      if (queue.length === 0 && lined === 0 && unwritten.size === 0) return
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
      return unwritten.size
    },
  }
}
