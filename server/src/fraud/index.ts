/**
 * The fraud guard: checks before any text is sent, challenges, lists, and the decision log.
 * @module
 */
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Secrets } from '../secrets'
import type { Database } from '../storage'
import { createChallengeService } from './challenge'
import { createFraudGuard } from './guard'

export type { FraudGuard } from './guard'
export { FraudSettingsError, parseFraudSettings } from './settings'

export function createFraud(options: {
  db: Kysely<Database>
  secrets: Secrets
  logger?: Logger
  now?: () => number
  routeCost?: (projectId: string, phone: string) => number | undefined
}) {
  return createFraudGuard({
    db: options.db,
    routeCost: options.routeCost,
    challenges: createChallengeService(options.db, options.secrets.pepper),
    logger: options.logger,
    now: options.now,
  })
}
