/**
 * Daily spend caps per project and per destination country, from the cost of one text to
 * that country (see `destination.cost`). The cost of a message is reserved atomically before it
 * is queued, so two processes cannot both spend the last of a cap. Reserved whatever the mode,
 * so a cap switched on mid-day sees the day's true spend.
 * @module
 */
import type { CounterRef } from '../counters'
import type { Finding, FraudCheck, FraudContext } from '../types'

const DAY_MS = 86_400_000
/** Costs are counted in millionths, so that counters stay integers. */
const MICRO = 1_000_000

/** The day's counters a text to `ctx`'s destination is reserved against, and its cost. */
function reservationOf({ project, destination, at }: FraudContext) {
  const cost = Math.round(destination.cost * MICRO)
  // A fixed UTC day: the bucket is the day, and only the current bucket is compared.
  const dayStart = Math.floor(at / DAY_MS) * DAY_MS
  const refs: CounterRef[] = [
    { key: `spend:${project.id}:project:${dayStart}`, windowMs: DAY_MS, fixed: true },
    {
      key: `spend:${project.id}:country:${destination.country}:${dayStart}`,
      windowMs: DAY_MS,
      fixed: true,
    },
  ]
  return { refs, dayStart, cost }
}

export const spendCheck: FraudCheck = {
  id: 'spend',
  phase: 'reserve',
  mode: (settings) => settings.spend.mode,
  async run(ctx, { counters }) {
    const { dailyProjectCap, dailyCountryCap } = ctx.settings.spend
    const { refs, dayStart, cost } = reservationOf(ctx)
    const [projectSpend = 0, countrySpend = 0] = await counters.hit(refs, dayStart, cost)
    const findings: Finding[] = []
    if (projectSpend > dailyProjectCap * MICRO) {
      findings.push({
        decision: 'block',
        reason: 'spend.project',
        scope: 'request',
        figures: { spent: projectSpend / MICRO, cap: dailyProjectCap },
      })
    }
    if (countrySpend > dailyCountryCap * MICRO) {
      findings.push({
        decision: 'block',
        reason: 'spend.country',
        scope: 'number',
        figures: { spent: countrySpend / MICRO, cap: dailyCountryCap },
      })
    }
    return { findings, warn: 'fraud guard: daily spend cap reached' }
  },
  // The same day's counters as the reservation (ctx.at is the reservation's time), so a release
  // after midnight still gives back to the day that was charged.
  async release(ctx, { counters }) {
    const { refs, dayStart, cost } = reservationOf(ctx)
    await counters.add(refs, dayStart, -cost)
  },
}
