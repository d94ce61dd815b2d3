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

export function createFraud(options: {
  db: Kysely<Database>
  secrets: Secrets
  logger?: Logger
  now?: () => number
  routeCost?: (projectId: string, phone: string) => number | undefined
  /** Keep counters in this Redis instead of the database. */
  redisUrl?: string | undefined
  /** The proof-of-work puzzles (the database's, with the pepper, unless given). */
  challenges?: ChallengeService
}) {
  const leased = options.redisUrl
    ? undefined
    : leasedCounters(options.db, { logger: options.logger })
  const counters =
    leased ??
    redisCounters(
      new Redis(options.redisUrl as string, {
        // Fail a start fast rather than wait long while Redis is away.
        maxRetriesPerRequest: 1,
        connectTimeout: 2_000,
      }),
    )
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
