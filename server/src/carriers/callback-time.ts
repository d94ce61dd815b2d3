/**
 * Freshness of signed carrier callbacks: a signed timestamp within ±5 minutes of our clock, so a
 * captured callback cannot be sent again later; within the window, the replay store
 * (`callback_replays`, one row per signature) refuses a second copy.
 * @module
 */

export const CALLBACK_MAX_SKEW_MS = 5 * 60_000

/** True when `seconds` (Unix time as text) is within ±5 minutes of `nowMs`. */
export function isFreshTimestamp(seconds: string | undefined, nowMs: number): boolean {
  if (!seconds || !/^\d{1,12}$/.test(seconds)) return false
  return Math.abs(Number(seconds) * 1000 - nowMs) <= CALLBACK_MAX_SKEW_MS
}
