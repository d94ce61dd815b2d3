import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { CarrierAdapter } from '../carriers/types'
import type { Database, DialectName, KeyMode } from '../storage'

/** What one dispatcher's claim, send and record steps share. */
export interface DispatchContext {
  db: Kysely<Database>
  dialect: DialectName
  /** This dispatcher's name in `claimed_by`. */
  workerId: string
  encryptionKey: Buffer
  carrierFor: (mode: KeyMode, to: string) => CarrierAdapter
  logger: Logger
  now: () => number
  claimMs: number
  maxAttempts: number
}
