/**
 * The destination check: destination risk (the built-in prior and the store's own baseline,
 * see destinations/) weighed with the caller's first-party signals (see callers.ts), as the
 * table in weigh.ts says. It restricts a country or prefix that runs over a ceiling (or whose
 * codes are rarely entered), emits `fraud.restricted|lifted`, lets half-open probes through,
 * and prices its challenges (pricing.ts). Live keys only: test keys text the sandbox.
 *
 * Modes: `destinations.mode` for the check; `callers.mode` for the weight of the signals (off or
 * shadow: every browser caller is weighed as a person, and what the signals would change is
 * recorded; a start with a secret key is the store's server whatever the mode).
 * @module
 */
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database } from '../../storage'
import { type CallerClass, judgeCaller } from '../callers'
import type { CounterRef } from '../counters'
import { createBaselines } from '../destinations/baseline'
import {
  type DestinationState,
  destinationHitRefs,
  destinationReadRefs,
  deviceStartRef,
  judgeDestination,
  judgePrefix,
  NO_BASELINE,
  type PrefixVerdict,
  prefixRefs,
  prefixSubjectOf,
  sentRefs,
  verifiedRefs,
} from '../destinations/verdict'
import { createRestrictions } from '../events'
import { prefixOf } from '../network'
import { pricedDifficulty } from '../pricing'
import { durationMs } from '../settings'
import type { Finding, FraudCheck, FraudContext } from '../types'
import { type Action, weigh } from '../weigh'
import { conversionRefs } from './conversion'

/** Per database: the baseline cache and what this process knows of restrictions. */
const state = new WeakMap<
  Kysely<Database>,
  {
    baselines: ReturnType<typeof createBaselines>
    restrictions: ReturnType<typeof createRestrictions>
  }
>()
function stateOf(db: Kysely<Database>, logger: Logger | undefined) {
  let s = state.get(db)
  if (!s) {
    s = { baselines: createBaselines(db), restrictions: createRestrictions(db, logger) }
    state.set(db, s)
  }
  return s
}

const isLive = (ctx: FraudContext) => ctx.project.mode === 'live'

export const destinationCheck: FraudCheck = {
  id: 'destination',
  phase: 'screen',
  mode: (settings) => settings.destinations.mode,
  async run(ctx, { db, counters, logger }) {
    const settings = ctx.settings.destinations
    if (!isLive(ctx) || settings.mode === 'off') return { findings: [] }
    const { baselines, restrictions } = stateOf(db, logger)
    const conversion = conversionRefs(ctx)
    const deviceId = ctx.caller.signals?.deviceId
    const answered = ctx.caller.answered === true
    const enforcing = settings.mode === 'enforce'
    // The number's prefix, judged against its own ceilings unless `destinations.prefix` is off;
    // its counters ride in the same round trip as the country's.
    const prefixMode = settings.prefix.mode
    const prefixSubject = prefixSubjectOf(ctx)
    const prefixCounters = prefixRefs(ctx.project.id, prefixSubject)
    const judgingPrefix = prefixMode !== 'off'

    const hitList = destinationHitRefs(ctx)
    // A start sent again with its answer is the same start: the prefix reads its count then.
    const prefixHitAt = judgingPrefix && !answered ? hitList.push(prefixCounters.starts) - 1 : -1
    const readList: CounterRef[] = [
      ...destinationReadRefs(ctx),
      conversion.country.sent,
      conversion.country.entered,
      conversion.prefix.sent,
      conversion.prefix.entered,
    ]
    // An answered start was counted when it was first asked: read only.
    const deviceReadAt =
      deviceId && answered ? readList.push(deviceStartRef(ctx.project.id, deviceId)) - 1 : -1
    const prefixReadAt = judgingPrefix
      ? readList.push(
          prefixCounters.sent1h,
          prefixCounters.sent24h,
          prefixCounters.verified1h,
          prefixCounters.verified24h,
          ...(answered ? [prefixCounters.starts] : []),
        ) - (answered ? 5 : 4)
      : -1
    const [hits, reads, baseline, restrictedPrefixes] = await Promise.all([
      counters.hit(hitList, ctx.at),
      counters.read(readList, ctx.at),
      baselines.of(ctx.project.id, `country:${ctx.destination.country}`, ctx.at),
      // Which prefixes are restricted (read every ten seconds at most), for lifting them.
      enforcing ? restrictions.restrictedPrefixes(ctx.project.id, ctx.at) : new Set<string>(),
    ])
    const [sent1h = 0, sent24h = 0, verified24h = 0, spentMicro = 0, deviceVerified = 0] = reads
    const [countrySent = 0, countryEntered = 0, prefixSent = 0, prefixEntered = 0] = reads.slice(5)
    const deviceStarts = deviceId ? (answered ? reads[deviceReadAt] : hits[1]) : undefined
    const caller = judgeCaller(
      ctx.caller.signals,
      ctx.caller.userAgent,
      { deviceStarts1h: deviceStarts, deviceVerified30d: deviceVerified },
      ctx.settings.callers,
      ctx.caller.keyKind,
    )
    const destination = judgeDestination(
      ctx,
      { starts1h: hits[0] ?? 0, sent1h, sent24h, verified24h, spentMicro },
      baseline,
    )
    const risk = destination.figures.risk

    let prefix: PrefixVerdict | undefined
    if (judgingPrefix) {
      const at = (i: number) => reads[prefixReadAt + i] ?? 0
      const counts = {
        starts1h: (answered ? at(4) : hits[prefixHitAt]) ?? 0,
        sent1h: at(0),
        sent24h: at(1),
        verified1h: at(2),
        verified24h: at(3),
      }
      prefix = judgePrefix(ctx, prefixSubject, risk, counts, NO_BASELINE)
      // Over its ceilings without history: does its own history make room? Only then is the
      // prefix's baseline read (through the cache), so most starts cost no extra round trip.
      if (prefix.reasons.length > 0) {
        const own = await baselines.of(ctx.project.id, prefixSubject, ctx.at)
        if (own.perHour > 0 || own.perDay > 0) {
          prefix = judgePrefix(ctx, prefixSubject, risk, counts, own)
        }
      }
    }

    // The conversion breaker, as a restriction of the country or the number's prefix.
    const breaker = ctx.settings.conversion
    const breaks = (sent: number, entered: number, minSent: number) =>
      breaker.mode === 'enforce' && sent >= minSent && entered / sent < breaker.blockBelow
    const countrySubject = `country:${ctx.destination.country}`
    const breakerSubject = `prefix:${prefixOf(ctx.destination.phone, breaker.prefixDigits)}`
    const restrictedBy = destination.state === 'restricted' ? [...destination.reasons] : []
    if (breaks(countrySent, countryEntered, breaker.minSent))
      restrictedBy.push('conversion.country')

    const firstProbeMs = durationMs(settings.firstProbeAfter)
    const minRestrictionMs = durationMs(settings.minRestriction)
    let where: DestinationState = destination.state
    let probeSubject: string | undefined
    const figures = { country: ctx.destination.country, ...destination.figures }
    if (restrictedBy.length > 0) {
      where = 'restricted'
      probeSubject = countrySubject
      if (enforcing) {
        await restrictions.restrict(
          ctx.project.id,
          countrySubject,
          restrictedBy,
          figures,
          ctx.at,
          firstProbeMs,
          ctx.request,
        )
      }
    } else if (enforcing) {
      // Held at least minRestriction, so a restriction does not flap with the window.
      const held = await restrictions.lift(
        ctx.project.id,
        countrySubject,
        figures,
        ctx.at,
        minRestrictionMs,
        ctx.request,
      )
      if (held) {
        where = 'restricted'
        probeSubject = countrySubject
        restrictedBy.push('destination.held')
      }
    }

    // The number's prefixes over a ceiling now: its own ceilings (when they act) and the
    // conversion breaker's (its own prefix length); each restricted under its own subject.
    const over = new Map<string, { reasons: string[]; figures: Record<string, unknown> }>()
    const overPrefix = (subject: string, reasons: string[], what: Record<string, unknown>) => {
      const seen = over.get(subject)
      if (seen) {
        seen.reasons.push(...reasons)
        Object.assign(seen.figures, what)
      } else over.set(subject, { reasons: [...reasons], figures: { ...what } })
    }
    const prefixFigures = { country: ctx.destination.country, risk, ...prefix?.figures }
    if (prefix && prefixMode === 'enforce' && prefix.reasons.length > 0) {
      overPrefix(prefixSubject, prefix.reasons, prefixFigures)
    }
    if (breaks(prefixSent, prefixEntered, breaker.minSentPerPrefix)) {
      overPrefix(breakerSubject, ['conversion.prefix'], {
        country: ctx.destination.country,
        prefix: breakerSubject.slice('prefix:'.length),
        conversionSent: round(prefixSent),
        conversionEntered: round(prefixEntered),
      })
    }
    for (const [subject, { reasons, figures: what }] of over) {
      where = 'restricted'
      restrictedBy.push(...reasons)
      probeSubject ??= subject
      if (enforcing) {
        await restrictions.restrict(
          ctx.project.id,
          subject,
          reasons,
          what,
          ctx.at,
          firstProbeMs,
          ctx.request,
        )
      }
    }
    // A restricted prefix of this number that no ceiling holds any more: lifted once held
    // minRestriction (a start to a prefix that is not restricted looks at no table).
    for (const subject of new Set([prefixSubject, breakerSubject])) {
      if (over.has(subject) || !restrictedPrefixes.has(subject)) continue
      const held = await restrictions.lift(
        ctx.project.id,
        subject,
        subject === prefixSubject ? prefixFigures : { country: ctx.destination.country },
        ctx.at,
        minRestrictionMs,
        ctx.request,
      )
      if (held) {
        where = 'restricted'
        probeSubject ??= subject
        restrictedBy.push('destination.prefix.held')
      }
    }

    // Off or shadow: every caller is weighed as a person (the key kind is not a signal).
    const weighSignals = ctx.settings.callers.mode === 'enforce'
    const captcha = ctx.settings.challenge.captcha !== undefined
    const acting = weigh(
      where,
      destination.figures.risk,
      weighSignals || caller.class === 'server' ? caller.class : 'human',
      captcha,
    )
    let action: Action = acting.action
    // Half-open: a caller the guard is unsure of gets through now and then (a browser with the
    // hardest work, the store's server as it is); the others are throttled, never decoyed.
    if (action === 'probe') {
      const server = acting.caller === 'server'
      const due =
        enforcing &&
        probeSubject !== undefined &&
        (ctx.caller.answered || server
          ? await restrictions.takeProbe(ctx.project.id, probeSubject, ctx.at, firstProbeMs)
          : await restrictions.probeDue(ctx.project.id, probeSubject, ctx.at))
      action = !due ? 'throttle' : server ? 'allow' : 'probe'
    }
    const why = [
      ...(where === 'restricted' ? restrictedBy : destination.reasons),
      ...caller.reasons,
    ]
    const numbers: Record<string, number> = {
      ...numeric(destination.figures),
      ...(deviceStarts !== undefined ? { deviceStarts1h: round(deviceStarts) } : {}),
      deviceVerified30d: round(deviceVerified),
      ...(prefix ? numeric(prefix.figures) : {}),
    }
    const findings = findingsOf(action, why, acting.caller, destination, numbers, ctx)

    // What the signals would change, while they are only recorded (callers in shadow).
    const shadowReasons: string[] = []
    if (ctx.settings.callers.mode === 'shadow') {
      const real = weigh(where, destination.figures.risk, caller.class, captcha)
      if (real.action !== acting.action) {
        const would = real.action === 'probe' ? 'throttle' : real.action
        shadowReasons.push(
          ...findingsOf(would, why, caller.class, destination, numbers, ctx).map(
            (f) => `${f.decision}:${f.reason}`,
          ),
        )
      }
    }
    // What the prefix's ceilings would change, while they are only recorded (prefix in shadow).
    if (prefix && prefixMode === 'shadow' && prefix.reasons.length > 0 && where !== 'restricted') {
      const wouldWeigh = weigh('restricted', risk, acting.caller, captcha)
      if (wouldWeigh.action !== acting.action) {
        const would = wouldWeigh.action === 'probe' ? 'throttle' : wouldWeigh.action
        shadowReasons.push(
          ...findingsOf(
            would,
            [...prefix.reasons, ...caller.reasons],
            acting.caller,
            destination,
            numbers,
            ctx,
          ).map((f) => `${f.decision}:${f.reason}`),
        )
      }
    }
    return { findings, shadowReasons }
  },

  // Counted whatever the prefix mode, so its figures are true the moment it is switched on.
  async afterSent(ctx, { counters }) {
    if (!isLive(ctx)) return
    await counters.add(
      sentRefs(ctx.project.id, ctx.destination.country, prefixSubjectOf(ctx)),
      ctx.at,
    )
  },

  async afterApproved(ctx, { db, counters, logger }) {
    if (!isLive(ctx)) return
    const { baselines } = stateOf(db, logger)
    await counters.add(
      verifiedRefs(
        ctx.project.id,
        ctx.destination.country,
        ctx.caller.signals?.deviceId,
        prefixSubjectOf(ctx),
      ),
      ctx.at,
    )
    await baselines.countVerified(
      ctx.project.id,
      [`country:${ctx.destination.country}`, prefixSubjectOf(ctx)],
      ctx.at,
    )
  },
}

function findingsOf(
  action: Action,
  why: string[],
  caller: CallerClass,
  destination: ReturnType<typeof judgeDestination>,
  figures: Record<string, number>,
  ctx: FraudContext,
): Finding[] {
  if (action === 'allow') return []
  const reasons = why.length > 0 ? why : [`destination.${action}`]
  if (action === 'decoy') {
    return reasons.map((reason) => ({ decision: 'block', reason, scope: 'number', figures }))
  }
  if (action === 'throttle') {
    // Told plainly, with when to try again: the next half-open probe at the earliest.
    const retryAfterMs = durationMs(ctx.settings.destinations.firstProbeAfter)
    return reasons.map((reason) => ({
      decision: 'block',
      reason,
      scope: 'request',
      refusal: { code: 'rate_limited', retryAfterMs },
      figures,
    }))
  }
  const escalated = action === 'escalate' || action === 'probe'
  const difficulty = ctx.settings.challenge.priced
    ? pricedDifficulty(
        { cost: destination.figures.cost, risk: destination.figures.risk, caller, escalated },
        ctx.settings.challenge,
      )
    : undefined
  const extra = escalated ? [action === 'probe' ? 'destination.probe' : 'caller.escalated'] : []
  return [...reasons, ...extra].map((reason) => ({
    decision: 'challenge',
    reason,
    scope: 'number',
    figures,
    ...(difficulty !== undefined ? { difficulty } : {}),
    ...(escalated ? { interactive: true } : {}),
  }))
}

const round = (n: number) => Math.round(n * 100) / 100

function numeric(values: object): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, value] of Object.entries(values)) if (typeof value === 'number') out[key] = value
  return out
}
