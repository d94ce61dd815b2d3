import { describe, expect, it } from 'vitest'
import { BUCKET_MS, bucketsOf, quantileOf, quantileOfBuckets } from './quantile'

/** Latencies with a long tail, as a half-rate row has: mostly 1–3 ms, a few tens of ms. */
function latencies(seed: number, n: number): number[] {
  let x = seed
  const next = () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31
    return x / 2 ** 31
  }
  return Array.from({ length: n }, () => (next() < 0.02 ? 10 + next() * 40 : 1 + next() * 2)).sort(
    (a, b) => a - b,
  )
}

describe('latency quantiles', () => {
  it("reads one row's quantiles from its buckets as from its list, to within half a bucket", () => {
    const sorted = latencies(1, 20_000)
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      expect(
        Math.abs(quantileOfBuckets([bucketsOf(sorted)], q) - quantileOf(sorted, q)),
      ).toBeLessThanOrEqual(BUCKET_MS / 2 + 1e-9)
    }
  })

  it('pools rows: the quantile of all their latencies together, not the median of theirs', () => {
    const calm = [latencies(2, 20_000), latencies(3, 20_000)].map((row) =>
      row.map((v) => Math.min(v, 5)),
    )
    const stormy = latencies(4, 20_000).map((v, i) => (i % 25 === 0 ? v + 30 : v))
    const all = [...calm.flat(), ...stormy].sort((a, b) => a - b)
    const pooled = quantileOfBuckets(
      [...calm, stormy].map((row) => bucketsOf([...row].sort((a, b) => a - b))),
      0.99,
    )
    expect(Math.abs(pooled - quantileOf(all, 0.99))).toBeLessThanOrEqual(BUCKET_MS / 2 + 1e-9)
    // Two calm rounds and one stormy: the median round's p99 is a calm one's, under the pooled.
    const medianOfRounds = [
      ...calm.map((row) => quantileOf(row, 0.99)),
      quantileOf(stormy, 0.99),
    ].sort((a, b) => a - b)[1] as number
    expect(medianOfRounds).toBeLessThan(pooled)
  })

  it('has no quantile of nothing', () => {
    expect(quantileOfBuckets([], 0.99)).toBe(0)
    expect(quantileOfBuckets([[]], 0.5)).toBe(0)
    expect(bucketsOf([])).toEqual([])
  })
})
