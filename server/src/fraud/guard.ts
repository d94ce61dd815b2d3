/**
 * The fraud guard: every check runs before anything is sent, each says allow, challenge or
 * block with reason codes, and the enforced verdict decides what the shopper gets:
 *
 * - allow: the code is sent.
 * - challenge: 428 `challenge_required` with a proof-of-work puzzle; a start that carries a
 *   solution (or the store's captcha token) goes ahead.
 * - block about the number (lists, velocity per number/prefix/country, conversion, country
 *   spend): answered exactly like a normal start, but no text is sent (a decoy), so an attacker
 *   learns nothing about which numbers are blocked.
 * - block about the requester (IP lists, IP/network/project velocity, project spend cap):
 *   a generic 429 or 403.
 *
 * Checks in shadow mode decide and are recorded, but never enforced.
 * @module
 */
import type { CallerSignals } from '@textgate/shared'
import type { Kysely, Transaction } from 'kysely'
import type { Logger } from 'pino'
import { ApiError } from '../http/errors'
import { newId } from '../ids'
import type { Database } from '../storage'
import { type ChallengeService, difficultyFor, verifyCaptcha } from './challenge'
import { judgeCaller } from './checks/caller'
import { conversionCheck, countEntered, countSent } from './checks/conversion'
import {
  destinationHitRefs,
  destinationReadRefs,
  judgeDestination,
  verifiedRefs,
} from './checks/destination'
import { listsCheck } from './checks/lists'
import { numberTypeCheck } from './checks/number-type'
import { spendCheck } from './checks/spend'
import { velocityCheck } from './checks/velocity'
import { type CounterStore, databaseCounters } from './counters'
import { createBaselines } from './destinations/baseline'
import { createRestrictions } from './events'
import { prefixOf } from './network'
import { pricedDifficulty } from './pricing'
import {
  DEFAULT_FRAUD_SETTINGS,
  durationMs,
  type FraudSettings,
  parseFraudSettings,
} from './settings'
import { type CheckResult, type Decision, type Finding, type FraudContext, SEVERITY } from './types'
import { type Weighing, weigh } from './weigh'

export type Outcome = 'sent' | 'decoy' | 'solved' | 'allowed_by_list'

export interface Assessment {
  decision: Decision
  outcome: Outcome
  reasons: string[]
  shadowReasons: string[]
  /** True when no text may be sent. */
  decoy: boolean
  /** The figures behind the reasons (destination counts and ceilings, caller class, work asked). */
  figures: Record<string, unknown>
}

export interface AssessInput {
  projectId: string
  fraudSettings: string | null
  mode: FraudContext['mode']
  phone: string
  country: string
  numberType: string
  ip: string | null
  challenge?: string | undefined
  captchaToken?: string | undefined
  signals?: CallerSignals | undefined
  userAgent?: string | null | undefined
}

export interface FraudGuardOptions {
  db: Kysely<Database>
  challenges: ChallengeService
  /** Where counters live: the database unless a Redis store is given. */
  counters?: CounterStore | undefined
  /** Price of one text to `phone` on the route a live message of the project would take. */
  routeCost?: ((projectId: string, phone: string) => number | undefined) | undefined
  logger?: Logger | undefined
  now?: () => number
}

const WRONG_CODE_WINDOW_MS = 24 * 3_600_000

function worst(findings: Finding[]): Decision {
  let decision: Decision = 'allow'
  for (const f of findings) if (SEVERITY[f.decision] > SEVERITY[decision]) decision = f.decision
  return decision
}

export function createFraudGuard({
  db,
  challenges,
  counters = databaseCounters(db),
  routeCost,
  logger,
  now = Date.now,
}: FraudGuardOptions) {
  const deps = { db, counters }
  const baselines = createBaselines(db)
  const restrictions = createRestrictions(db, logger)
  const settingsCache = new Map<string, FraudSettings>()
  function settingsOf(json: string | null): FraudSettings {
    if (json === null) return DEFAULT_FRAUD_SETTINGS
    let settings = settingsCache.get(json)
    if (!settings) {
      settings = parseFraudSettings(json)
      if (settingsCache.size > 1000) settingsCache.clear()
      settingsCache.set(json, settings)
    }
    return settings
  }

  /** One row of the decision log; `verificationId` is null for refusals and challenges. */
  async function logEvent(
    target: Transaction<Database> | Kysely<Database>,
    ctx: FraudContext,
    event: {
      verificationId: string | null
      decision: Decision
      outcome: string
      reasons: string[]
      shadowReasons: string[]
      figures?: Record<string, unknown> | undefined
    },
  ) {
    await target
      .insertInto('fraud_events')
      .values({
        id: newId('fev'),
        project_id: ctx.projectId,
        verification_id: event.verificationId,
        phone: ctx.phone,
        country: ctx.country,
        ip: ctx.ip,
        decision: event.decision,
        outcome: event.outcome,
        reasons: JSON.stringify(event.reasons),
        shadow_reasons: JSON.stringify(event.shadowReasons),
        figures: event.figures ? JSON.stringify(event.figures) : null,
        created_at: ctx.at,
      })
      .execute()
  }

  const recordRefusal = (
    ctx: FraudContext,
    decision: Decision,
    outcome: string,
    reasons: string[],
    shadowReasons: string[],
    figures?: Record<string, unknown>,
  ) =>
    logEvent(db, ctx, { verificationId: null, decision, outcome, reasons, shadowReasons, figures })

  /** What every check sees: the request, the project's settings, the clock and the route price. */
  function contextOf(
    input: Omit<
      AssessInput,
      'challenge' | 'captchaToken' | 'numberType' | 'signals' | 'userAgent'
    > & {
      numberType?: string
    },
  ): FraudContext {
    return {
      projectId: input.projectId,
      mode: input.mode,
      phone: input.phone,
      country: input.country,
      numberType: input.numberType ?? 'mobile',
      ip: input.ip,
      at: now(),
      settings: settingsOf(input.fraudSettings),
      routeCost: input.mode === 'live' ? routeCost?.(input.projectId, input.phone) : undefined,
    }
  }

  /**
   * Destination risk and caller signals, weighed together (see weigh.ts): the findings to
   * enforce, the reasons recorded in shadow, the figures, and the price of a challenge.
   */
  async function weighDestinationAndCaller(
    ctx: FraudContext,
    input: AssessInput,
    conversionResult: CheckResult | undefined,
  ) {
    const destinations = ctx.settings.destinations
    const callers = ctx.settings.callers
    const none = {
      enforcing: false,
      findings: [] as Finding[],
      shadowReasons: [] as string[],
      figures: {} as Record<string, unknown>,
      action: 'allow' as Weighing['action'],
      price: undefined as
        | { cost: number; risk: 'low' | 'medium' | 'high'; caller: Weighing['caller'] }
        | undefined,
      probeSubject: undefined as string | undefined,
    }
    // Test keys only ever text the sandbox: nothing to pump, nothing to weigh.
    if (ctx.mode !== 'live') return none
    if (destinations.mode === 'off' && callers.mode === 'off') return none
    const deviceId = input.signals?.deviceId
    const [hits, reads, baseline] = await Promise.all([
      counters.hit(destinationHitRefs(ctx, deviceId), ctx.at),
      counters.read(destinationReadRefs(ctx, deviceId), ctx.at),
      baselines.of(ctx.projectId, `country:${ctx.country}`, ctx.at),
    ])
    const caller = judgeCaller(
      input.signals,
      input.userAgent,
      { deviceStarts1h: hits[1], deviceVerified30d: reads[4] },
      callers,
    )
    const destination = judgeDestination(
      ctx,
      {
        starts1h: hits[0] ?? 0,
        sent1h: reads[0] ?? 0,
        sent24h: reads[1] ?? 0,
        verified24h: reads[2] ?? 0,
        spentMicro: reads[3] ?? 0,
      },
      baseline,
    )
    // The conversion breaker restricts the country or the number's prefix.
    const conversion =
      conversionResult?.mode === 'enforce'
        ? conversionResult.findings.filter((f) => f.decision === 'block').map((f) => f.reason)
        : []
    const countrySubject = `country:${ctx.country}`
    const prefixSubject = `prefix:${prefixOf(ctx.phone, ctx.settings.conversion.prefixDigits)}`
    const restrictedBy = [
      ...destination.reasons.filter((r) => r !== `destination.cold.${destination.figures.risk}`),
    ]
    if (conversion.includes('conversion.country')) restrictedBy.push('conversion.country')
    let state = destination.state
    let probeSubject: string | undefined
    const enforcing = destinations.mode === 'enforce'
    const firstProbeMs = durationMs(destinations.firstProbeAfter)
    if (enforcing) {
      const countryFigures = { country: ctx.country, ...destination.figures }
      if (restrictedBy.length > 0) {
        state = 'restricted'
        probeSubject = countrySubject
        await restrictions.restrict(
          ctx.projectId,
          countrySubject,
          restrictedBy,
          countryFigures,
          ctx.at,
          firstProbeMs,
        )
      } else {
        const held = await restrictions.lift(
          ctx.projectId,
          countrySubject,
          countryFigures,
          ctx.at,
          durationMs(destinations.minRestriction),
        )
        if (held) {
          state = 'restricted'
          probeSubject = countrySubject
          restrictedBy.push('destination.held')
        }
      }
      if (conversion.includes('conversion.prefix')) {
        const prefixFigures = { prefix: prefixSubject.slice(7), ...destination.figures }
        await restrictions.restrict(
          ctx.projectId,
          prefixSubject,
          ['conversion.prefix'],
          prefixFigures,
          ctx.at,
          firstProbeMs,
        )
        restrictedBy.push('conversion.prefix')
        state = 'restricted'
        probeSubject ??= prefixSubject
      }
    } else if (restrictedBy.length > 0) {
      state = 'restricted'
    }
    const real = weigh(state, destination.figures.risk, caller.class)
    const acted = weigh(
      enforcing ? state : 'open',
      destination.figures.risk,
      callers.mode === 'enforce' ? caller.class : 'human',
    )
    const why = [
      ...(state === 'restricted' ? restrictedBy : destination.reasons),
      ...caller.reasons,
    ]
    const findingsOf = (w: Weighing): Finding[] => {
      if (w.action === 'allow') return []
      const decision = w.action === 'decoy' ? 'block' : 'challenge'
      const reasons = why.length > 0 ? why : [`destination.${w.destination}`]
      return [
        ...reasons.map((reason) => ({ decision, reason, scope: 'number' }) as Finding),
        ...(w.action === 'escalate'
          ? [{ decision, reason: 'caller.escalated', scope: 'number' } as Finding]
          : []),
      ]
    }
    const findings = findingsOf(acted)
    const shadowReasons: string[] = []
    if (real.action !== acted.action) {
      shadowReasons.push(...findingsOf(real).map((f) => `${f.decision}:${f.reason}`))
      if (shadowReasons.length === 0) shadowReasons.push(`allow:weigh.${real.action}`)
    }
    // A probe is only due now and then: otherwise the caller the guard is unsure of gets a decoy.
    let action = acted.action
    if (action === 'probe') {
      const due =
        probeSubject !== undefined &&
        (await restrictions.probeDue(ctx.projectId, probeSubject, ctx.at))
      if (!due) {
        action = 'decoy'
        findings.splice(0, findings.length, ...findingsOf({ ...acted, action: 'decoy' }))
      }
    }
    return {
      enforcing,
      findings,
      shadowReasons,
      figures: {
        destination: { country: ctx.country, state, ...destination.figures },
        caller: {
          class: caller.class,
          deviceStarts1h: hits[1],
          deviceVerified30d: reads[4],
        },
        action: enforcing || callers.mode === 'enforce' ? action : 'allow',
      },
      action,
      price: {
        cost: destination.figures.cost,
        risk: destination.figures.risk,
        caller: acted.caller,
      },
      probeSubject,
    }
  }

  return {
    settingsOf,

    /**
     * Runs every check for a start. Returns the assessment when the start may go ahead (sent
     * or decoy); throws the ApiError the shopper gets otherwise (challenge or refusal).
     */
    async assess(input: AssessInput): Promise<Assessment & { ctx: FraudContext }> {
      const ctx = contextOf(input)
      const results: CheckResult[] = [numberTypeCheck(ctx)]
      const lists = await listsCheck(ctx, deps)
      results.push(lists)
      // Every check runs whatever the lists say: equal work keeps answers equal in timing.
      if (ctx.settings.velocity.mode !== 'off') results.push(await velocityCheck(ctx, deps))
      const conversion =
        ctx.settings.conversion.mode !== 'off' ? await conversionCheck(ctx, deps) : undefined
      if (conversion) results.push(conversion)
      const risk = await weighDestinationAndCaller(ctx, input, conversion)
      const listed = lists.allowedBy !== undefined && lists.mode === 'enforce'

      const enforced: Finding[] = []
      const shadowReasons: string[] = [...risk.shadowReasons]
      for (const result of results) {
        if (result.mode === 'off') continue
        if (result.mode === 'shadow') {
          for (const f of result.findings) shadowReasons.push(`${f.decision}:${f.reason}`)
          continue
        }
        // An allow-list entry lifts every finding but the number type's.
        if (listed && result.check !== 'number_type') continue
        for (const f of result.findings) {
          // A breaker restricts the destination; what a caller gets there is weighed below.
          if (risk.enforcing && result.check === 'conversion' && f.decision === 'block') continue
          enforced.push(f)
        }
      }
      if (!listed) enforced.push(...risk.findings)

      const typeFinding = enforced.find((f) => f.reason.startsWith('number_type.'))
      if (typeFinding) {
        await recordRefusal(ctx, 'block', 'refused', [typeFinding.reason], shadowReasons)
        throw new ApiError('unsupported_number_type', {
          numberType: ctx.numberType,
        })
      }

      let decision = worst(enforced)
      let outcome: Outcome = listed ? 'allowed_by_list' : 'sent'
      const reasons = enforced.map((f) => `${f.decision}:${f.reason}`)
      if (outcome === 'allowed_by_list') reasons.push(`allow:${lists.allowedBy}`)
      const figures: Record<string, unknown> = { ...risk.figures }

      if (decision === 'challenge') {
        const challengeReasons = enforced.filter((f) => f.decision === 'challenge').length
        const escalated = !listed && (risk.action === 'escalate' || risk.action === 'probe')
        const required = Math.max(
          difficultyFor(challengeReasons, ctx.settings.challenge),
          ctx.settings.challenge.priced && risk.price
            ? pricedDifficulty({ ...risk.price, escalated }, ctx.settings.challenge)
            : 0,
        )
        const captcha = ctx.settings.challenge.captcha
        // An escalation at a store with Turnstile or hCaptcha is the interactive step only.
        const captchaOnly = escalated && captcha !== undefined
        figures.difficulty = required
        if (captchaOnly) figures.captcha = captcha.provider
        let solved = false
        if (input.challenge && !captchaOnly) {
          solved = await challenges.redeem(input.challenge, ctx.projectId, required, ctx.at)
        }
        if (!solved && captcha && input.captchaToken) {
          solved = await verifyCaptcha(captcha, input.captchaToken, ctx.ip)
        }
        if (!solved) {
          await recordRefusal(ctx, decision, 'challenged', reasons, shadowReasons, figures)
          throw new ApiError('challenge_required', {
            challenge: await challenges.issue(ctx.projectId, required, ctx.at),
            ...(captchaOnly ? { captcha: { provider: captcha.provider } } : {}),
          })
        }
        outcome = 'solved'
        // Half-open: one solved probe per interval goes through; the others get a decoy.
        if (risk.action === 'probe' && risk.probeSubject) {
          const probe = await restrictions.takeProbe(
            ctx.projectId,
            risk.probeSubject,
            ctx.at,
            durationMs(ctx.settings.destinations.firstProbeAfter),
          )
          if (probe) reasons.push('allow:destination.probe')
          else {
            reasons.push('block:destination.probe_taken')
            decision = 'block'
          }
        }
      }

      // Money last: only a start that would really be sent reserves its cost.
      if (decision !== 'block') {
        const spend = await spendCheck(ctx, deps)
        if (spend.mode === 'shadow') {
          for (const f of spend.findings) shadowReasons.push(`${f.decision}:${f.reason}`)
        } else if (spend.mode === 'enforce' && spend.findings.length > 0) {
          enforced.push(...spend.findings)
          reasons.push(...spend.findings.map((f) => `${f.decision}:${f.reason}`))
          decision = 'block'
          logger?.warn(
            {
              projectId: ctx.projectId,
              country: ctx.country,
              reasons: spend.findings.map((f) => f.reason),
            },
            'fraud guard: daily spend cap reached',
          )
        }
      } else {
        // A decoy does the same work as a real start, so it answers in the same time: its
        // cost goes to a counter of what the guard saved.
        await spendCheck({ ...ctx, projectId: `${ctx.projectId}:saved` }, deps)
      }

      if (decision === 'block') {
        const requestFinding = enforced.find((f) => f.decision === 'block' && f.scope === 'request')
        if (requestFinding) {
          await recordRefusal(ctx, decision, 'refused', reasons, shadowReasons, figures)
          if (requestFinding.reason.startsWith('velocity.')) {
            throw new ApiError(
              'rate_limited',
              {},
              {
                retryAfterSeconds: (requestFinding.retryAfterMs ?? 60_000) / 1000,
              },
            )
          }
          throw new ApiError('blocked')
        }
        return { ctx, decision, outcome: 'decoy', reasons, shadowReasons, decoy: true, figures }
      }
      return { ctx, decision, outcome, reasons, shadowReasons, decoy: false, figures }
    },

    /**
     * Before a resend: reserves its cost against the daily caps and counts it as a code sent.
     * Returns true when a cap is reached (the resend becomes a decoy), false to send.
     */
    async reserveResend(
      input: Omit<AssessInput, 'numberType' | 'challenge' | 'captchaToken'>,
    ): Promise<boolean> {
      const ctx = contextOf(input)
      const spend = await spendCheck(ctx, deps)
      const blocked = spend.mode === 'enforce' && spend.findings.length > 0
      if (blocked) {
        await recordRefusal(
          ctx,
          'block',
          'resend_suppressed',
          spend.findings.map((f) => `block:${f.reason}`),
          [],
        )
      } else {
        await countSent(deps, ctx)
      }
      return blocked
    },

    /** Records the decision with the verification it produced (inside its transaction). */
    async record(
      trx: Transaction<Database> | Kysely<Database>,
      assessment: Assessment & { ctx: FraudContext },
      verificationId: string,
    ) {
      await logEvent(trx, assessment.ctx, {
        verificationId,
        decision: assessment.decision,
        outcome: assessment.outcome,
        reasons: assessment.reasons,
        shadowReasons: assessment.shadowReasons,
      })
    },

    /** After the start committed: a real text counts towards the conversion rates. */
    async afterStart(assessment: Assessment & { ctx: FraudContext }) {
      const { ctx } = assessment
      // Decoys are counted apart (same work, so the same timing), never as codes sent.
      await countSent(
        deps,
        assessment.decoy ? { ...ctx, projectId: `${ctx.projectId}:decoy` } : ctx,
      )
    },

    async afterApproved(input: {
      projectId: string
      fraudSettings: string | null
      phone: string
      country: string
      deviceId?: string | undefined
    }) {
      const at = now()
      const settings = settingsOf(input.fraudSettings)
      await countEntered(
        deps,
        { ...input, at, settings },
        verifiedRefs(input.projectId, input.country, input.deviceId),
      )
      await baselines.countVerified(
        input.projectId,
        [
          `country:${input.country}`,
          `prefix:${prefixOf(input.phone, settings.conversion.prefixDigits)}`,
        ],
        at,
      )
    },

    /** One round trip to the counter store: throws when it cannot be reached. */
    checkCounters: async () => {
      await counters.read([{ key: 'health', windowMs: 60_000 }], now())
    },

    /** Closes the counter store's connection (Redis). */
    close: async () => {
      await counters.close?.()
    },

    /** Wrong codes for this number across all its verifications in the last 24 h. */
    async wrongCodes(projectId: string, phone: string): Promise<number> {
      const [value] = await counters.read(
        [{ key: `wrong:${projectId}:${phone}`, windowMs: WRONG_CODE_WINDOW_MS }],
        now(),
      )
      return value ?? 0
    },

    async countWrongCode(projectId: string, phone: string): Promise<number> {
      const [value] = await counters.hit(
        [{ key: `wrong:${projectId}:${phone}`, windowMs: WRONG_CODE_WINDOW_MS }],
        now(),
      )
      return value ?? 0
    },
  }
}

export type FraudGuard = ReturnType<typeof createFraudGuard>
