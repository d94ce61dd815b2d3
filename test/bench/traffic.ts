/**
 * What the benchmark's load generator is told and answers, and the numbers and addresses its
 * requests carry: shared by verify.bench.ts and load.ts.
 * @module
 */
import type { LatencyBuckets } from './quantile'

export type LoadKind = 'echo' | 'start' | 'check' | 'peer-send' | 'peer-verify'

export interface LoadSpec {
  /** Base URLs: one autocannon instance per URL (several server processes), sharing the load. */
  targets: string[]
  kind: LoadKind
  headers: Record<string, string>
  /** Index of the first phone number and client address this run uses. */
  offset: number
  connections: number
  durationSeconds: number
  warmupSeconds: number
  /** Requests per second over all connections; absent = as fast as answers come. */
  rate?: number
  /**
   * With `rate`: send at evenly spaced moments (open loop, one request every 1/rate s, on as
   * many keep-alive connections as needed), latency counted from the moment a request was due.
   * Without it autocannon enforces the rate per second: each second's quota goes out as fast as
   * answers come, then the connections wait for the next second, so half the maximum rate is
   * the maximum rate half of the time.
   */
  paced?: boolean
  /** Stop after this many requests (the memory rows). */
  amount?: number
  /** For check and verify: a JSON file of `[id, phone, code][]`, consumed in order. */
  supplyFile?: string
  /** The HTTP status every answer must have; anything else counts as an error. */
  expect: number
  /** Starts carry the widget's caller signals (a device id of their own each). */
  signals?: boolean
}

export interface LoadResult {
  requests: number
  errors: number
  firstError: string
  seconds: number
  perSecond: number
  p50: number
  p99: number
  /** Every measured request's latency in 10 µs buckets, so rounds can be pooled (./quantile.ts). */
  latencyBuckets: LatencyBuckets
  /** Requests the warm-up sent (and numbers or supply it consumed). */
  warmupRequests: number
  /** True when a supply-limited run ran out before its duration. */
  exhausted: boolean
}

/**
 * BENCH_NUMBER_POOL=n: numbers and client addresses repeat every n requests (returning shoppers,
 * whose counters the server has seen before), instead of each request having its own.
 */
const POOL = Math.max(0, Math.floor(Number(process.env.BENCH_NUMBER_POOL ?? 0))) || 0
const pooled = (i: number) => (POOL > 0 ? i % POOL : i)
/** Valid UK mobile numbers: +44 7400 000000 … +44 7409 999999 (10 million), one per request unless pooled. */
export const phoneNumber = (i: number) => `+44740${String(pooled(i) % 10_000_000).padStart(7, '0')}`
/** A client address per request (10.0.0.0/8). */
export const clientIp = (i: number) => {
  const n = pooled(i)
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
}

/** The caller signals a person's widget sends, with a device id of its own per request. */
export const signalsFor = (i: number) => ({
  deviceId: `bench_device_${String(i).padStart(10, '0')}`,
  shownMs: 9000,
  entry: 'typed',
  keys: 13,
  focuses: 1,
  visible: true,
  webdriver: false,
})
