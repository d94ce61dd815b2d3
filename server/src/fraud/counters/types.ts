/**
 * What the fraud guard's counters are: sliding-window counts kept one row per fixed window.
 * The sliding estimate weighs the previous window by how much of it still overlaps the last
 * `window` (the "sliding window counter" of rate limiters).
 * @module
 */

export interface CounterRef {
  /** What is counted, e.g. `start:ip:203.0.113.7`. */
  key: string
  windowMs: number
  /**
   * A fixed window (a day's spend): only the current window counts, so a hit needs no read of
   * the previous one.
   */
  fixed?: boolean
}

export const rowKey = (ref: CounterRef) => `${ref.key}|${ref.windowMs}`
export const bucketOf = (at: number, windowMs: number) => Math.floor(at / windowMs) * windowMs
/** A counter row's id: its {@link rowKey} and the start of its window. */
export const rowId = (key: string, bucket: number) => `${key}@${bucket}`
/** When the row of `ref`'s window starting at `bucket` is no longer read (two windows on). */
export const expiryOf = (ref: Pick<CounterRef, 'windowMs'>, bucket: number) =>
  bucket + 2 * ref.windowMs

export function estimate(
  ref: CounterRef,
  at: number,
  countOf: (id: string) => number | undefined,
): { current: number; previous: number; value: number } {
  const bucket = bucketOf(at, ref.windowMs)
  const current = countOf(rowId(rowKey(ref), bucket)) ?? 0
  if (ref.fixed) return { current, previous: 0, value: current }
  const previous = countOf(rowId(rowKey(ref), bucket - ref.windowMs)) ?? 0
  return { current, previous, value: slidingValue(ref, at, current, previous) }
}

/** The sliding value from the counts of the current window and the one before it. */
export function slidingValue(ref: CounterRef, at: number, current: number, previous: number) {
  if (ref.fixed) return current
  const overlap = 1 - (at - bucketOf(at, ref.windowMs)) / ref.windowMs
  return current + previous * overlap
}

export interface CounterRow {
  /** `rowKey` of the counter. */
  key: string
  bucket: number
  count: number
  expires_at: number
}

/** Rows in key order, then window: the order every writer locks them in. */
export const inRowOrder = (a: CounterRow, b: CounterRow) =>
  a.key === b.key ? a.bucket - b.bucket : a.key < b.key ? -1 : 1

/**
 * The counter store cannot be reached (Redis away or not answering): the request that needed a
 * count cannot be judged, so it is refused as unavailable (503), never let through uncounted.
 */
export class CountersUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`[textgate] [fraud] the counters cannot be reached: ${message}`, options)
    this.name = 'CountersUnavailableError'
  }
}

/** Where the guard keeps its counters. */
export interface CounterStore {
  /** Adds `amount` to each counter; each one's sliding value including this hit. */
  hit(refs: CounterRef[], at: number, amount?: number): Promise<number[]>
  /** Adds `amount` to each counter, when the values are not needed (one statement less). */
  add(refs: CounterRef[], at: number, amount?: number): Promise<void>
  /** Each counter's sliding value, without counting. */
  read(refs: CounterRef[], at: number): Promise<number[]>
  close?(): Promise<void>
}
