/**
 * The fraud guard: checks before any text is sent, challenges, lists, and the decision log.
 * @module
 */

import { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Secrets } from '../secrets'
import type { Database } from '../storage'
import { type ChallengeService, createChallengeService } from './challenge'
import { type CountersMode, keyedCounters, leasedCounters, redisCounters } from './counters'
import { createFraudGuard } from './guard'

export { type ChallengeService, createChallengeService } from './challenge'
export type { FraudGuard } from './guard'
export { FraudSettingsError, parseFraudSettings } from './settings'

/**
 * The Redis connection of the counters. While Redis is away, starts fail fast (503, see
 * CountersUnavailableError) rather than wait: a command waits for at most one reconnection and
 * 2 s in all. The outage is logged once when it begins and once when it ends (ioredis would
 * otherwise print every failed reconnection to stderr).
 */
function redisClient(url: string, logger: Logger | undefined): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    // Try again every half second at most, so counting resumes soon after Redis is back.
    retryStrategy: (times) => Math.min(times * 50, 500),
  })
  let away = false
  client.on('error', (error: Error) => {
    if (away) return
    away = true
    logger?.error({ err: error }, 'fraud guard: Redis (REDIS_URL) cannot be reached')
  })
  client.on('ready', () => {
    if (!away) return
    away = false
    logger?.info('fraud guard: Redis (REDIS_URL) reached again')
  })
  return client
}

export function createFraud(options: {
  db: Kysely<Database>
  secrets: Secrets
  logger?: Logger
  now?: () => number
  routeCost?: (projectId: string, phone: string, country: string) => number | undefined
  /** Keep counters in this Redis instead of the database. */
  redisUrl?: string | undefined
  /** The proof-of-work puzzles (the database's, with the pepper, unless given). */
  challenges?: ChallengeService
}) {
  const leased = options.redisUrl
    ? undefined
    : leasedCounters(options.db, { logger: options.logger })
  const counters = leased ?? redisCounters(redisClient(options.redisUrl as string, options.logger))
  const guard = createFraudGuard({
    db: options.db,
    // Keys of counters name numbers and addresses: stored only as keyed HMACs.
    counters: keyedCounters(counters, options.secrets.pepper),
    routeCost: options.routeCost,
    challenges: options.challenges ?? createChallengeService(options.db, options.secrets.pepper),
    logger: options.logger,
    now: options.now,
  })
  return Object.assign(guard, {
    /** Where this process counts now (see LeaseMode), or `redis`: for the metrics. */
    countersMode: (): CountersMode => leased?.mode ?? 'redis',
  })
}
