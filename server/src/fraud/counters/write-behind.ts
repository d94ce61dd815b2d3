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
 * - Writes: what is counted is summed per row and added every flush (a few multi-row upserts in
 *   one transaction), so a start's counting costs a share of a statement, not two.
 * - Reads, hits and flushes run one at a time, so a read never sees a flush half done.
 * @module
 */
import type { Kysely } from 'kysely'
import { BoundedCache } from '../../bounded-cache'
import type { Database } from '../../storage'
import { KnownRows } from './bloom'
import { addRows, read, storedRows } from './database'
import {
  bucketOf,
  type CounterRef,
  type CounterRow,
  type CounterStore,
  estimate,
  expiryOf,
  inRowOrder,
  rowId,
  rowKey,
} from './types'

/**
 * Counter values kept per generation (the cache keeps up to twice as many): the counters read
 * again are the shared ones (a project, a country, a prefix), and a hit keeps them in.
 */
const VALUES_PER_GENERATION = 16_384

export interface WriteBehindCounters extends CounterStore {
  /** Writes what was counted and not yet written; resolves once it is in the database. */
  flush(): Promise<void>
  /** Rows with counts not yet written. */
  readonly unwritten: number
}

interface Pending {
  refs: CounterRef[]
  at: number
  amount: number | null
  resolve(values: number[]): void
  reject(error: unknown): void
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
  function schedule() {
    if (scheduled) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      exclusive(runQueued).catch(() => {})
    })
  }

  /** Runs what callers have asked so far (their promises settle with it). */
  async function runQueued() {
    const batch = queue
    queue = []
    if (batch.length === 0) return
    try {
      await runBatch(batch)
    } catch (error) {
      for (const pending of batch) pending.reject(error)
    }
  }

  async function runBatch(batch: Pending[]) {
    /** The batch's counters, held apart from the cache, which may drop them meanwhile. */
    const counts = new Map<string, number>()
    // Counters neither kept nor certainly without a row: read their rows.
    const missing = new Map<string, string>()
    let oldest = Number.POSITIVE_INFINITY
    const need = (ref: CounterRef, bucket: number) => {
      const id = rowId(rowKey(ref), bucket)
      if (counts.has(id) || missing.has(id)) return
      const kept = values.get(id)
      if (kept !== undefined) counts.set(id, kept)
      else if (unwritten.has(id) || known.mayExist(id, expiryOf(ref, bucket))) {
        missing.set(id, rowKey(ref))
        oldest = Math.min(oldest, bucket)
      } else counts.set(id, 0)
    }
    for (const { refs, at } of batch) {
      if (at > latest) latest = at
      for (const ref of refs) {
        const bucket = bucketOf(at, ref.windowMs)
        need(ref, bucket)
        if (!ref.fixed) need(ref, bucket - ref.windowMs)
      }
    }
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
    const countOf = (id: string) => counts.get(id) ?? 0
    for (const { refs, at, amount, resolve } of batch) {
      if (amount !== null) {
        const seen = new Set<string>()
        for (const ref of refs) {
          const bucket = bucketOf(at, ref.windowMs)
          const id = rowId(rowKey(ref), bucket)
          if (seen.has(id)) continue
          seen.add(id)
          const count = countOf(id) + amount
          counts.set(id, count)
          values.set(id, count)
          const row = unwritten.get(id)
          if (row) row.count += amount
          else {
            const expiresAt = expiryOf(ref, bucket)
            unwritten.set(id, { key: rowKey(ref), bucket, count: amount, expires_at: expiresAt })
            known.add(id, expiresAt)
          }
        }
      }
      resolve(refs.map((ref) => estimate(ref, at, countOf).value))
    }
  }

  function enqueue(refs: CounterRef[], at: number, amount: number | null): Promise<number[]> {
    if (refs.length === 0) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      queue.push({ refs, at, amount, resolve, reject })
      schedule()
    })
  }

  function flush(): Promise<void> {
    return exclusive(async () => {
      // What callers asked before the flush is counted first, so the flush holds it.
      await runQueued()
      known.prune(latest)
      if (unwritten.size === 0) return
      const rows = [...unwritten.values()].sort(inRowOrder)
      const writing = unwritten
      unwritten = new Map()
      try {
        await db.transaction().execute((trx) => addRows(trx, rows))
      } catch (error) {
        // Nothing of it was written (one transaction): it waits for the next flush.
        for (const [id, row] of writing) {
          const later = unwritten.get(id)
          if (later) later.count += row.count
          else unwritten.set(id, row)
        }
        throw error
      }
    })
  }

  return {
    hit: (refs, at, amount = 1) => enqueue(refs, at, amount),
    add: async (refs, at, amount = 1) => {
      await enqueue(refs, at, amount)
    },
    read: (refs, at) => enqueue(refs, at, null),
    flush,
    get unwritten() {
      return unwritten.size
    },
  }
}
