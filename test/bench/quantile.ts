/**
 * The `q` quantile (0–1) of ascending `sorted` values, by the nearest lower rank; 0 when there are
 * none. Every bench's p50 and p99 are this.
 * @module
 */
export function quantileOf(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}
