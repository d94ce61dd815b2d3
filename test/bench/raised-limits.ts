/**
 * The fraud settings of the benchmarks' project: every check on, its limits out of reach, so
 * synthetic traffic (which is exactly what the guard would stop) is weighed in full and never
 * refused.
 * @module
 */
import { parseFraudSettings } from '@textgate/server/fraud/settings'

/** A limit no benchmark reaches. */
export const HIGH = 1_000_000_000

export const RAISED_LIMITS = {
  velocity: {
    rules: parseFraudSettings({}).velocity.rules.map((rule) => ({
      ...rule,
      ...(rule.challengeAt ? { challengeAt: HIGH } : {}),
      ...(rule.blockAt ? { blockAt: HIGH } : {}),
    })),
  },
  conversion: { challengeBelow: 0, blockBelow: 0 },
  spend: { dailyProjectCap: HIGH, dailyCountryCap: HIGH },
}
