import type { StartVerificationResponse } from '@textgate/shared'
import { html, LitElement, nothing, type PropertyValues } from 'lit'
import { createClient, TextgateApiError } from './api/client'
import { CountdownController } from './controllers/countdown'
import { LocaleController } from './controllers/locale'
import { SignalsController } from './controllers/signals'
import { SlotPresenceController } from './controllers/slot-presence'
import { WebOtpController } from './controllers/web-otp'
import type {
  CountryPickEvent,
  TextgateCountryPicker,
} from './country-picker/textgate-country-picker'
import { asApiError, errorMessage, RETRYABLE, TERMINAL } from './errors'
import type { TextgateErrorDetail, TextgateEventMap, TextgateStep } from './events'
import { syncFormValue } from './form-value'
import { asciiDigits, type Country, type CountryCode } from './phone'
import { PhoneField } from './phone/field'
import { renderCodeStep } from './steps/code-step'
import { renderDoneStep } from './steps/done-step'
import { renderPhoneStep } from './steps/phone-step'
import { styles } from './textgate-verify.styles'
import { humanWait } from './wait'

/** A mouse button, finger or pen is down anywhere on the page. */
let pointerPressed = false
if (typeof addEventListener === 'function') {
  addEventListener('pointerdown', () => (pointerPressed = true), true)
  addEventListener('pointerup', () => (pointerPressed = false), true)
}

/** Where the widget script was loaded from: the Textgate server, by default. */
const SCRIPT_ORIGIN = new URL(import.meta.url).origin

type ErrorField = 'phone' | 'consent' | 'code' | ''

/**
 * @summary Phone verification for a store's sign-up form: phone number, consent, one-time code.
 *   Form-associated: once verified, the form submits a signed token under the element's `name`.
 *
 * @tag textgate-verify
 *
 * @attr {string} publishable-key - Publishable key of the store's project (`pk_test_…`, `pk_live_…`).
 * @attr {string} name - Name of the form field the token is submitted as.
 * @attr {boolean} required - The form cannot be submitted until the number is verified.
 * @attr {boolean} disabled - Disables every control.
 * @attr {string} default-country - ISO 3166 alpha-2 country to start with.
 * @attr {string} preferred-countries - ISO 3166 alpha-2 countries listed first in the picker
 *   (comma or space separated), before the detected country.
 * @attr {string} consent-text - Text of the consent checkbox; the `consent` slot replaces it.
 * @attr {string} consent-version - Sent with the verification, and in the token's `consent.version`.
 * @attr {string} marketing-text - Label of the optional marketing checkbox; shows it.
 * @attr {string} lang - Language of the texts; else the page's `<html lang>`, else the browser's.
 * @attr {string} theme - `light`, `dark`, or `auto` (follows the system's mode); without it the
 *   widget takes the page's `color-scheme`, which is light unless the page declares otherwise.
 *
 * @prop {string} server - Base URL of the Textgate server; defaults to where widget.js came from.
 * @prop {string | undefined} captchaToken - A Turnstile or hCaptcha token sent with the start.
 * @prop {string} value - The token once verified, else an empty string (read-only).
 * @prop {HTMLFormElement | null} form - The form the element belongs to (read-only).
 *
 * @fires {CustomEvent<TextgateStepDetail>} textgate-step - The shopper moved to another step;
 *   `detail: { step, phone? }` (`phone`, E.164, in the code and done steps).
 * @fires {CustomEvent<TextgateVerifiedDetail>} textgate-verified - The number is verified;
 *   `detail: { token, phone, verificationId, marketing }`.
 * @fires {CustomEvent<TextgateErrorDetail>} textgate-error - The server or the network refused a
 *   step; `detail: { code, message, retryAfter? }`.
 *
 * @csspart base - The wrapper of everything.
 * @csspart country-button - The country picker's button (flag, or ISO code, and dial code).
 * @csspart country-panel - The picker's popup: search field and list.
 * @csspart country-search - The picker's search field (a combobox).
 * @csspart country-list - The picker's listbox.
 * @csspart country-option - One country in the list.
 * @csspart phone-input - The phone number input.
 * @csspart consent - The consent label (checkbox and text).
 * @csspart consent-checkbox - The consent checkbox.
 * @csspart marketing - The optional marketing opt-in label (checkbox and text).
 * @csspart marketing-checkbox - The optional marketing opt-in checkbox.
 * @csspart submit-button - "Send code" and "Verify".
 * @csspart code-input - The one-time code input.
 * @csspart resend-button - "Send a new code".
 * @csspart change-button - "Change number" / "Start again".
 * @csspart retry-button - "Try again" after a network failure.
 * @csspart error - The error message.
 * @csspart status - The status line (code sent to…, attempts left).
 * @csspart done - The verified message.
 *
 * @cssprop --textgate-color-primary - Buttons, focus rings, checkbox.
 * @cssprop --textgate-color-primary-text - Text on primary buttons.
 * @cssprop --textgate-color-text - Text.
 * @cssprop --textgate-color-muted - Secondary text.
 * @cssprop --textgate-color-background - Input and popup backgrounds.
 * @cssprop --textgate-color-border - Input and secondary button borders.
 * @cssprop --textgate-color-highlight - The active option in the country list.
 * @cssprop --textgate-color-error - Error text and invalid borders.
 * @cssprop --textgate-color-success - The verified message.
 * @cssprop --textgate-radius - Corner radius of inputs and buttons.
 * @cssprop --textgate-spacing - Base spacing.
 * @cssprop --textgate-font-family - Font (inherits by default).
 * @cssprop --textgate-font-size - Base font size.
 *
 * @slot consent - Consent text with the store's own link; replaces `consent-text`.
 * @slot marketing - Marketing opt-in text with the store's own link; replaces `marketing-text`.
 */
export class TextgateVerify extends LitElement {
  static override styles = styles
  static formAssociated = true
  static override shadowRootOptions = { ...LitElement.shadowRootOptions, delegatesFocus: true }

  static override properties = {
    publishableKey: { type: String, attribute: 'publishable-key' },
    name: { type: String, reflect: true },
    required: { type: Boolean, reflect: true },
    disabled: { type: Boolean, reflect: true },
    server: { type: String },
    defaultCountry: { type: String, attribute: 'default-country' },
    preferredCountries: { type: String, attribute: 'preferred-countries' },
    consentText: { type: String, attribute: 'consent-text' },
    consentVersion: { type: String, attribute: 'consent-version' },
    marketingText: { type: String, attribute: 'marketing-text' },
    captchaToken: { type: String, attribute: false },
    theme: { type: String, reflect: true },
    step: { state: true },
    consent: { state: true },
    marketing: { state: true },
    codeText: { state: true },
    busy: { state: true },
    error: { state: true },
    errorAt: { state: true },
    retryable: { state: true },
    terminal: { state: true },
    status: { state: true },
    verification: { state: true },
    verifiedPhone: { state: true },
    waitUntil: { state: true },
  }

  /** Publishable key of the store's project (`pk_test_…` or `pk_live_…`). */
  declare publishableKey: string
  /** Name of the form field the token is submitted as. */
  declare name: string
  declare required: boolean
  declare disabled: boolean
  /** Base URL of the Textgate server; defaults to where widget.js was loaded from. */
  declare server: string
  /** ISO 3166 alpha-2 country to start with. */
  declare defaultCountry: string
  /** ISO 3166 alpha-2 countries listed first in the picker, before the detected one. */
  declare preferredCountries: string
  declare consentText: string
  /** Sent with the verification, and in the token's `consent.version` claim. */
  declare consentVersion: string
  /**
   * A Turnstile or hCaptcha response token from the store's own widget, sent with the start;
   * the server accepts it instead of a proof of work when the project configured that captcha.
   */
  declare captchaToken: string | undefined
  /** `light`, `dark` or `auto` (the system's mode); unset takes the page's `color-scheme`. */
  declare theme: string
  /**
   * Label of an optional marketing opt-in checkbox, shown only when this (or the `marketing`
   * slot) is given. Never ticked by default; once verified, the form also submits
   * `<name>_marketing=yes` when the shopper ticked it.
   */
  declare marketingText: string

  declare private step: TextgateStep
  declare private consent: boolean
  declare private marketing: boolean
  declare private codeText: string
  declare private busy: boolean
  declare private error: string
  /** Which field the error is about, for aria-invalid. */
  declare private errorAt: ErrorField
  /** The failed action, when a retry can repeat it (network failures). */
  declare private retryable: (() => Promise<void>) | undefined
  /** The verification cannot go on: only "Start again" is offered. */
  declare private terminal: boolean
  declare private status: string
  declare private verification: StartVerificationResponse | undefined
  declare private verifiedPhone: string
  /** A rate limit holds Send (and "Send a new code") until then, in ms since the epoch; 0 when none. */
  declare private waitUntil: number

  private readonly internals: ElementInternals
  private readonly clock = new CountdownController(this)
  private readonly otp = new WebOtpController(this, (code) => {
    if (this.step === 'code') this.setCode(code)
  })
  private readonly locale = new LocaleController(this)
  private readonly phone = new PhoneField(this, () =>
    this.partElement<HTMLInputElement>('phone-input'),
  )
  private readonly marketingSlot = new SlotPresenceController(this, 'marketing')
  private readonly signals = new SignalsController(this)
  private configRequested = false
  private verifiedE164 = ''
  /** The marketing opt-in sent with the verification that is pending or done. */
  private marketingSent = false
  private token = ''
  private idempotencyKey = ''

  /** The step renders' event handlers: one object, so Lit keeps the same listeners. */
  private readonly on = {
    send: (event?: Event) => void this.onSendCode(event),
    phoneInput: (event: InputEvent) => {
      this.signals.input(event)
      this.onPhoneInput(event)
    },
    phoneKey: () => this.signals.key(),
    phoneFocus: () => this.signals.focus(),
    phoneBlur: () => void this.onPhoneBlur(),
    consent: (event: Event) => {
      this.consent = (event.target as HTMLInputElement).checked
      if (this.errorAt === 'consent') this.clearError()
    },
    marketing: (event: Event) => {
      this.marketing = (event.target as HTMLInputElement).checked
    },
    pick: (event: CountryPickEvent) => this.chooseCountry(event.country),
    check: (event?: Event) => void this.onCheck(event),
    codeInput: (event: Event) => {
      this.otp.stop() // The shopper types: WebOTP stops waiting.
      this.setCode((event.target as HTMLInputElement).value)
    },
    resend: () => void this.onResend(),
    change: () => void this.onChangeNumber(),
  }

  constructor() {
    super()
    this.internals = this.attachInternals()
    this.publishableKey = ''
    this.name = ''
    this.required = false
    this.disabled = false
    this.server = SCRIPT_ORIGIN
    this.defaultCountry = ''
    this.preferredCountries = ''
    this.consentText = ''
    this.consentVersion = 'v1'
    this.marketingText = ''
    this.marketing = false
    this.theme = ''
    this.step = 'phone'
    this.consent = false
    this.codeText = ''
    this.busy = false
    this.clearError()
    this.status = ''
    this.verification = undefined
    this.verifiedPhone = ''
    this.waitUntil = 0
  }

  /** The token once verified, else an empty string. */
  get value(): string {
    return this.token
  }

  get form(): HTMLFormElement | null {
    return this.internals.form
  }

  get validity(): ValidityState {
    return this.internals.validity
  }

  get validationMessage(): string {
    return this.internals.validationMessage
  }

  get willValidate(): boolean {
    return this.internals.willValidate
  }

  checkValidity(): boolean {
    return this.internals.checkValidity()
  }

  reportValidity(): boolean {
    return this.internals.reportValidity()
  }

  /** Back to the phone step, forgetting any code and token; the number typed stays. */
  reset(): void {
    this.clock.stop()
    this.otp.stop()
    this.step = 'phone'
    this.codeText = ''
    this.consent = false
    this.marketing = false
    this.marketingSent = false
    this.clearError()
    this.status = ''
    this.verification = undefined
    this.token = ''
    this.verifiedPhone = ''
    this.waitUntil = 0
    this.verifiedE164 = ''
    this.idempotencyKey = ''
    this.busy = false
    void this.picker?.hide(false)
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.removeFallback()
    this.phone.detect(this.defaultCountry)
  }

  /**
   * The page's fallback for when widget.js never runs (children marked `data-textgate-fallback`,
   * such as a message and a hidden required input that keeps the form from posting) goes once the
   * element runs: it validates the form itself.
   */
  private removeFallback(): void {
    for (const child of this.querySelectorAll(':scope > [data-textgate-fallback]')) child.remove()
  }

  /** The optional marketing checkbox is offered only when the page labels it. */
  private get marketingOffered(): boolean {
    return !!this.marketingText || this.marketingSlot.filled
  }

  /** `lang` is HTMLElement's own property: watched here rather than declared to Lit. */
  static override get observedAttributes(): string[] {
    // biome-ignore lint/complexity/noThisInStatic: super must see this class's Lit properties.
    return [...super.observedAttributes, 'lang']
  }

  override attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    super.attributeChangedCallback(name, old, value)
    if (name === 'lang' && this.isConnected) this.locale.apply()
  }

  formResetCallback(): void {
    this.reset()
    this.phone.clear()
  }

  formDisabledCallback(disabled: boolean): void {
    this.disabled = disabled
  }

  /** The widget's texts. */
  private get t() {
    return this.locale.t
  }

  /** Asks the server for the project's settings once; without them the widget still works. */
  private async loadConfig(): Promise<void> {
    try {
      this.phone.configure(await this.client().config())
    } catch {
      return // The server checks the country at the start anyway.
    }
    this.phone.detect(this.defaultCountry)
  }

  /** A message when the project does not take numbers of `country`, else undefined. */
  private notOffered(country: CountryCode): string | undefined {
    const name = this.phone.refused(country, this.t.$code)
    return name ? this.t.countryNotOffered(name) : undefined
  }

  private chooseCountry(country: Country): void {
    this.phone.choose(country)
    if (this.errorAt === 'phone') this.clearError()
    this.focusPart('phone-input')
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (this.waitUntil) {
      const left = this.clock.secondsUntil(this.waitUntil)
      if (left > 0) this.error = this.t.rateLimited(humanWait(left, this.t.$code))
      else {
        this.waitUntil = 0
        this.clearError()
      }
    }
    if (changed.has('defaultCountry') && this.isConnected) this.phone.detect(this.defaultCountry)
  }

  protected override firstUpdated(): void {
    this.removeFallback() // Children the parser added after connect.
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (!this.configRequested && this.publishableKey && this.isConnected) {
      this.configRequested = true
      void this.loadConfig()
    }
    if (changed.has('step' as keyof TextgateVerify)) {
      this.dispatch(
        'textgate-step',
        this.step === 'phone' ? { step: this.step } : { step: this.step, phone: this.verifiedE164 },
      )
      const states = this.internals.states
      for (const [state, on] of [
        ['code-sent', this.step === 'code'],
        ['verified', this.step === 'done'],
      ] as const) {
        try {
          if (on) states.add(state)
          else states.delete(state)
        } catch {
          // Browsers without CustomStateSet keep working, without the :state() hooks.
        }
      }
    }
    this.syncFormValue()
  }

  /** Also waits for the country picker's own render. */
  protected override async getUpdateComplete(): Promise<boolean> {
    const done = await super.getUpdateComplete()
    await this.picker?.updateComplete
    return done
  }

  private get picker(): TextgateCountryPicker | null {
    return this.renderRoot?.querySelector('textgate-country-picker') ?? null
  }

  private syncFormValue(): void {
    const anchor = this.partElement(this.step === 'code' ? 'code-input' : 'phone-input')
    syncFormValue(this.internals, {
      name: this.name,
      token: this.token,
      marketing: this.marketingSent,
      required: this.required,
      started: this.step !== 'phone' || /\d/.test(this.phone.text),
      message: this.error || this.t.required,
      anchor: anchor ?? undefined,
    })
  }

  private dispatch<K extends keyof TextgateEventMap>(
    type: K,
    detail: TextgateEventMap[K]['detail'],
  ) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }))
  }

  private client() {
    return createClient({ server: this.server, publishableKey: this.publishableKey })
  }

  private clearError(): void {
    this.showError('', '')
  }

  private showError(message: string, at: ErrorField): void {
    this.error = message
    this.errorAt = at
    this.retryable = undefined
    this.terminal = false
  }

  /** Shows a refused request's message; `retry` repeats the action after a network failure. */
  private fail(error: unknown, at: ErrorField, retry?: () => Promise<void>): void {
    const apiError = asApiError(error)
    const message = errorMessage(apiError, this.t)
    this.showError(message, at)
    if (apiError.code === 'rate_limited' && apiError.retryAfterSeconds) {
      this.waitUntil = Date.now() + apiError.retryAfterSeconds * 1000
      this.clock.start()
    }
    if (RETRYABLE.has(apiError.code)) this.retryable = retry
    this.terminal = this.step === 'code' && TERMINAL.has(apiError.code)
    const detail: TextgateErrorDetail = { code: apiError.code, message }
    if (apiError.retryAfterSeconds) detail.retryAfter = apiError.retryAfterSeconds
    this.dispatch('textgate-error', detail)
  }

  private onPhoneInput(event: InputEvent): void {
    this.phone.onInput(event)
    if (this.errorAt === 'phone') this.clearError()
  }

  /** Checks the number when the shopper leaves the field, so problems show before sending. */
  private async onPhoneBlur(): Promise<void> {
    if (!this.phone.text.replace(/\D/g, '') || this.step !== 'phone') return
    const checked = await this.phone.check().catch(() => undefined)
    if (!checked || this.step !== 'phone') return
    const problem = checked.ok
      ? this.notOffered(checked.country)
      : this.t.phoneErrors[checked.reason]
    if (!problem) return
    // Leaving the field by pressing another control (consent, Send, the store's button): the
    // message, which moves what is below it, waits until that press is over, so it lands.
    if (pointerPressed) {
      await new Promise((resolve) => {
        addEventListener('click', () => setTimeout(resolve), { once: true, capture: true })
        setTimeout(resolve, 1000) // Pressed and dragged away: no click comes.
      })
    }
    if (this.step === 'phone' && !this.error) this.showError(problem, 'phone')
  }

  private async onSendCode(event?: Event): Promise<void> {
    event?.preventDefault()
    if (this.busy) return
    this.clearError()
    let checked: Awaited<ReturnType<PhoneField['check']>>
    try {
      checked = await this.phone.check()
    } catch {
      this.fail(new TextgateApiError('network_error', 'metadata', 0), 'phone', () =>
        this.onSendCode(),
      )
      return
    }
    const problem = checked.ok
      ? this.notOffered(checked.country)
      : this.t.phoneErrors[checked.reason]
    if (problem || !checked.ok) {
      this.showError(problem ?? '', 'phone')
      this.focusPart('phone-input')
      return
    }
    if (!this.consent) {
      this.showError(this.t.consentMissing, 'consent')
      this.focusPart('consent-checkbox')
      return
    }
    this.busy = true
    this.idempotencyKey ||= crypto.randomUUID()
    const marketing = this.marketingOffered ? this.marketing : undefined
    try {
      const started = await this.client().start(
        {
          phone: checked.e164,
          country: checked.country,
          consent: {
            accepted: true,
            version: this.consentVersion || 'v1',
            ...(marketing === undefined ? {} : { marketing }),
          },
          locale: this.t.$code,
          ...(this.captchaToken ? { captcha: { token: this.captchaToken } } : {}),
          signals: this.signals.collect(),
        },
        this.idempotencyKey,
      )
      this.idempotencyKey = ''
      this.verification = started
      this.marketingSent = marketing === true
      // Isolated left to right (LRI … PDI): in an Arabic sentence the number keeps its order.
      this.verifiedPhone = `\u2066${checked.international}\u2069`
      this.verifiedE164 = checked.e164
      this.codeText = ''
      this.status = this.t.codeSentTo(this.verifiedPhone)
      this.step = 'code'
      this.busy = false
      this.clock.start()
      await this.updateComplete
      this.focusPart('code-input')
      this.otp.start()
    } catch (error) {
      // A network failure keeps the Idempotency-Key: the retry cannot send a second SMS.
      if (!(error instanceof TextgateApiError && error.code === 'network_error')) {
        this.idempotencyKey = ''
      }
      this.busy = false
      this.fail(error, 'phone', () => this.onSendCode())
      await this.focusAfterFailure('phone-input')
    }
  }

  private setCode(text: string): void {
    const length = this.verification?.codeLength ?? 6
    const digits = asciiDigits(text).replace(/\D/g, '').slice(0, length)
    const input = this.partElement<HTMLInputElement>('code-input')
    if (input) input.value = digits
    this.codeText = digits
    if (this.errorAt === 'code' && !this.terminal) this.clearError()
    if (digits.length === length) void this.onCheck()
  }

  private async onCheck(event?: Event): Promise<void> {
    event?.preventDefault()
    const verification = this.verification
    if (!verification || this.busy || this.terminal) return
    if (this.codeText.length !== verification.codeLength) {
      this.showError(this.t.codeLabel(verification.codeLength), 'code')
      this.focusPart('code-input')
      return
    }
    this.otp.stop()
    this.busy = true
    try {
      const checked = await this.client().check(verification.id, this.codeText)
      this.token = checked.token
      this.clock.stop()
      this.busy = false
      this.step = 'done'
      this.status = ''
      this.clearError()
      this.dispatch('textgate-verified', {
        token: checked.token,
        phone: this.verifiedE164,
        verificationId: verification.id,
        marketing: this.marketingSent,
      })
      await this.updateComplete
      this.focusPart('done')
    } catch (error) {
      this.busy = false
      this.fail(error, 'code', () => this.onCheck())
      if (error instanceof TextgateApiError && error.code === 'incorrect_code') {
        this.codeText = ''
        await this.updateComplete
        const input = this.partElement<HTMLInputElement>('code-input')
        if (input) {
          input.value = ''
          input.focus()
        }
      } else if (this.terminal) {
        await this.updateComplete
        this.focusPart('change-button')
      } else {
        await this.focusAfterFailure('code-input')
      }
    }
  }

  private async onResend(): Promise<void> {
    const verification = this.verification
    if (!verification || this.busy) return
    this.busy = true
    try {
      const resent = await this.client().resend(verification.id)
      this.verification = { ...verification, ...resent }
      // The number stays in view: "We sent a code to … A new code is on its way."
      this.status = `${this.t.codeSentTo(this.verifiedPhone)} ${this.t.newCodeSent}`
      this.clearError()
      this.clock.start()
      this.busy = false
      this.otp.start()
      await this.updateComplete
      this.focusPart('code-input')
    } catch (error) {
      this.busy = false
      this.fail(error, 'code', () => this.onResend())
      await this.focusAfterFailure('code-input')
    }
  }

  private async onRetry(): Promise<void> {
    const retry = this.retryable
    this.clearError()
    if (retry) await retry()
  }

  private async onChangeNumber(): Promise<void> {
    this.reset()
    await this.updateComplete
    this.focusPart('phone-input')
  }

  private partElement<T extends HTMLElement>(name: string): T | null {
    return this.renderRoot.querySelector<T>(`[part~="${name}"]`)
  }

  private focusPart(name: string): void {
    this.partElement(name)?.focus()
  }

  /** The button pressed was disabled while busy: focus goes to Try again, else to `field`. */
  private async focusAfterFailure(field: string): Promise<void> {
    await this.updateComplete
    this.focusPart(this.retryable ? 'retry-button' : field)
  }

  /** Focuses the field of the current step. */
  override focus(options?: FocusOptions): void {
    const target =
      this.step === 'code' ? 'code-input' : this.step === 'phone' ? 'phone-input' : 'done'
    const element = this.partElement(target)
    if (element) element.focus(options)
    else super.focus(options)
  }

  private renderStep() {
    const { t, on } = this
    const invalid = this.errorAt
    if (this.step === 'code' && this.verification) {
      return renderCodeStep({
        t,
        on,
        invalid,
        disabled: this.disabled,
        busy: this.busy,
        terminal: this.terminal,
        verification: this.verification,
        codeText: this.codeText,
        resendWait: Math.max(
          this.clock.secondsUntil(this.verification.resendAfter),
          this.clock.secondsUntil(this.waitUntil),
        ),
        status: this.status,
        message: this.message('code'),
        timeLocale: this.locale.tag,
      })
    }
    if (this.step === 'done') return renderDoneStep({ t, on, verifiedPhone: this.verifiedPhone })
    return renderPhoneStep({
      t,
      on,
      invalid,
      disabled: this.disabled,
      busy: this.busy,
      waiting: this.waitUntil > 0,
      message: (place) => this.message(place),
      countries: this.phone.catalog(t.$code),
      preferred: this.phone.preferred(this.preferredCountries),
      country: this.phone.find(this.phone.country, t.$code),
      phoneText: this.phone.text,
      consent: this.consent,
      consentText: this.consentText,
      marketingOffered: this.marketingOffered,
      marketing: this.marketing,
      marketingText: this.marketingText,
    })
  }

  /** The error line (with Try again) when it belongs at `place`: under the field it is about. */
  private message(place: ErrorField) {
    if (place !== (this.errorAt || (this.step === 'code' ? 'code' : 'phone'))) return nothing
    return html`<div class="error-row">
      <p id="error" part="error" role="alert">${this.error}</p>
      ${
        this.retryable
          ? html`<button part="retry-button" type="button" @click=${this.onRetry}>
            ${this.t.retry}
          </button>`
          : nothing
      }
    </div>`
  }

  protected override render() {
    return html`
      <div part="base" dir=${this.t.$dir} lang=${this.t.$code}>
        ${this.renderStep()}
        ${
          this.step === 'phone'
            ? html`<p id="status" part="status" role="status">${this.status}</p>`
            : nothing
        }
      </div>
    `
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'textgate-verify': TextgateVerify
  }
  interface GlobalEventHandlersEventMap extends TextgateEventMap {}
}
