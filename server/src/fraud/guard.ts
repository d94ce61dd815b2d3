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
import type { Kysely, Transaction } from 'kysely'
import type { Logger } from 'pino'
import { ApiError } from '../http/errors'
import { newId } from '../ids'
import type { Database } from '../storage'
import { type ChallengeService, difficultyFor, verifyCaptcha } from './challenge'
import { conversionCheck, countEntered, countSent } from './checks/conversion'
import { listsCheck } from './checks/lists'
import { numberTypeCheck } from './checks/number-type'
import { spendCheck } from './checks/spend'
import { velocityCheck } from './checks/velocity'
import { type CounterStore, databaseCounters } from './counters'
import { DEFAULT_FRAUD_SETTINGS, type FraudSettings, parseFraudSettings } from './settings'
import { type CheckResult, type Decision, type Finding, type FraudContext, SEVERITY } from './types'

export type Outcome = 'sent' | 'decoy' | 'solved' | 'allowed_by_list'

export interface Assessment {
  decision: Decision
  outcome: Outcome
  reasons: string[]
  shadowReasons: string[]
  /** True when no text may be sent. */
  decoy: boolean
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
  ) => logEvent(db, ctx, { verificationId: null, decision, outcome, reasons, shadowReasons })

  /** What every check sees: the request, the project's settings, the clock and the route price. */
  function contextOf(
    input: Omit<AssessInput, 'challenge' | 'captchaToken' | 'numberType'> & { numberType?: string },
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
      if (ctx.settings.conversion.mode !== 'off') results.push(await conversionCheck(ctx, deps))

      const enforced: Finding[] = []
      const shadowReasons: string[] = []
      for (const result of results) {
        if (result.mode === 'off') continue
        if (result.mode === 'shadow') {
          for (const f of result.findings) shadowReasons.push(`${f.decision}:${f.reason}`)
          continue
        }
        // An allow-list entry lifts every finding but the number type's.
        if (lists.allowedBy && lists.mode === 'enforce' && result.check !== 'number_type') {
          continue
        }
        enforced.push(...result.findings)
      }

      const typeFinding = enforced.find((f) => f.reason.startsWith('number_type.'))
      if (typeFinding) {
        await recordRefusal(ctx, 'block', 'refused', [typeFinding.reason], shadowReasons)
        throw new ApiError('unsupported_number_type', {
          numberType: ctx.numberType,
        })
      }

      let decision = worst(enforced)
      let outcome: Outcome =
        lists.allowedBy && lists.mode === 'enforce' ? 'allowed_by_list' : 'sent'
      const reasons = enforced.map((f) => `${f.decision}:${f.reason}`)
      if (outcome === 'allowed_by_list') reasons.push(`allow:${lists.allowedBy}`)

      if (decision === 'challenge') {
        const required = difficultyFor(
          enforced.filter((f) => f.decision === 'challenge').length,
          ctx.settings.challenge,
        )
        let solved = false
        if (input.challenge) {
          solved = await challenges.redeem(input.challenge, ctx.projectId, required, ctx.at)
        }
        const captcha = ctx.settings.challenge.captcha
        if (!solved && captcha && input.captchaToken) {
          solved = await verifyCaptcha(captcha, input.captchaToken, ctx.ip)
        }
        if (!solved) {
          await recordRefusal(ctx, decision, 'challenged', reasons, shadowReasons)
          throw new ApiError('challenge_required', {
            challenge: await challenges.issue(ctx.projectId, required, ctx.at),
          })
        }
        outcome = 'solved'
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
          await recordRefusal(ctx, decision, 'refused', reasons, shadowReasons)
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
        return { ctx, decision, outcome: 'decoy', reasons, shadowReasons, decoy: true }
      }
      return { ctx, decision, outcome, reasons, shadowReasons, decoy: false }
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
    }) {
      await countEntered(deps, { ...input, at: now(), settings: settingsOf(input.fraudSettings) })
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
