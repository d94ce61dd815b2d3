/**
 * Destination risk: how much traffic a country may take, from the built-in prior (risk, cost) and
 * the store's own baseline of verified shoppers there. A country is
 *
 * - `open`: the store has history there, or the prior says pumping is rare there;
 * - `cold`: a medium- or high-risk prior and too little history (fewer verified shoppers a day
 *   than `openAtVerifiedPerDay`): a small budget per hour;
 * - `restricted`: above a ceiling — texts per hour, starts per hour (a surge, counted as it
 *   starts), texts nobody entered in 24 h, or spend today — or its codes are rarely entered.
 *
 * Every ceiling is the prior's budget plus a multiple of the baseline, so a store's own busy
 * countries get room in proportion to their real shoppers (a flash sale) and a country the store
 * never sold to gets a few texts an hour. The figures go to the decision log.
 * @module
 */
import type { CounterRef } from '../counters'
import { nationalDigitsOf, prefixOf } from '../network'
import type { FraudContext } from '../types'
import type { Baseline } from './baseline'
import { type DestinationPrior, priorOf } from './prior'

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
const MICRO = 1_000_000
const DEVICE_MEMORY_MS = 30 * DAY_MS

export type DestinationState = 'open' | 'cold' | 'restricted'

export interface DestinationFigures {
  risk: DestinationPrior['risk']
  cost: number
  baselinePerHour: number
  baselinePerDay: number
  starts1h: number
  sent1h: number
  unconverted24h: number
  spentToday: number
  rateCeiling: number
  surgeCeiling: number
  unconvertedCeiling: number
  spendCeiling: number
}

export interface DestinationVerdict {
  state: DestinationState
  /** `destination.*` reason codes: why it is cold or restricted. */
  reasons: string[]
  figures: DestinationFigures
}

/** Starts of a device in the last hour. */
export const deviceStartRef = (projectId: string, deviceId: string): CounterRef => ({
  key: `device-start:${projectId}:${deviceId}`,
  windowMs: HOUR_MS,
})

/**
 * Codes a device entered at this store in the last 30 days, for numbers of one country: what
 * makes it trusted there, and only there. Trust earned on a number of one country (an attacker's
 * own SIM, entered once) does not open a cold or restricted high-risk country to that device.
 */
export const deviceVerifiedRef = (
  projectId: string,
  country: string,
  deviceId: string,
): CounterRef => ({
  key: `device-verified:${projectId}:${country}:${deviceId}`,
  windowMs: DEVICE_MEMORY_MS,
})

/**
 * Counters hit on every start: starts per country and per device in the last hour. A start sent
 * again with the answer to its challenge is the same start: its device is not counted twice
 * (a shopper who solved a puzzle or two would otherwise look like a device on a spree).
 */
export function destinationHitRefs({ project, destination, caller }: FraudContext) {
  const refs: CounterRef[] = [
    { key: `dest-start:${project.id}:${destination.country}`, windowMs: HOUR_MS },
  ]
  const deviceId = caller.signals?.deviceId
  if (deviceId && !caller.answered) refs.push(deviceStartRef(project.id, deviceId))
  return refs
}

/** Counters read on every start: texts and verified shoppers per country, spend, the device. */
export function destinationReadRefs({ project, destination, caller, at }: FraudContext) {
  const dayStart = Math.floor(at / DAY_MS) * DAY_MS
  const country = destination.country
  const deviceId = caller.signals?.deviceId
  return [
    { key: `dest-sent:${project.id}:${country}`, windowMs: HOUR_MS },
    { key: `dest-sent:${project.id}:${country}`, windowMs: DAY_MS },
    { key: `dest-verified:${project.id}:${country}`, windowMs: DAY_MS },
    // The spend check's tally of today for this country.
    { key: `spend:${project.id}:country:${country}:${dayStart}`, windowMs: DAY_MS },
    // Read even without a device id, so every start reads as many rows (equal timing).
    deviceVerifiedRef(project.id, country, deviceId ?? '-'),
  ] satisfies CounterRef[]
}

/** One prefix of a number that the guard judges: its length and its restriction subject. */
export interface PrefixLevel {
  /** Trailing digits dropped: 5 is the number's block of 100 000 numbers. */
  digits: number
  /** `prefix:+4474001`: its counters, baseline and restriction go by this. */
  subject: string
}

/**
 * A prefix keeps at least this many digits of the national number: a wider one would be a
 * tenth of the country or all of it (a 10 000 000-number block of an eight-digit numbering
 * plan), which is what the country's own ceilings are for.
 */
const MIN_NATIONAL_DIGITS_KEPT = 2

/**
 * The number's prefixes at each length of `destinations.prefix.digits`, narrowest first:
 * `prefix:+4474001`, `prefix:+447400`, `prefix:+44740` for `+447400123456` and 5, 6, 7. A length
 * that would keep fewer than two digits of the national number is left to the country.
 */
export function prefixLevelsOf(ctx: Pick<FraudContext, 'destination' | 'settings'>) {
  const { phone } = ctx.destination
  const national = nationalDigitsOf(phone)
  const levels: PrefixLevel[] = []
  for (const digits of ctx.settings.destinations.prefix.digits) {
    if (national - digits < MIN_NATIONAL_DIGITS_KEPT) continue
    levels.push({ digits, subject: `prefix:${prefixOf(phone, digits)}` })
  }
  return levels
}

/**
 * How many of a number's prefixes (narrowest first) its starts and texts count at: up to the
 * narrowest one that is restricted, none wider. A restricted prefix's traffic is held by its own
 * restriction; counted at the wider prefixes around it as well, one range pumped on would push
 * them over too and restrict ten or a hundred times the numbers. What it took before it was
 * restricted (its budget) still counts there, which the wider budgets leave room for
 * (`budgetGrowth`). Codes entered count everywhere: they make room.
 */
export function countedLevels(levels: PrefixLevel[], restricted: ReadonlySet<string>): number {
  const narrowest = levels.findIndex((level) => restricted.has(level.subject))
  return narrowest === -1 ? levels.length : narrowest + 1
}

/**
 * A prefix's counters, in the same round trip as the country's: starts in the last hour (hit,
 * or read when the start comes back with its answer), texts and verified shoppers in the last
 * hour and day.
 */
export function prefixRefs(projectId: string, subject: string) {
  return {
    starts: { key: `dest-start:${projectId}:${subject}`, windowMs: HOUR_MS },
    sent1h: { key: `dest-sent:${projectId}:${subject}`, windowMs: HOUR_MS },
    sent24h: { key: `dest-sent:${projectId}:${subject}`, windowMs: DAY_MS },
    verified1h: { key: `dest-verified:${projectId}:${subject}`, windowMs: HOUR_MS },
    verified24h: { key: `dest-verified:${projectId}:${subject}`, windowMs: DAY_MS },
  } satisfies Record<string, CounterRef>
}

/** Counted with every real text (not decoys): the country's and each judged prefix's. */
export function sentRefs(projectId: string, country: string, prefixSubjects: string[] = []) {
  const refs: CounterRef[] = [
    { key: `dest-sent:${projectId}:${country}`, windowMs: HOUR_MS },
    { key: `dest-sent:${projectId}:${country}`, windowMs: DAY_MS },
  ]
  for (const subject of prefixSubjects) {
    const p = prefixRefs(projectId, subject)
    refs.push(p.sent1h, p.sent24h)
  }
  return refs
}

/** Counted with every code entered. */
export function verifiedRefs(
  projectId: string,
  country: string,
  deviceId: string | undefined,
  prefixSubjects: string[] = [],
) {
  const refs: CounterRef[] = [{ key: `dest-verified:${projectId}:${country}`, windowMs: DAY_MS }]
  if (deviceId) {
    refs.push(deviceVerifiedRef(projectId, country, deviceId))
  }
  for (const subject of prefixSubjects) {
    const p = prefixRefs(projectId, subject)
    refs.push(p.verified1h, p.verified24h)
  }
  return refs
}

export function judgeDestination(
  ctx: Pick<FraudContext, 'destination' | 'settings'>,
  counts: {
    starts1h: number
    sent1h: number
    sent24h: number
    verified24h: number
    spentMicro: number
  },
  baseline: Baseline,
): DestinationVerdict {
  const settings = ctx.settings.destinations
  const { country } = ctx.destination
  const prior = priorOf(country, settings.prior)
  // The route's price or the project's cost for the country when set, else the prior's.
  const cost =
    ctx.settings.spend.costs[country] !== undefined ||
    ctx.destination.cost !== ctx.settings.spend.defaultCostPerSms
      ? ctx.destination.cost
      : prior.cost
  const budget = settings.budgetPerHour[prior.risk]
  const rateCeiling = Math.ceil(budget + settings.ceilingMultiplier * baseline.perHour)
  const surgeCeiling = Math.ceil(settings.surgeMultiplier * rateCeiling)
  const unconvertedCeiling = Math.ceil(
    settings.unconvertedPerDay[prior.risk] + settings.ceilingMultiplier * baseline.perDay,
  )
  const spendCeiling =
    cost * (settings.spendMultiplier * baseline.perDay + settings.spendMultiplier * budget * 24)
  const unconverted24h = Math.max(0, counts.sent24h - counts.verified24h)
  const spentToday = counts.spentMicro / MICRO
  const figures: DestinationFigures = {
    risk: prior.risk,
    cost,
    baselinePerHour: round(baseline.perHour),
    baselinePerDay: round(baseline.perDay),
    starts1h: round(counts.starts1h),
    sent1h: round(counts.sent1h),
    unconverted24h: round(unconverted24h),
    spentToday: round(spentToday),
    rateCeiling,
    surgeCeiling,
    unconvertedCeiling,
    spendCeiling: round(spendCeiling),
  }
  const reasons: string[] = []
  if (counts.sent1h >= rateCeiling) reasons.push('destination.rate')
  if (counts.starts1h > surgeCeiling) reasons.push('destination.surge')
  if (unconverted24h >= unconvertedCeiling) reasons.push('destination.unconverted')
  if (spentToday >= spendCeiling) reasons.push('destination.spend')
  if (reasons.length > 0) return { state: 'restricted', reasons, figures }
  // History of its own opens a country: enough verified shoppers a day, steadily (the EWMA),
  // not one shopper today.
  const history = baseline.perDay >= settings.openAtVerifiedPerDay[prior.risk]
  if (!history && prior.risk !== 'low') {
    return { state: 'cold', reasons: [`destination.cold.${prior.risk}`], figures }
  }
  return { state: 'open', reasons: [], figures }
}

export interface PrefixFigures {
  prefix: string
  /** Trailing digits the prefix drops: 5 is a block of 100 000 numbers. */
  prefixDigits: number
  prefixBaselinePerHour: number
  prefixBaselinePerDay: number
  prefixStarts1h: number
  prefixSent1h: number
  prefixVerified1h: number
  prefixVerified24h: number
  prefixUnconverted24h: number
  prefixRateCeiling: number
  prefixSurgeCeiling: number
  prefixUnconvertedCeiling: number
}

export interface PrefixVerdict {
  level: PrefixLevel
  /** `destination.prefix.*` reason codes: the ceilings the prefix is over (none: within them). */
  reasons: string[]
  figures: PrefixFigures
}

export const NO_BASELINE: Baseline = { perHour: 0, perDay: 0 }

/**
 * A number prefix inside its country, against ceilings from its own history, as the country's:
 * texts in the last hour ≥ budget + multiplier × expected shoppers an hour (`prefix.rate`);
 * starts in the last hour, sent or not, above the surge multiple of that (`prefix.surge`); texts
 * nobody entered in 24 h ≥ the unconverted budget + multiplier × expected shoppers a day
 * (`prefix.unconverted`). Expected shoppers an hour is the larger of the prefix's baseline and
 * its shoppers verified in the last hour; a day, the larger of the baseline's and its shoppers
 * verified in the last 24 h. So a flash sale's shoppers, who enter their codes, make room for the
 * next ones, and a wide block that real shoppers use every day (a big city's, an operator's) has
 * the room of its day without a stored baseline; a pumper, who enters none, stays at the budget.
 * The budgets are the narrowest length's, times `budgetGrowth` for each digit a wider prefix
 * drops beyond it. Every ceiling grows with the baseline, so a prefix within its ceilings at no
 * baseline is within them at any: the caller reads the baseline only when that first judgement
 * finds the prefix over.
 */
export function judgePrefix(
  ctx: Pick<FraudContext, 'settings'>,
  level: PrefixLevel,
  risk: DestinationPrior['risk'],
  counts: {
    starts1h: number
    sent1h: number
    sent24h: number
    verified1h: number
    verified24h: number
  },
  baseline: Baseline,
): PrefixVerdict {
  const settings = ctx.settings.destinations
  const { budgetPerHour, unconvertedPerDay, budgetGrowth, digits } = settings.prefix
  // A wider prefix's budgets grow with each digit it drops beyond the narrowest length.
  const growth = budgetGrowth ** Math.max(0, level.digits - (digits[0] ?? level.digits))
  const budget = Math.ceil(budgetPerHour[risk] * growth)
  const unconvertedBudget = Math.ceil(unconvertedPerDay[risk] * growth)
  const expectedPerHour = Math.max(baseline.perHour, counts.verified1h)
  const expectedPerDay = Math.max(baseline.perDay, counts.verified24h)
  const rateCeiling = Math.ceil(budget + settings.ceilingMultiplier * expectedPerHour)
  const surgeCeiling = Math.ceil(settings.surgeMultiplier * rateCeiling)
  const unconvertedCeiling = Math.ceil(
    unconvertedBudget + settings.ceilingMultiplier * expectedPerDay,
  )
  const unconverted24h = Math.max(0, counts.sent24h - counts.verified24h)
  const reasons: string[] = []
  if (counts.sent1h >= rateCeiling) reasons.push('destination.prefix.rate')
  if (counts.starts1h > surgeCeiling) reasons.push('destination.prefix.surge')
  if (unconverted24h >= unconvertedCeiling) reasons.push('destination.prefix.unconverted')
  return {
    level,
    reasons,
    figures: {
      prefix: level.subject.slice('prefix:'.length),
      prefixDigits: level.digits,
      prefixBaselinePerHour: round(baseline.perHour),
      prefixBaselinePerDay: round(baseline.perDay),
      prefixStarts1h: round(counts.starts1h),
      prefixSent1h: round(counts.sent1h),
      prefixVerified1h: round(counts.verified1h),
      prefixVerified24h: round(counts.verified24h),
      prefixUnconverted24h: round(unconverted24h),
      prefixRateCeiling: rateCeiling,
      prefixSurgeCeiling: surgeCeiling,
      prefixUnconvertedCeiling: unconvertedCeiling,
    },
  }
}

const round = (n: number) => Math.round(n * 100) / 100
