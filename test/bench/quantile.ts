/**
 * Quantiles of latencies. Every bench's p50 and p99 are {@link quantileOf}; rows of several
 * rounds are pooled through their latencies in buckets ({@link bucketsOf},
 * {@link quantileOfBuckets}), since a row's whole list is too large to carry between processes.
 * @module
 */

/**
 * The `q` quantile (0–1) of ascending `sorted` values, by the nearest lower rank; 0 when there are
 * none.
 */
export function quantileOf(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}

/** Width of a latency bucket, ms: 10 µs, finer than any figure the bench prints. */
export const BUCKET_MS = 0.01

/** A latency histogram: [bucket, count] pairs, buckets ascending; bucket b holds latencies that round to b × BUCKET_MS. */
export type LatencyBuckets = [bucket: number, count: number][]

/** The histogram of ascending `sorted` latencies (ms). */
export function bucketsOf(sorted: readonly number[]): LatencyBuckets {
  const buckets: LatencyBuckets = []
  for (const latency of sorted) {
    const bucket = Math.round(latency / BUCKET_MS)
    const last = buckets[buckets.length - 1]
    if (last && last[0] === bucket) last[1]++
    else buckets.push([bucket, 1])
  }
  return buckets
}

/**
 * The `q` quantile of every latency in `histograms` taken together (rows of several rounds pooled),
 * by the same rank as {@link quantileOf}, to within half a bucket; 0 when there are none.
 */
export function quantileOfBuckets(histograms: readonly LatencyBuckets[], q: number): number {
  const counts = new Map<number, number>()
  let total = 0
  for (const histogram of histograms) {
    for (const [bucket, count] of histogram) {
      counts.set(bucket, (counts.get(bucket) ?? 0) + count)
      total += count
    }
  }
  if (total === 0) return 0
  const rank = Math.min(total - 1, Math.floor(q * total))
  let seen = 0
  for (const bucket of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(bucket) as number
    if (seen > rank) return bucket * BUCKET_MS
  }
  return 0
}
