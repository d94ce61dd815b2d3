/**
 * The fraud guard's counters: what they are (./types.ts) and where they live.
 * - ./database.ts: rows in the database, exact across processes;
 * - ./lease.ts: the database's rows, answered from memory (./write-behind.ts) while one server
 *   process runs alone on the database;
 * - ./redis.ts: keys in Redis (REDIS_URL);
 * - ./keyed.ts: keys as keyed HMACs, whichever the store.
 * @module
 */
import { LEASE_MODES } from './lease'

export { databaseCounters } from './database'
export { keyedCounters } from './keyed'
export {
  LEASE_MODES,
  type LeasedCounters,
  type LeaseMode,
  type LeaseTimings,
  leasedCounters,
} from './lease'
export { type RedisLike, redisCounters } from './redis'
export { type CounterRef, type CounterStore, CountersUnavailableError } from './types'

/** Where a server process can keep its fraud counters: a lease mode, or Redis. */
export const COUNTERS_MODES = [...LEASE_MODES, 'redis'] as const
export type CountersMode = (typeof COUNTERS_MODES)[number]
