/**
 * The verification flow of <textgate-verify>: its steps (phone → code → done) and the shopper's
 * answers on the way (consent, marketing, the code typed), and what moves it on: Send, the code
 * (typed, pasted or offered by WebOTP), Verify, Send a new code, Change number, and the failures
 * in between, each leaving focus somewhere sensible. The host renders this state and fires
 * `textgate-step` once a new step is on screen.
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import { TextgateApiError } from '../api/client'
import { SessionReset, type StartOptions, type VerificationSession } from '../api/session'
import type { TextgateEventMap, TextgateStep } from '../events'
import type { Translation, Wording } from '../i18n'
import { asciiDigits } from '../phone'
import type { PhoneField } from '../phone/field'
import { afterPress } from '../pointer'
import type { CountdownController } from './countdown'
import type { ErrorField, ProblemController } from './problem'
import { WebOtpController } from './web-otp'

/** What the flow works with; the host owns each of these. */
export interface FlowParts {
  texts: () => Translation
  phone: PhoneField
  session: VerificationSession
  problem: ProblemController
  clock: CountdownController
  /** What the start sends besides the number, the marketing opt-in and the language. */
  startOptions: () => Pick<StartOptions, 'consentVersion' | 'captchaToken' | 'signals'>
  /** Whether the marketing checkbox is offered (else its answer is not sent). */
  marketingOffered: () => boolean
  /** The host's element with this part, when rendered. */
  part: <T extends HTMLElement>(name: string) => T | null
  /** Called on reset, to close what the host has open (the country list). */
  onReset?: () => void
}

/** What the host renders. */
export interface FlowState {
  step: TextgateStep
  consent: boolean
  marketing: boolean
  /** The code as typed so far, digits only. */
  codeText: string
  /** A request is under way: the controls wait. */
  busy: boolean
  /** The status line: "We sent a code to …", and what happened since. */
  readonly status: string
}

type Host = ReactiveControllerHost & HTMLElement

export class FlowController implements ReactiveController, FlowState {
  step: TextgateStep = 'phone'
  consent = false
  marketing = false
  /** The code as typed so far, digits only. */
  codeText = ''
  /** A request is under way: the controls wait. */
  busy = false
  /** What the status line says, worded in the language in use when shown. */
  private says: Wording | undefined
  /** Send is checking the number, before its request makes the flow busy. */
  private validating = false
  /** The step the page was last told about (`textgate-step`). */
  private announced: TextgateStep | undefined
  private readonly otp: WebOtpController
  /** Ends the done step when the token expires. */
  private expiry: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly host: Host,
    private readonly parts: FlowParts,
  ) {
    host.addController(this)
    this.otp = new WebOtpController(host, (code) => {
      if (this.step === 'code') this.setCode(code)
    })
  }

  /** The status line: "We sent a code to …", and what happened since. */
  get status(): string {
    return this.says?.(this.t) ?? ''
  }

  /** Tells the page about a new step once it is rendered. */
  hostUpdated(): void {
    if (this.step === this.announced) return
    this.announced = this.step
    const phone = this.step === 'phone' ? {} : { phone: this.parts.session.e164 }
    this.dispatch('textgate-step', { step: this.step, ...phone })
  }

  hostConnected(): void {
    this.watchExpiry()
  }

  hostDisconnected(): void {
    clearTimeout(this.expiry)
  }

  /** Back to the phone step, forgetting any code and token; the number typed stays. */
  reset(): void {
    const { clock, problem, session } = this.parts
    clearTimeout(this.expiry)
    clock.stop()
    this.otp.stop()
    problem.reset()
    session.reset()
    this.says = undefined
    this.set({ step: 'phone', codeText: '', consent: false, marketing: false, busy: false })
    this.parts.onReset?.()
  }

  readonly setConsent = (event: Event): void => {
    this.set({ consent: (event.target as HTMLInputElement).checked })
    this.parts.problem.clearAt('consent')
  }

  readonly setMarketing = (event: Event): void => {
    this.set({ marketing: (event.target as HTMLInputElement).checked })
  }

  /** Checks the number when the shopper leaves the field, so problems show before sending. */
  readonly phoneBlur = async (): Promise<void> => {
    const { phone, problem } = this.parts
    if (!/\d/.test(phone.text) || this.step !== 'phone') return
    const checked = await phone.validate().catch(() => undefined)
    if (!checked || !('problem' in checked) || this.step !== 'phone') return
    // Leaving the field by pressing another control (consent, Send, the store's button): the
    // message, which moves what is below it, waits until that press is over, so it lands.
    await afterPress()
    if (this.step === 'phone' && !problem.message) problem.show(checked.problem, 'phone')
  }

  /** Send: checks the number and the consent, then starts the verification. */
  readonly send = async (event?: Event): Promise<void> => {
    event?.preventDefault()
    // A second press (a double click, Enter twice) while the first checks the number: one start.
    if (this.busy || this.validating) return
    const { phone, problem, session, clock } = this.parts
    problem.clear()
    const retry = () => this.send()
    this.validating = true
    const checked = await phone.validate().catch(() => undefined)
    this.validating = false
    if (!checked)
      return this.fail(new TextgateApiError('network_error', 'metadata', 0), 'phone', retry)
    if ('problem' in checked) {
      problem.show(checked.problem, 'phone')
      return this.focusPart('phone-input')
    }
    if (!this.consent) {
      problem.show((t) => t.consentMissing, 'consent')
      return this.focusPart('consent-checkbox')
    }
    const started = await this.request('phone', retry, () =>
      session.start({
        ...this.parts.startOptions(),
        number: checked.number,
        marketing: this.parts.marketingOffered() ? this.marketing : undefined,
        locale: this.t.$code,
      }),
    )
    if ('reset' in started) return
    if ('error' in started) return this.focusAfterFailure('phone-input')
    this.says = (t) => t.codeSentTo(session.shownPhone)
    this.set({ codeText: '', step: 'code' })
    clock.start()
    await this.focusAfter('code-input')
    this.otp.start()
  }

  /**
   * The shopper types in the code field: WebOTP stops waiting. A whole code inserted into digits
   * already typed (pasted, dropped, or a keyboard's suggestion from the SMS) is the code, not
   * those digits followed by its first ones.
   */
  readonly codeInput = (event: Event): void => {
    this.otp.stop()
    const { data } = event as InputEvent
    const length = this.parts.session.pending?.codeLength ?? 6
    const whole = asciiDigits(data ?? '').replace(/\D/g, '').length >= length
    this.setCode(whole ? data! : (event.target as HTMLInputElement).value)
  }

  /** Takes a code (digits in any script, spaces and dashes dropped); checks it at full length. */
  setCode(text: string): void {
    const length = this.parts.session.pending?.codeLength ?? 6
    const digits = asciiDigits(text).replace(/\D/g, '').slice(0, length)
    const input = this.parts.part<HTMLInputElement>('code-input')
    if (input) input.value = digits
    this.set({ codeText: digits })
    if (!this.parts.problem.terminal) this.parts.problem.clearAt('code')
    if (digits.length === length) void this.check()
  }

  /** Verify: checks the code; once approved, the done step and `textgate-verified`. */
  readonly check = async (event?: Event): Promise<void> => {
    event?.preventDefault()
    const { session, problem, clock } = this.parts
    const pending = session.pending
    // A rate limit holds Verify (as it holds Send): a code typed meanwhile waits for its end.
    if (!pending || this.busy || problem.terminal || problem.waitUntil) return
    if (this.codeText.length !== pending.codeLength) {
      problem.show((t) => t.codeLabel(pending.codeLength), 'code')
      return this.focusPart('code-input')
    }
    this.otp.stop()
    const checked = await this.request(
      'code',
      () => this.check(),
      () => session.check(this.codeText),
    )
    if ('reset' in checked) return
    if ('error' in checked) {
      const { error } = checked
      if (error instanceof TextgateApiError && error.code === 'incorrect_code') {
        this.set({ codeText: '' })
        await this.host.updateComplete
        const input = this.parts.part<HTMLInputElement>('code-input')
        if (input) input.value = ''
        input?.focus()
      } else if (problem.terminal) await this.focusAfter('change-button')
      else await this.focusAfterFailure('code-input')
      return
    }
    const token = checked.value
    clock.stop()
    this.says = undefined
    this.set({ step: 'done' })
    problem.clear()
    const { e164: phone, marketing } = session
    this.dispatch('textgate-verified', { token, phone, verificationId: pending.id, marketing })
    this.watchExpiry()
    await this.focusAfter('done')
  }

  /**
   * Send a new code, in the language shown now; the number stays in view and focus goes back to
   * the code field.
   */
  readonly resend = async (): Promise<void> => {
    const { session, problem, clock } = this.parts
    if (!session.pending || this.busy) return
    const resent = await this.request(
      'code',
      () => this.resend(),
      () => session.resend(this.t.$code),
    )
    if ('reset' in resent) return
    if ('error' in resent) return this.focusAfterFailure('code-input')
    // The number stays in view: "We sent a code to … A new code is on its way."
    this.says = (t) => `${t.codeSentTo(session.shownPhone)} ${t.newCodeSent}`
    this.host.requestUpdate()
    problem.clear()
    clock.start()
    this.otp.start()
    await this.focusAfter('code-input')
  }

  /** Change number / Start again: back to the phone field. */
  readonly change = async (): Promise<void> => {
    this.reset()
    await this.focusAfter('phone-input')
  }

  /**
   * Once verified, the token expires (10 minutes at most): a little before that, the widget goes
   * back to the phone step with the number kept, and asks for it to be verified again, so the
   * form cannot be sent with a token the store's server would refuse.
   */
  private watchExpiry(): void {
    clearTimeout(this.expiry)
    const expiresAt = this.parts.session.tokenExpiresAt
    if (this.step !== 'done' || expiresAt === undefined) return
    // Time for the form to reach the store's server: a tenth of the wait, 30 s at most.
    const left = expiresAt - Date.now()
    this.expiry = setTimeout(
      () => {
        // Focus on the done step (its message, Change number) stays in the widget: on the field.
        const focused = this.host.shadowRoot?.activeElement
        this.reset()
        this.parts.problem.show((t) => t.required, 'phone')
        if (focused) void this.focusAfter('phone-input')
      },
      left - Math.min(30_000, left / 10),
    )
  }

  private get t(): Translation {
    return this.parts.texts()
  }

  private set(state: Partial<Omit<FlowState, 'status'>>): void {
    Object.assign(this, state)
    this.host.requestUpdate()
  }

  private dispatch<K extends keyof TextgateEventMap>(
    type: K,
    detail: TextgateEventMap[K]['detail'],
  ) {
    this.host.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }))
  }

  /** Shows a refused request's message and tells the page; `retry` repeats a network failure. */
  private fail(error: unknown, at: ErrorField, retry: () => Promise<void>): void {
    this.dispatch('textgate-error', this.parts.problem.fail(error, at, retry, this.step === 'code'))
  }

  /**
   * One request of the flow, with the controls busy; a refusal is shown at `at` and returned.
   * After a reset while it was under way (Change number, the form's reset), its answer is
   * dropped: the flow, and whether it is busy, are the reset's and any request's made since.
   */
  private async request<T>(
    at: ErrorField,
    retry: () => Promise<void>,
    run: () => Promise<T>,
  ): Promise<{ value: T } | { error: unknown } | { reset: true }> {
    this.set({ busy: true })
    // A control that disables itself (consent, after Enter on it) or goes (Try again) leaves
    // focus on the page: it waits on the step's button instead, which says what is under way.
    void this.host.updateComplete.then(() => {
      const focused = this.host.shadowRoot?.activeElement
      if (document.activeElement === document.body || focused?.matches(':disabled')) {
        this.focusPart('submit-button')
      }
    })
    try {
      const value = await run()
      this.set({ busy: false })
      return { value }
    } catch (error) {
      if (error instanceof SessionReset) return { reset: true }
      this.set({ busy: false })
      this.fail(error, at, retry)
      return { error }
    }
  }

  private focusPart(name: string): void {
    this.parts.part(name)?.focus()
  }

  /** Focuses a part once the state just set is rendered. */
  private async focusAfter(name: string): Promise<void> {
    await this.host.updateComplete
    this.focusPart(name)
  }

  /** The button pressed was disabled while busy: focus goes to Try again, else to `field`. */
  private focusAfterFailure(field: string): Promise<void> {
    return this.focusAfter(this.parts.problem.retry ? 'retry-button' : field)
  }
}
