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
import { withFields } from '../../with-fields'
import { type CallerClass, judgeCaller } from '../callers'
import type { CounterRef } from '../counters'
import { createBaselines } from '../destinations/baseline'
import {
  countedLevels,
  type DestinationState,
  destinationHitRefs,
  destinationReadRefs,
  deviceStartRef,
  judgeDestination,
  judgePrefix,
  NO_BASELINE,
  type PrefixVerdict,
  prefixLevelsOf,
  prefixRefs,
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
const NONE: ReadonlySet<string> = new Set()

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
    // The number's prefixes (one per length of `destinations.prefix.digits`), each judged
    // against its own ceilings unless `destinations.prefix` is off; their counters ride in the
    // same round trip as the country's.
    const prefixMode = settings.prefix.mode
    const levels = prefixLevelsOf(ctx)
    const judged = prefixMode !== 'off' ? levels : []

    // A start in a restricted prefix counts no more at the wider ones around it: restricted as
    // this process knows it now (its read below, every ten seconds at most, is not waited for).
    const counted = countedLevels(
      judged,
      enforcing ? restrictions.knownRestrictedPrefixes(ctx.project.id) : NONE,
    )

    const hitList = destinationHitRefs(ctx)
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
    // Each prefix's starts are hit, or only read: a start sent again with its answer is the same
    // start, and one in a restricted narrower prefix is not counted here. Then its four counts.
    const places = judged.map((level, i) => {
      const refs = prefixRefs(ctx.project.id, level.subject)
      const hit = !answered && i < counted
      const starts = hit ? hitList.push(refs.starts) - 1 : readList.push(refs.starts) - 1
      const read = readList.push(refs.sent1h, refs.sent24h, refs.verified1h, refs.verified24h) - 4
      return { level, hit, starts, read }
    })
    const [hits, reads, baseline, restrictedPrefixes] = await Promise.all([
      counters.hit(hitList, ctx.at),
      counters.read(readList, ctx.at),
      baselines.of(ctx.project.id, `country:${ctx.destination.country}`, ctx.at),
      // Which prefixes are restricted (read every ten seconds at most), for lifting them.
      enforcing ? restrictions.restrictedPrefixes(ctx.project.id, ctx.at) : NONE,
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

    const prefixes = places.map(({ level, hit, starts, read }) => {
      const at = (j: number) => reads[read + j] ?? 0
      const counts = {
        starts1h: (hit ? hits[starts] : reads[starts]) ?? 0,
        sent1h: at(0),
        sent24h: at(1),
        verified1h: at(2),
        verified24h: at(3),
      }
      return { counts, verdict: judgePrefix(ctx, level, risk, counts, NO_BASELINE) }
    })
    // The narrowest prefix over its ceilings without a stored baseline: does its own baseline
    // make room? Only then is it read (through the cache), so most starts cost no extra round
    // trip. The wider prefixes keep none: their history is their shoppers verified in the last
    // hour and day, counted anyway.
    const narrowest = prefixes[0]
    if (narrowest && narrowest.verdict.reasons.length > 0) {
      const { level } = narrowest.verdict
      const own = await baselines.of(ctx.project.id, level.subject, ctx.at)
      if (own.perHour > 0 || own.perDay > 0) {
        narrowest.verdict = judgePrefix(ctx, level, risk, narrowest.counts, own)
      }
    }
    const verdicts = prefixes.map((p) => p.verdict)

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

    // The number's prefixes over a ceiling now: their own ceilings (when they act), at each
    // length, and the conversion breaker's (its own prefix length); each restricted under its
    // own subject.
    const over = new Map<string, { reasons: string[]; figures: Record<string, unknown> }>()
    const overPrefix = (subject: string, reasons: string[], what: Record<string, unknown>) => {
      const seen = over.get(subject)
      if (seen) {
        seen.reasons.push(...reasons)
        Object.assign(seen.figures, what)
      } else over.set(subject, { reasons: [...reasons], figures: { ...what } })
    }
    const figuresOf = (verdict: PrefixVerdict) => ({
      country: ctx.destination.country,
      risk,
      ...verdict.figures,
    })
    const prefixesOver = verdicts.filter((verdict) => verdict.reasons.length > 0)
    if (prefixMode === 'enforce') {
      for (const verdict of prefixesOver) {
        overPrefix(verdict.level.subject, verdict.reasons, figuresOf(verdict))
      }
    }
    const breakerFigures = {
      country: ctx.destination.country,
      prefix: breakerSubject.slice('prefix:'.length),
      prefixDigits: breaker.prefixDigits,
    }
    if (breaks(prefixSent, prefixEntered, breaker.minSentPerPrefix)) {
      overPrefix(
        breakerSubject,
        ['conversion.prefix'],
        withFields(breakerFigures, {
          conversionSent: round(prefixSent),
          conversionEntered: round(prefixEntered),
        }),
      )
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
    // (Most starts: none of this project's prefixes is restricted, and nothing is built.)
    const liftFigures = new Map<string, Record<string, unknown>>(
      restrictedPrefixes.size === 0
        ? []
        : [
            [breakerSubject, breakerFigures],
            ...levels.map((level): [string, Record<string, unknown>] => [
              level.subject,
              {
                country: ctx.destination.country,
                prefix: level.subject.slice('prefix:'.length),
                prefixDigits: level.digits,
              },
            ]),
            ...verdicts.map((verdict): [string, Record<string, unknown>] => [
              verdict.level.subject,
              figuresOf(verdict),
            ]),
          ],
    )
    for (const [subject, what] of liftFigures) {
      if (over.has(subject) || !restrictedPrefixes.has(subject)) continue
      const held = await restrictions.lift(
        ctx.project.id,
        subject,
        what,
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
    // Once each: several prefixes over the same ceiling are one reason (and one step of work).
    const why = [
      ...new Set([
        ...(where === 'restricted' ? restrictedBy : destination.reasons),
        ...caller.reasons,
      ]),
    ]
    // The figures of the decision log, made only for a finding (an allowed start has none).
    let made: Record<string, number> | undefined
    const numbers = () =>
      (made ??= Object.assign(
        {},
        numeric(destination.figures),
        deviceStarts !== undefined ? { deviceStarts1h: round(deviceStarts) } : {},
        { deviceVerified30d: round(deviceVerified) },
        prefixNumbers(verdicts),
      ))
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
    // What the prefixes' ceilings would change, while they are only recorded (prefix in shadow).
    if (prefixMode === 'shadow' && prefixesOver.length > 0 && where !== 'restricted') {
      const wouldWeigh = weigh('restricted', risk, acting.caller, captcha)
      if (wouldWeigh.action !== acting.action) {
        const would = wouldWeigh.action === 'probe' ? 'throttle' : wouldWeigh.action
        const prefixReasons = prefixesOver.flatMap((verdict) => verdict.reasons)
        shadowReasons.push(
          ...findingsOf(
            would,
            [...new Set([...prefixReasons, ...caller.reasons])],
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

  // A resend is another text to the same number. Into a country or prefix restricted now, only
  // a start that passed the weighing's challenge (a person who escalated, a trusted device, a
  // probe) keeps its resends: one let through while the destination was open, unchallenged, is
  // held like a new start there, else every text it got would bring four more past the ceiling.
  // The restrictions are read with the starts' (every ten seconds at most per process).
  async beforeResend(ctx, { db, logger }) {
    const settings = ctx.settings.destinations
    if (!isLive(ctx) || settings.mode === 'off' || ctx.caller.answered) return { findings: [] }
    const { phone, country } = ctx.destination
    const subjects = [
      `country:${country}`,
      `prefix:${prefixOf(phone, ctx.settings.conversion.prefixDigits)}`,
      ...(settings.prefix.mode !== 'off' ? prefixLevelsOf(ctx).map((level) => level.subject) : []),
    ]
    const restricted = await stateOf(db, logger).restrictions.anyRestricted(
      ctx.project.id,
      subjects,
      ctx.at,
    )
    if (!restricted) return { findings: [] }
    return {
      findings: [{ decision: 'block', reason: 'destination.resend_restricted', scope: 'number' }],
    }
  },

  // Counted whatever the prefix mode, so its figures are true the moment it is switched on.
  // A text to a restricted prefix is not counted at the wider ones around it (see run).
  async afterSent(ctx, { db, counters, logger }) {
    if (!isLive(ctx)) return
    const levels = prefixLevelsOf(ctx)
    const restricted =
      ctx.settings.destinations.mode === 'enforce'
        ? stateOf(db, logger).restrictions.knownRestrictedPrefixes(ctx.project.id)
        : NONE
    const subjects = levels.slice(0, countedLevels(levels, restricted)).map((l) => l.subject)
    await counters.add(sentRefs(ctx.project.id, ctx.destination.country, subjects), ctx.at)
  },

  async afterApproved(ctx, { db, counters, logger }) {
    if (!isLive(ctx)) return
    const { baselines } = stateOf(db, logger)
    const levels = prefixLevelsOf(ctx)
    await counters.add(
      verifiedRefs(
        ctx.project.id,
        ctx.destination.country,
        ctx.caller.signals?.deviceId,
        levels.map((level) => level.subject),
      ),
      ctx.at,
    )
    // A stored baseline for the country and the narrowest prefix only (two rows each): the
    // wider prefixes judge their history from the verified counters above.
    const narrowest = levels[0]
    await baselines.countVerified(
      ctx.project.id,
      [`country:${ctx.destination.country}`, ...(narrowest ? [narrowest.subject] : [])],
      ctx.at,
    )
  },
}

function findingsOf(
  action: Action,
  why: string[],
  caller: CallerClass,
  destination: ReturnType<typeof judgeDestination>,
  numbersOf: () => Record<string, number>,
  ctx: FraudContext,
): Finding[] {
  if (action === 'allow') return []
  const figures = numbersOf()
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

/**
 * The prefixes' figures for the decision log: the narrowest prefix's as `prefixSent1h`, …, each
 * wider one's with its length in the name (`prefix6Sent1h`, `prefix7RateCeiling`).
 */
function prefixNumbers(verdicts: PrefixVerdict[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [i, verdict] of verdicts.entries()) {
    for (const [key, value] of Object.entries(numeric(verdict.figures))) {
      out[i === 0 ? key : key.replace(/^prefix/, `prefix${verdict.level.digits}`)] = value
    }
  }
  return out
}

function numeric(values: object): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, value] of Object.entries(values)) if (typeof value === 'number') out[key] = value
  return out
}
