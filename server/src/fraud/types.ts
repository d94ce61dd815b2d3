/**
 * What a fraud check sees and what it says.
 * @module
 */
import type { Kysely } from 'kysely'
import type { Database, KeyMode } from '../storage'
import type { CounterStore } from './counters'
import type { CheckMode, FraudSettings } from './settings'

export type Decision = 'allow' | 'challenge' | 'block'

export const SEVERITY: Record<Decision, number> = { allow: 0, challenge: 1, block: 2 }

export interface Finding {
  decision: Exclude<Decision, 'allow'>
  /** Stable reason code, e.g. `velocity.prefix`, `list.block.ip`, `conversion.country`. */
  reason: string
  /**
   * `number`: about the phone number (answered like a normal start, so numbers cannot be
   * told apart); `request`: about who is asking (answered with a generic refusal).
   */
  scope: 'number' | 'request'
  retryAfterMs?: number
}

export interface FraudContext {
  projectId: string
  mode: KeyMode
  phone: string
  country: string
  /** libphonenumber's type, lower case (`mobile`, `premium_rate`, …). */
  numberType: string
  ip: string | null
  at: number
  settings: FraudSettings
  /** The price of one text on the route a live message would take, when the routing names one. */
  routeCost?: number | undefined
}

export interface CheckDeps {
  db: Kysely<Database>
  counters: CounterStore
}

export interface CheckResult {
  check: string
  mode: CheckMode
  findings: Finding[]
}
