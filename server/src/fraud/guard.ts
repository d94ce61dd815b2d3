/**
 * The fraud guard: runs every {@link FraudCheck} of `checks/` before anything is sent; each
 * says allow, challenge or block with reason codes, and the enforced verdict decides what the
 * shopper gets:
 *
 * - allow: the code is sent.
 * - challenge: 428 `challenge_required` with a proof-of-work puzzle; a start that carries a
 *   solution (or the store's captcha token) goes ahead.
 * - block about the number (scope `number`): answered exactly like a normal start, but no text
 *   is sent (a decoy), so an attacker learns nothing about which numbers are blocked.
 * - block about the requester (scope `request`) or by a gate: refused with the finding's
 *   refusal (a generic 403, a 429 with Retry-After, or a 400 for an unsupported number type).
 *
 * Checks in shadow mode decide and are recorded, but never enforced. The guard knows checks
 * only by their phase and what they return, never by their names or reason codes.
 * @module
 */

import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { ApiError } from '../http/errors'
import { newId } from '../ids'
import { InFlight } from '../in-flight'
import { requestLogger } from '../logger'
import { codeLabel, fraudDecisions } from '../metrics'
import type { Database } from '../storage'
import { insertRow, type RowWriter } from '../storage/row-insert'
import { type ChallengeService, difficultyFor, verifyCaptcha } from './challenge'
import { FRAUD_CHECKS } from './checks'
import { type ContextInput, fraudContext } from './context'
import { type CounterStore, CountersUnavailableError, databaseCounters } from './counters'
import { DEFAULT_FRAUD_SETTINGS, type FraudSettings, parseFraudSettings } from './settings'
import {
  type CheckOutcome,
  type Decision,
  type Finding,
  type FraudCheck,
  type FraudContext,
  SEVERITY,
  tallyOf,
} from './types'

export type Outcome = 'sent' | 'decoy' | 'solved' | 'allowed_by_list'

export interface Assessment {
  decision: Decision
  outcome: Outcome
  reasons: string[]
  shadowReasons: string[]
  /** The enforced findings behind `reasons`, with their figures. */
  findings: Finding[]
  /** True when no text may be sent. */
  decoy: boolean
}

export interface AssessInput extends ContextInput {
  fraudSettings: string | null
  numberType: string
  challenge?: string | undefined
  captchaToken?: string | undefined
}

export interface FraudGuardOptions {
  db: Kysely<Database>
  challenges: ChallengeService
  /** Where counters live: the database unless a Redis store is given. */
  counters?: CounterStore | undefined
  /** Price of one text to `phone` (counted as `country`) on the route a live message would take. */
  routeCost?:
    | ((projectId: string, phone: string, country: string) => number | undefined)
    | undefined
  logger?: Logger | undefined
  now?: () => number
  /** The checks to run, in order; every check of `checks/` unless given. */
  checks?: readonly FraudCheck[]
}

/** Wrong codes are counted per number over this sliding window. */
export const WRONG_CODE_WINDOW_MS = 24 * 3_600_000

function worst(findings: Finding[]): Decision {
  let decision: Decision = 'allow'
  for (const f of findings) if (SEVERITY[f.decision] > SEVERITY[decision]) decision = f.decision
  return decision
}

const reasonOf = (f: Finding) => `${f.decision}:${f.reason}`

/** The error a refusing finding is answered with. */
function refusalError(finding: Finding): ApiError {
  const { code, details = {}, retryAfterMs } = finding.refusal ?? { code: 'blocked' as const }
  if (code === 'rate_limited') {
    return new ApiError(code, details, { retryAfterSeconds: (retryAfterMs ?? 60_000) / 1000 })
  }
  return new ApiError(code, details)
}

/** What {@link FraudGuard.reserveResend} decided and reserved, for the resend to settle. */
export interface ResendReservation {
  ctx: FraudContext
  /** No text may be sent. */
  decoy: boolean
  /** The `reserve` checks ran (their reservation is to be given back if no text is queued). */
  reserved: boolean
}

interface Enforced {
  check: FraudCheck
  findings: Finding[]
  warn?: string | undefined
}

export function createFraudGuard({
  db,
  challenges,
  counters = databaseCounters(db),
  routeCost,
  logger,
  now = Date.now,
  checks = FRAUD_CHECKS,
}: FraudGuardOptions) {
  const deps = { db, counters, logger }
  /** Tallies written behind answers (see afterStart), until they are. */
  const behind = new InFlight()
  const screening = checks.filter((check) => check.phase !== 'reserve')
  const reserving = checks.filter((check) => check.phase === 'reserve')
  const resendScreening = checks.filter((check) => check.beforeResend)
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
    target: RowWriter,
    ctx: FraudContext,
    event: {
      verificationId: string | null
      decision: Decision
      outcome: string
      reasons: string[]
      shadowReasons: string[]
      findings?: Finding[]
    },
  ) {
    for (const reason of event.reasons.length > 0 ? event.reasons : ['none']) {
      fraudDecisions.inc({ decision: event.decision, reason: codeLabel(reason) })
    }
    const figures = Object.fromEntries(
      (event.findings ?? []).filter((f) => f.figures).map((f) => [f.reason, f.figures]),
    )
    await insertRow(target, 'fraud_events', {
      id: newId('fev'),
      project_id: ctx.project.id,
      verification_id: event.verificationId,
      phone: ctx.destination.phone,
      country: ctx.destination.country,
      ip: ctx.caller.ip,
      decision: event.decision,
      outcome: event.outcome,
      reasons: JSON.stringify(event.reasons),
      shadow_reasons: JSON.stringify(event.shadowReasons),
      figures: Object.keys(figures).length > 0 ? JSON.stringify(figures) : null,
      created_at: ctx.at,
    })
  }

  const recordRefusal = (
    ctx: FraudContext,
    decision: Decision,
    outcome: string,
    reasons: string[],
    shadowReasons: string[],
    findings?: Finding[],
  ) =>
    logEvent(db, ctx, { verificationId: null, decision, outcome, reasons, shadowReasons, findings })

  // The input is passed as it is, never spread into a copy with a field more (see
  // ../with-fields.ts): `answered` goes beside it.
  const contextOf = (
    input: ContextInput & { fraudSettings: string | null },
    answered?: boolean,
  ): FraudContext =>
    fraudContext(input, {
      settings: settingsOf(input.fraudSettings),
      at: now(),
      routeCost,
      answered,
    })

  /** Runs `list` in order; what enforcing checks found, shadow reasons, and an enforced allow. */
  async function runChecks(
    list: readonly FraudCheck[],
    ctx: FraudContext,
    run = (check: FraudCheck) => check.run(ctx, deps),
  ) {
    const enforced: Enforced[] = []
    const shadowReasons: string[] = []
    let allow: string | undefined
    // Side by side: their counters then share one round trip (see databaseCounters).
    const outcomes = await Promise.all(list.map(run))
    for (const [i, check] of list.entries()) {
      const mode = check.mode(ctx.settings)
      const outcome = outcomes[i] as CheckOutcome
      if (mode === 'shadow') shadowReasons.push(...outcome.findings.map(reasonOf))
      if (mode !== 'off') shadowReasons.push(...(outcome.shadowReasons ?? []))
      if (mode !== 'enforce') continue
      enforced.push({ check, findings: outcome.findings, warn: outcome.warn })
      allow ??= outcome.allow
    }
    return { enforced, shadowReasons, allow }
  }

  async function afterSent(ctx: FraudContext) {
    await Promise.all(checks.map((check) => check.afterSent?.(ctx, deps)))
  }

  /**
   * Gives back what the `reserve` checks reserved with `ctx`, for a text that is not sent. Never
   * throws: a release that fails is logged (the caps then keep that cost). A decoy's answer does
   * not wait for it (the in-memory counters give back at once; no slower answer tells a decoy
   * apart); whatever awaits the returned promise has it done.
   */
  function giveBack(ctx: FraudContext): Promise<void> {
    const released = Promise.allSettled(reserving.map((check) => check.release?.(ctx, deps))).then(
      (results) => {
        for (const result of results) {
          if (result.status === 'rejected') {
            requestLogger(logger, ctx.request)?.warn(
              { err: result.reason },
              'fraud guard: could not give back the cost of a text not sent',
            )
          }
        }
      },
    )
    return behind.track(released)
  }

  return {
    settingsOf,

    /**
     * Runs every check for a start. Returns the assessment when the start may go ahead (sent
     * or decoy); throws the ApiError the shopper gets otherwise (challenge or refusal).
     */
    async assess(input: AssessInput): Promise<Assessment & { ctx: FraudContext }> {
      const ctx = contextOf(
        input,
        input.challenge !== undefined || input.captchaToken !== undefined,
      )
      // Every check runs whatever the others say: equal work keeps answers equal in timing.
      const { enforced: screened, shadowReasons, allow } = await runChecks(screening, ctx)

      const gate = screened
        .filter((r) => r.check.phase === 'gate')
        .flatMap((r) => r.findings)
        .find((f) => f.decision === 'block')
      if (gate) {
        await recordRefusal(ctx, 'block', 'refused', [gate.reason], shadowReasons)
        throw refusalError(gate)
      }

      // An enforced allow (a list entry) lifts every screening finding.
      const enforced = screened
        .filter((r) => !(allow && r.check.phase === 'screen'))
        .flatMap((r) => r.findings)
      let decision = worst(enforced)
      let outcome: Outcome = allow ? 'allowed_by_list' : 'sent'
      const reasons = enforced.map(reasonOf)
      if (allow) reasons.push(`allow:${allow}`)

      if (decision === 'challenge') {
        const asking = enforced.filter((f) => f.decision === 'challenge')
        // The work grows with the reasons, and is at least what a priced finding asks.
        const required = Math.max(
          difficultyFor(asking.length, ctx.settings.challenge),
          ...asking.map((f) => Math.min(f.difficulty ?? 0, ctx.settings.challenge.maxDifficulty)),
        )
        const captcha = ctx.settings.challenge.captcha
        // At high risk, a store with Turnstile or hCaptcha gets the interactive step only.
        const interactive = captcha !== undefined && asking.some((f) => f.interactive)
        let solved = false
        if (input.challenge && !interactive) {
          solved = await challenges.redeem(
            input.challenge,
            ctx.project.id,
            required,
            ctx.at,
            ctx.destination.phone,
          )
        }
        if (!solved && captcha && input.captchaToken) {
          solved = await verifyCaptcha(captcha, input.captchaToken, ctx.caller.ip)
        }
        if (!solved) {
          await recordRefusal(ctx, decision, 'challenged', reasons, shadowReasons, enforced)
          throw new ApiError('challenge_required', {
            challenge: await challenges.issue(
              ctx.project.id,
              required,
              ctx.at,
              ctx.destination.phone,
            ),
            ...(interactive ? { captcha: { provider: captcha.provider } } : {}),
          })
        }
        outcome = 'solved'
      }

      // Money last: only a start that would really be sent reserves its cost. A decoy does the
      // same work, so it answers in the same time: its cost goes to a tally of what was saved.
      if (decision === 'block') {
        await runChecks(reserving, tallyOf(ctx, 'saved'))
      } else {
        const reserved = await runChecks(reserving, ctx)
        shadowReasons.push(...reserved.shadowReasons)
        for (const { findings, warn } of reserved.enforced) {
          if (findings.length === 0) continue
          enforced.push(...findings)
          reasons.push(...findings.map(reasonOf))
          decision = 'block'
          if (warn) {
            requestLogger(logger, ctx.request)?.warn(
              {
                projectId: ctx.project.id,
                country: ctx.destination.country,
                reasons: findings.map((f) => f.reason),
              },
              warn,
            )
          }
        }
        // Over a cap: no text goes, so the cost it reserved is given back (the caps count only
        // what is sent). Kept, it would fill the project's cap with texts never sent: a pumped
        // country at its own cap would go on charging the project for its decoys until every
        // other country's shoppers were refused for the day.
        if (decision === 'block') void giveBack(ctx)
      }

      const findings = enforced
      if (decision === 'block') {
        const refusing = enforced.find((f) => f.decision === 'block' && f.scope === 'request')
        if (refusing) {
          await recordRefusal(ctx, decision, 'refused', reasons, shadowReasons, enforced)
          throw refusalError(refusing)
        }
        return { ctx, decision, outcome: 'decoy', reasons, shadowReasons, findings, decoy: true }
      }
      return { ctx, decision, outcome, reasons, shadowReasons, findings, decoy: false }
    },

    /**
     * Before a resend: the checks that hold a resend to what a start would get now (a
     * restricted destination), then its cost reserved against the daily caps. `answered`: the
     * start passed a challenge. `decoy` is true when the resend becomes a decoy, false to send.
     * The resend then either queues its text and calls {@link afterResend} (counted as a code
     * sent), or queues none (it lost a race) and calls {@link releaseResend}.
     */
    async reserveResend(
      input: Omit<AssessInput, 'numberType' | 'challenge' | 'captchaToken'> & {
        answered: boolean
      },
    ): Promise<ResendReservation> {
      const ctx = contextOf(input, input.answered)
      const held = await runChecks(resendScreening, ctx, (check) =>
        (check.beforeResend as NonNullable<FraudCheck['beforeResend']>)(ctx, deps),
      )
      const holding = held.enforced.flatMap((r) => r.findings).filter((f) => f.decision === 'block')
      const reserved = holding.length > 0 ? undefined : await runChecks(reserving, ctx)
      const overCap = reserved?.enforced.flatMap((r) => r.findings) ?? []
      // A resend over a cap sends nothing: what it reserved goes back at once, as for a start.
      if (overCap.length > 0) void giveBack(ctx)
      const findings = [...holding, ...overCap]
      if (findings.length > 0) {
        await recordRefusal(
          ctx,
          'block',
          'resend_suppressed',
          findings.map(reasonOf),
          held.shadowReasons,
          findings,
        )
      }
      return {
        ctx,
        decoy: findings.length > 0,
        reserved: reserved !== undefined && overCap.length === 0,
      }
    },

    /** A resend's text was queued: counted as a code sent (unless a decoy). Never throws. */
    async afterResend(reservation: ResendReservation): Promise<void> {
      if (reservation.decoy) return
      await afterSent(reservation.ctx).catch((error: unknown) => {
        requestLogger(logger, reservation.ctx.request)?.warn(
          { err: error },
          'fraud guard: could not count a text sent',
        )
      })
    },

    /**
     * A resend queued no text after all (another resend, a check or a cancel changed the
     * verification first): what it reserved is given back, exactly, so the caps count only what
     * was sent. Never throws: a release that fails is logged (the caps then keep it, as before).
     */
    async releaseResend(reservation: ResendReservation): Promise<void> {
      if (!reservation.reserved) return
      await giveBack(reservation.ctx)
    },

    /**
     * A start assessed but not written after all (another request with its Idempotency-Key
     * won the race and is replayed instead, or the write failed): what it reserved is given
     * back, so the caps count only what was sent. Never throws.
     */
    async releaseStart(assessment: Assessment & { ctx: FraudContext }): Promise<void> {
      // A decoy reserved nothing (its cost went to the saved tally, or was given back).
      if (assessment.decoy) return
      await giveBack(assessment.ctx)
    },

    /** Records the decision with the verification it produced (inside its transaction). */
    async record(
      trx: RowWriter,
      assessment: Assessment & { ctx: FraudContext },
      verificationId: string,
    ) {
      await logEvent(trx, assessment.ctx, {
        verificationId,
        decision: assessment.decision,
        outcome: assessment.outcome,
        reasons: assessment.reasons,
        shadowReasons: assessment.shadowReasons,
        findings: assessment.findings,
      })
    },

    /**
     * After the start committed: a real text counts towards the conversion rates. Written
     * behind the answer (the shopper does not wait for a tally); the promise never rejects: a
     * failure is logged. Tallies of this process keep their order with every other counter call
     * (one queue), and close() waits for those still being written.
     */
    afterStart(assessment: Assessment & { ctx: FraudContext }): Promise<void> {
      // Decoys are counted apart (same work, so the same timing), never as codes sent.
      const tally = afterSent(
        assessment.decoy ? tallyOf(assessment.ctx, 'decoy') : assessment.ctx,
      ).catch((error: unknown) => {
        requestLogger(logger, assessment.ctx.request)?.warn(
          { err: error },
          'fraud guard: could not count a text sent',
        )
      })
      return behind.track(tally)
    },

    /**
     * After the right code was entered. Never throws: the verification is approved by then, and
     * a tally that could not be written (Redis away, say) is logged rather than cost the shopper
     * their token.
     */
    async afterApproved(input: Omit<AssessInput, 'numberType' | 'ip'>) {
      // No `ip` in the input: the caller is unknown here.
      const ctx = contextOf(input)
      const tallies = await Promise.allSettled(
        checks.map((check) => check.afterApproved?.(ctx, deps)),
      )
      for (const tally of tallies) {
        if (tally.status === 'rejected') {
          logger?.warn({ err: tally.reason }, 'fraud guard: could not count a code entered')
        }
      }
    },

    /** One round trip to the counter store: throws when it cannot be reached. */
    checkCounters: async () => {
      await counters.read([{ key: 'health', windowMs: 60_000 }], now())
    },

    /** Waits for the tallies still being written, then closes the counter store (Redis). */
    close: async () => {
      await behind.settled()
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

    /**
     * Counts a wrong code for this number. Undefined, and logged, when the counter store cannot
     * be reached: the code was judged already, so the shopper is still told it was wrong.
     */
    async countWrongCode(projectId: string, phone: string): Promise<number | undefined> {
      try {
        const [value] = await counters.hit(
          [{ key: `wrong:${projectId}:${phone}`, windowMs: WRONG_CODE_WINDOW_MS }],
          now(),
        )
        return value ?? 0
      } catch (error) {
        if (!(error instanceof CountersUnavailableError)) throw error
        logger?.warn({ err: error }, 'fraud guard: could not count a wrong code')
        return undefined
      }
    },
  }
}

export type FraudGuard = ReturnType<typeof createFraudGuard>
