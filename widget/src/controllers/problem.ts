/**
 * What went wrong, and where: the error line of <textgate-verify>, the field it is about
 * (`aria-invalid`), "Try again" after a failure worth repeating, the terminal state after which
 * only "Start again" is offered, and a rate limit's live countdown, which holds Send until it ends.
 * @module
 */
import { html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit'
import { asApiError, errorMessage, RETRYABLE, rateLimitMessage, TERMINAL } from '../errors'
import type { TextgateErrorDetail } from '../events'
import type { Translation, Wording } from '../i18n'
import type { CountdownController } from './countdown'

/** The field a message is about; '' for none. */
export type ErrorField = 'phone' | 'consent' | 'code' | ''

export class ProblemController implements ReactiveController {
  /** What the message says (an error's code and details, not its text); undefined for none. */
  private says: Wording | undefined
  /** Which field it is about, for aria-invalid and where the line shows. */
  at: ErrorField = ''
  /** The failed action, when "Try again" can repeat it (network failures). */
  retry: (() => Promise<void>) | undefined
  /** The verification cannot go on: only "Start again" is offered. */
  terminal = false
  /** Ended for the number, not just this verification (`retry: "later"`): another number helps. */
  numberSpent = false
  /** A rate limit holds Send (and "Send a new code") until then, in ms since the epoch; 0 if none. */
  waitUntil = 0
  /**
   * The message has been on screen: the countdown's later texts are not announced again (a
   * screen reader would otherwise read the alert out every second).
   */
  private shown = false

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly clock: CountdownController,
    private readonly texts: () => Translation,
  ) {
    host.addController(this)
  }

  /** The message shown, in the widget's language now; a rate limit's counts down. */
  get message(): string {
    const t = this.texts()
    const left = this.clock.secondsUntil(this.waitUntil)
    return left ? rateLimitMessage(left, t) : (this.says?.(t) ?? '')
  }

  show(says: Wording | undefined, at: ErrorField): void {
    this.says = says
    this.at = at
    this.retry = undefined
    this.terminal = false
    this.shown = false
    this.host.requestUpdate()
  }

  clear(): void {
    this.show(undefined, '')
  }

  /** Clears the message when it is about `field`. */
  clearAt(field: ErrorField): void {
    if (this.at === field) this.clear()
  }

  /** Back to no problem and no rate limit. */
  reset(): void {
    this.waitUntil = 0
    this.clear()
  }

  /**
   * Shows a refused request's message; `retry` repeats the action after a network failure, and
   * `mayEnd` lets a refusal end the verification. Returns the `textgate-error` event's detail.
   */
  fail(error: unknown, at: ErrorField, retry?: () => Promise<void>, mayEnd = false) {
    const apiError = asApiError(error)
    this.show((t) => errorMessage(apiError, t), at)
    if (apiError.code === 'rate_limited' && apiError.retryAfterSeconds) {
      this.waitUntil = Date.now() + apiError.retryAfterSeconds * 1000
      this.clock.start()
    }
    if (RETRYABLE.has(apiError.code)) this.retry = retry
    this.terminal = mayEnd && TERMINAL.has(apiError.code)
    this.numberSpent = this.terminal && apiError.details.retry === 'later'
    const detail: TextgateErrorDetail = { code: apiError.code, message: this.message }
    // No wait brings a verification that ended back (max_attempts_reached's Retry-After only
    // keeps clients from repeating the check): the shopper starts again.
    if (apiError.retryAfterSeconds && !TERMINAL.has(apiError.code)) {
      detail.retryAfter = apiError.retryAfterSeconds
    }
    return detail
  }

  /** When the rate limit's wait ends, its message goes and Send is back. */
  hostUpdate(): void {
    if (this.waitUntil && !this.clock.secondsUntil(this.waitUntil)) this.reset()
  }

  hostUpdated(): void {
    if (this.message) this.shown = true
  }

  /** "Try again": repeats the failed action. */
  readonly onRetry = async (): Promise<void> => {
    const retry = this.retry
    this.clear()
    if (retry) await retry()
  }

  /** The error line (with Try again) if it belongs at `place`: under `this.at`, else `home`. */
  render(place: ErrorField, home: ErrorField) {
    if (place !== (this.at || home)) return nothing
    return html`<div class="error-row">
      <p
        id="error"
        part="error"
        role="alert"
        aria-live=${this.waitUntil && this.shown ? 'off' : nothing}
      >${this.message}</p>
      ${
        this.retry
          ? html`<button part="retry-button" type="button" @click=${this.onRetry}>
            ${this.texts().retry}
          </button>`
          : nothing
      }
    </div>`
  }
}
