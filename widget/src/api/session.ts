/**
 * One verification as the widget runs it against the server: the start (with its consent, and an
 * Idempotency-Key that survives a network failure, so a retry never sends a second SMS), the
 * resends and the check, and what they leave behind (the number the code went to, the token).
 * The element decides when each happens; this keeps what the server said.
 * @module
 */
import type { CallerSignals, StartVerificationResponse } from '@textgate/shared'
import type { ReactiveControllerHost } from 'lit'
import type { PhoneCheck } from '../phone'
import { TextgateApiError, type TextgateClient } from './client'

export interface StartOptions {
  number: Extract<PhoneCheck, { ok: true }>
  consentVersion: string
  /** The marketing opt-in, when the checkbox is offered. */
  marketing: boolean | undefined
  locale: string
  captchaToken: string | undefined
  signals: CallerSignals
}

/** The session was reset while a request was under way: its answer was not applied. */
export class SessionReset extends Error {
  constructor() {
    super('reset')
    this.name = 'SessionReset'
  }
}

export class VerificationSession {
  /** The pending (or approved) verification. */
  pending: StartVerificationResponse | undefined
  /** The number the code went to, formatted and isolated left to right for any language. */
  shownPhone = ''
  /** The same in E.164. */
  e164 = ''
  /** The marketing opt-in sent with the verification. */
  marketing = false
  /** The token once approved, else ''. */
  token = ''
  /** When the token stops being valid, by this browser's clock; undefined when not known. */
  tokenExpiresAt: number | undefined
  private idempotencyKey = ''
  /** The start the key was made for: another number or consent takes a new key. */
  private idempotentStart = ''
  /** The language of that start, which its repeats keep. */
  private idempotentLocale = ''
  /** Grows with every reset: the answer to a request made before then is not applied. */
  private generation = 0

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly client: () => TextgateClient,
  ) {}

  /** Forgets the verification and its token. */
  reset(): void {
    this.generation++
    this.pending = undefined
    this.shownPhone = this.e164 = this.token = this.idempotencyKey = ''
    this.tokenExpiresAt = undefined
    this.marketing = false
    this.host.requestUpdate()
  }

  /** Starts a verification: the code goes out. */
  async start(options: StartOptions): Promise<void> {
    const { number, marketing } = options
    const consent = { accepted: true as const, version: options.consentVersion || 'v1' }
    // The server answers the same key with another start by idempotency_conflict.
    const same = JSON.stringify([number.e164, consent.version, marketing === true])
    if (same !== this.idempotentStart) this.idempotencyKey = ''
    this.idempotentStart = same
    // Repeated under its kept key, a start is sent as it was, in the language it was first sent
    // in even if the widget's has changed since: the server replays it, no second SMS.
    if (!this.idempotencyKey) {
      this.idempotencyKey = crypto.randomUUID()
      this.idempotentLocale = options.locale
    }
    const generation = this.generation
    let pending: StartVerificationResponse
    try {
      pending = await this.client().start(
        {
          phone: number.e164,
          country: number.country,
          consent: marketing === undefined ? consent : { ...consent, marketing },
          locale: this.idempotentLocale,
          ...(options.captchaToken ? { captcha: { token: options.captchaToken } } : {}),
          signals: options.signals,
        },
        this.idempotencyKey,
      )
    } catch (error) {
      this.since(generation)
      // The start may have been carried out with its answer lost (a network failure, a proxy's
      // 502/504 page, a server error): the key is kept, so the retry cannot send a second SMS.
      if (
        !(
          error instanceof TextgateApiError &&
          (error.code === 'network_error' || error.status >= 500)
        )
      ) {
        this.idempotencyKey = ''
      }
      throw error
    }
    this.since(generation)
    this.pending = pending
    this.idempotencyKey = ''
    this.marketing = marketing === true
    // Isolated left to right (LRI … PDI): in an Arabic sentence the number keeps its order.
    this.shownPhone = `\u2066${number.international}\u2069`
    this.e164 = number.e164
    this.host.requestUpdate()
  }

  /**
   * Sends a new code, worded in `locale`: the widget's language now, which may not be the one
   * the verification started in.
   */
  async resend(locale: string): Promise<void> {
    const pending = this.pending
    if (!pending) return
    const generation = this.generation
    const resent = await this.client()
      .resend(pending.id, locale)
      .finally(() => this.since(generation))
    this.pending = { ...pending, ...resent }
    this.host.requestUpdate()
  }

  /** Checks `code`; resolves with the token once approved. */
  async check(code: string): Promise<string> {
    const pending = this.pending
    if (!pending) throw new TextgateApiError('verification_not_found', 'not started', 0)
    const generation = this.generation
    const checked = await this.client()
      .check(pending.id, code)
      .finally(() => this.since(generation))
    this.token = checked.token
    this.tokenExpiresAt = expiryOf(checked.token)
    return this.token
  }

  /** Throws SessionReset when the session was reset since `generation`. */
  private since(generation: number): void {
    if (generation !== this.generation) throw new SessionReset()
  }
}

/**
 * When a token received now expires, by this browser's clock: its lifetime (`exp` − `iat`) from
 * now, so a browser clock set wrong does not matter; undefined when the token does not say.
 */
function expiryOf(token: string): number | undefined {
  try {
    const payload = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')
    const { iat, exp } = JSON.parse(atob(payload)) as { iat?: unknown; exp?: unknown }
    const lifetime = Number(exp) - Number(iat)
    return lifetime > 0 ? Date.now() + lifetime * 1000 : undefined
  } catch {
    return undefined
  }
}
