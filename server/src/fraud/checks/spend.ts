/**
 * Daily spend caps per project and per destination country, from the cost of one text to
 * that country: the first live route's per-segment price when the routing file names one,
 * else `spend.costs[country]`, else `spend.defaultCostPerSms`. The cost of a message is reserved atomically before it is queued, so two
 * processes cannot both spend the last of a cap.
 * @module
 */
import type { CheckDeps, CheckResult, Finding, FraudContext } from '../types'

const DAY_MS = 86_400_000
/** Costs are counted in millionths, so that counters stay integers. */
const MICRO = 1_000_000

/** The route's price when the routing names one, else the settings' cost for the country. */
export function costOf(ctx: Pick<FraudContext, 'country' | 'settings' | 'routeCost'>): number {
  const { costs, defaultCostPerSms } = ctx.settings.spend
  return ctx.routeCost ?? costs[ctx.country] ?? defaultCostPerSms
}

export async function spendCheck(ctx: FraudContext, { counters }: CheckDeps): Promise<CheckResult> {
  const { mode, dailyProjectCap, dailyCountryCap } = ctx.settings.spend
  const cost = Math.round(costOf(ctx) * MICRO)
  // A fixed UTC day: the bucket is the day, and only the current bucket is compared.
  const dayStart = Math.floor(ctx.at / DAY_MS) * DAY_MS
  const [project, country] = await counters.hit(
    [
      { key: `spend:${ctx.projectId}:project:${dayStart}`, windowMs: DAY_MS },
      { key: `spend:${ctx.projectId}:country:${ctx.country}:${dayStart}`, windowMs: DAY_MS },
    ],
    dayStart,
    cost,
  )
  const findings: Finding[] = []
  const retryAfterMs = dayStart + DAY_MS - ctx.at
  if ((project ?? 0) > dailyProjectCap * MICRO) {
    findings.push({ decision: 'block', reason: 'spend.project', scope: 'request', retryAfterMs })
  }
  if ((country ?? 0) > dailyCountryCap * MICRO) {
    findings.push({ decision: 'block', reason: 'spend.country', scope: 'number', retryAfterMs })
  }
  return { check: 'spend', mode, findings }
}
