/**
 * Proof of work priced at what a text is worth: the work asked of a caller grows with the
 * destination's cost and risk and with the caller's risk.
 *
 *   difficulty = base × max(1, cost / $0.05) × risk (low 1, medium 2, high 4)
 *                × caller (trusted ½, human 1, server or unknown 2, bot 4) × 4 when escalated
 *
 * clamped to [base, maxDifficulty]. Difficulty is ALTCHA's `maxnumber`: the worst case in
 * SHA-256 tries, half of it on average. See the README for what this costs in CPU seconds.
 * @module
 */
import type { CallerClass } from './callers'
import type { DestinationPrior } from './destinations/prior'
import type { FraudSettings } from './settings'

const REFERENCE_COST = 0.05
const RISK_FACTOR: Record<DestinationPrior['risk'], number> = { low: 1, medium: 2, high: 4 }
const CALLER_FACTOR: Record<CallerClass, number> = {
  trusted: 0.5,
  human: 1,
  server: 2,
  unknown: 2,
  bot: 4,
}
export const ESCALATION_FACTOR = 4

export function pricedDifficulty(
  input: { cost: number; risk: DestinationPrior['risk']; caller: CallerClass; escalated: boolean },
  settings: FraudSettings['challenge'],
): number {
  const raw =
    settings.baseDifficulty *
    Math.max(1, input.cost / REFERENCE_COST) *
    RISK_FACTOR[input.risk] *
    CALLER_FACTOR[input.caller] *
    (input.escalated ? ESCALATION_FACTOR : 1)
  return Math.round(Math.min(settings.maxDifficulty, Math.max(settings.baseDifficulty, raw)))
}
