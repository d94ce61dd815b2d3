/**
 * What a fraud check is, what it sees and what it says. Every check is a {@link FraudCheck} in
 * `checks/<id>.ts`, listed once in `checks/index.ts`; the guard runs the list and never looks at a
 * check's name or its reason codes.
 * @module
 */
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { RequestLogContext } from '../logger'
import type { Database, KeyMode } from '../storage'
import { withFields } from '../with-fields'
import type { CounterStore } from './counters'
import type { CheckMode, FraudSettings } from './settings'

export type Decision = 'allow' | 'challenge' | 'block'

export const SEVERITY: Record<Decision, number> = { allow: 0, challenge: 1, block: 2 }

/** How a refused start is answered: an API error code and its details. Default `blocked`. */
export interface Refusal {
  code: 'blocked' | 'rate_limited' | 'unsupported_number_type'
  details?: Record<string, unknown>
  /** For `rate_limited`: the Retry-After. */
  retryAfterMs?: number
}

/**
 * One thing a check found. `block` with scope `number` is a decoy (answered like a normal
 * start, nothing sent); `block` with scope `request` refuses the start with its `refusal`.
 */
export interface Finding {
  decision: Exclude<Decision, 'allow'>
  /** Stable reason code, e.g. `velocity.prefix3.1h`, `list.block.ip`, `conversion.country`. */
  reason: string
  /**
   * `number`: about the phone number (answered like a normal start, so numbers cannot be
   * told apart); `request`: about who is asking (answered with a refusal).
   */
  scope: 'number' | 'request'
  /** How the start is refused when this finding refuses it; `blocked` when absent. */
  refusal?: Refusal
  /** The figures behind the finding (a count and its limit, a rate), for the decision log. */
  figures?: Record<string, number>
  /** For a challenge: the proof-of-work difficulty this finding asks at least (priced). */
  difficulty?: number
  /**
   * For a challenge: only the store's interactive captcha passes (when the project configured
   * Turnstile or hCaptcha); a proof of work is not enough.
   */
  interactive?: boolean
}

/** What the caller told about itself (the widget's optional `signals` on a start). */
export interface CallerSignals {
  deviceId?: string | undefined
  shownMs?: number | undefined
  entry?: 'typed' | 'pasted' | 'autofilled' | 'mixed' | undefined
  keys?: number | undefined
  focuses?: number | undefined
  visible?: boolean | undefined
  webdriver?: boolean | undefined
}

/** Everything a check sees of one start (or resend, or approval). */
export interface FraudContext {
  project: {
    id: string
    mode: KeyMode
  }
  /** The number the text would go to, parsed. */
  destination: {
    /** E.164. */
    phone: string
    /** ISO 3166 alpha-2. */
    country: string
    /** libphonenumber's type, lower case (`mobile`, `premium_rate`, …). */
    numberType: string
    /**
     * The price of one text: the first live route's per-segment price when the routing names
     * one (live mode), else `spend.costs[country]`, else `spend.defaultCostPerSms`.
     */
    cost: number
  }
  /** Who is asking. */
  caller: {
    /** Normalised client address, or null when unknown. */
    ip: string | null
    /** The address's network (IPv4 /24, IPv6 /48), or null when the address is unknown. */
    network: string | null
    signals?: CallerSignals | undefined
    /** The User-Agent header, when the start came with one. */
    userAgent?: string | null | undefined
    /** The start carries an answer to a challenge (a proof of work or a captcha token). */
    answered?: boolean | undefined
    /**
     * The kind of key the start came with: `secret` is the store's own server calling the API
     * (it sends no browser signals, and the store answers for it).
     */
    keyKind?: 'publishable' | 'secret' | undefined
  }
  at: number
  settings: FraudSettings
  /** The request being weighed, for the log lines written about it (none in background work). */
  request?: RequestLogContext | undefined
}

/** What a check may use besides the context. */
export interface CheckDeps {
  db: Kysely<Database>
  counters: CounterStore
  logger?: Logger | undefined
}

/** What one run of a check says. */
export interface CheckOutcome {
  findings: Finding[]
  /**
   * An allow reason (e.g. `list.allow.phone`): when the check enforces, every finding of the
   * other `screen` checks is lifted. Never together with findings.
   */
  allow?: string | undefined
  /** A line for the operator's log when this outcome is enforced with findings. */
  warn?: string | undefined
  /**
   * Reasons recorded but not enforced even when the check enforces (a part of the check in
   * shadow mode), as `decision:reason`.
   */
  shadowReasons?: string[] | undefined
}

/**
 * A fraud check. `run` is called for every start whatever its mode (so a check that counts
 * keeps counting in `off` and `shadow` if it wants to); the guard enforces findings only in
 * `enforce`, records them as shadow reasons in `shadow`, and ignores them in `off`.
 *
 * @example
 * export const numberTypeCheck: FraudCheck = {
 *   id: 'number_type',
 *   phase: 'gate',
 *   mode: (settings) => settings.numberType.mode,
 *   async run(ctx) { ... return { findings } },
 * }
 */
export interface FraudCheck {
  /** Stable, snake_case; the contract suite and the logs name the check by it. */
  readonly id: string
  /**
   * When it runs:
   * - `gate`: with the screen checks; an enforced block refuses the start at once (before any
   *   challenge) with its own refusal, and an allow-list entry never lifts it.
   * - `screen`: every start; findings add up to allow, challenge, decoy or refusal.
   * - `reserve`: after the challenge, for resends too: reserves what a text costs. A start that
   *   will not be sent runs it against `<project>:saved` instead (same work, same timing).
   */
  readonly phase: 'gate' | 'screen' | 'reserve'
  /** This check's mode in the project's settings. */
  mode(settings: FraudSettings): CheckMode
  run(ctx: FraudContext, deps: CheckDeps): Promise<CheckOutcome>
  /**
   * A `reserve` check gives back what its `run` reserved with `ctx` for a text that was never
   * queued after all (a resend that lost its race to another): exactly that amount, in the same
   * window.
   */
  release?(ctx: FraudContext, deps: CheckDeps): Promise<void>
  /**
   * A code was queued (a start or resend). For a decoy the project id is `<project>:decoy`,
   * so decoys are counted apart, never as codes sent.
   */
  afterSent?(ctx: FraudContext, deps: CheckDeps): Promise<void>
  /**
   * Before a resend, whatever the phase: a resend is another text to the same number, so a
   * check may hold it to what a start there would get now. An enforced `block` finding makes
   * the resend a decoy. `ctx.caller.answered` says whether the start passed a challenge.
   */
  beforeResend?(ctx: FraudContext, deps: CheckDeps): Promise<CheckOutcome>
  /** The right code was entered. The caller is unknown here (ip null). */
  afterApproved?(ctx: FraudContext, deps: CheckDeps): Promise<void>
}

/** The same context for another tally of the project (`:saved`, `:decoy`). */
export function tallyOf(ctx: FraudContext, suffix: string): FraudContext {
  return withFields(ctx, {
    project: withFields(ctx.project, { id: `${ctx.project.id}:${suffix}` }),
  })
}
