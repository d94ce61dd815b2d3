/**
 * When a failed webhook delivery is tried again. Standard Webhooks recommends exponential
 * back-off with jitter over a few days; these are Svix's steps, extended to about three days.
 * @module
 */
const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

/** Wait after the n-th failed attempt (index n-1); after the last one the delivery fails. */
export const RETRY_DELAYS_MS = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  14 * HOUR,
  20 * HOUR,
  24 * HOUR,
] as const

/** Attempts in all: the first and one after each delay (about 76 hours end to end). */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1

/** An endpoint whose every attempt failed for this long is disabled. */
export const DISABLE_AFTER_MS = 5 * 24 * HOUR

/** The longest wait a receiver's `Retry-After` can ask for (the schedule's longest step). */
export const MAX_RETRY_AFTER_MS = 24 * HOUR

/**
 * The longest an answer without `Retry-After` holds a whole endpoint (the schedule's second
 * step): a receiver failing one event again and again delays its other events this long at most,
 * while that event waits its own step.
 */
export const MAX_UNASKED_HOLD_MS = 5 * MINUTE

/**
 * How long a throttling answer (429, 502, 503, 504) holds the endpoint: the delivery's own wait
 * when the receiver named one (`Retry-After`), else that wait up to {@link MAX_UNASKED_HOLD_MS}.
 */
export function endpointHoldMs(delayMs: number, askedMs: number | undefined): number {
  return askedMs === undefined ? Math.min(delayMs, MAX_UNASKED_HOLD_MS) : delayMs
}

/** The wait after `attempts` failed attempts, ±20 % jitter; undefined when none is left. */
export function retryDelayMs(attempts: number, random = Math.random): number | undefined {
  const base = RETRY_DELAYS_MS[attempts - 1]
  if (base === undefined) return undefined
  return Math.round(base * (0.8 + 0.4 * random()))
}

/**
 * A `Retry-After` header in milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110
 * §10.2.3); undefined when absent or unreadable, 0 for a date already past.
 * @example
 * retryAfterMs('120', Date.now()) // 120_000
 */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  if (/^\d+$/.test(text)) return Number(text) * SECOND
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * The wait before the next attempt: the schedule's step, or longer when the endpoint asked for
 * longer with `Retry-After` (429, 503 …; Standard Webhooks asks senders to honour it), at most
 * {@link MAX_RETRY_AFTER_MS}. Never shorter than the schedule: a receiver cannot speed retries up.
 */
export function nextDelayMs(
  attempts: number,
  askedMs: number | undefined,
  random = Math.random,
): number | undefined {
  const scheduled = retryDelayMs(attempts, random)
  if (scheduled === undefined || askedMs === undefined) return scheduled
  return Math.max(scheduled, Math.min(askedMs, MAX_RETRY_AFTER_MS))
}
