import { html, LitElement, nothing, type PropertyValues } from 'lit'
import { createClient, TextgateApiError } from './api/client'
import { VerificationSession } from './api/session'
import { CountdownController } from './controllers/countdown'
import { FormController } from './controllers/form'
import { LocaleController } from './controllers/locale'
import { type ErrorField, ProblemController } from './controllers/problem'
import { SignalsController } from './controllers/signals'
import { SlotPresenceController } from './controllers/slot-presence'
import { WebOtpController } from './controllers/web-otp'
import type {
  CountryPickEvent,
  TextgateCountryPicker,
} from './country-picker/textgate-country-picker'
import type { TextgateEventMap, TextgateStep } from './events'
import { asciiDigits } from './phone'
import { PhoneField } from './phone/field'
import { afterPress } from './pointer'
import { renderCodeStep } from './steps/code-step'
import { renderDoneStep } from './steps/done-step'
import { renderPhoneStep } from './steps/phone-step'
import { styles } from './textgate-verify.styles'

/** Where the widget script was loaded from: the Textgate server, by default. */
const SCRIPT_ORIGIN = new URL(import.meta.url).origin

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
    status: { state: true },
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
  declare private status: string

  private readonly clock = new CountdownController(this)
  private readonly locale = new LocaleController(this)
  private readonly problem = new ProblemController(this, this.clock, () => this.t)
  private readonly formValue = new FormController(this, () => ({
    step: this.step,
    name: this.name,
    token: this.session.token,
    marketing: this.session.marketing,
    required: this.required,
    started: this.step !== 'phone' || /\d/.test(this.phone.text),
    message: this.problem.message || this.t.required,
    anchor: this.partElement(this.step === 'code' ? 'code-input' : 'phone-input') ?? undefined,
  }))
  private readonly otp = new WebOtpController(this, (code) => {
    if (this.step === 'code') this.setCode(code)
  })
  private readonly phone = new PhoneField(this, () =>
    this.partElement<HTMLInputElement>('phone-input'),
  )
  private readonly session = new VerificationSession(this, () => this.client())
  private readonly marketingSlot = new SlotPresenceController(this, 'marketing')
  private readonly signals = new SignalsController(this)
  private configRequested = false

  /** The step renders' event handlers: one object, so Lit keeps the same listeners. */
  private readonly on = {
    send: (event?: Event) => void this.onSendCode(event),
    phoneInput: (event: InputEvent) => {
      this.signals.input(event)
      this.phone.onInput(event)
      this.problem.clearAt('phone')
    },
    phoneKey: () => this.signals.key(),
    phoneFocus: () => this.signals.focus(),
    phoneBlur: () => void this.onPhoneBlur(),
    consent: (event: Event) => {
      this.consent = (event.target as HTMLInputElement).checked
      this.problem.clearAt('consent')
    },
    marketing: (event: Event) => {
      this.marketing = (event.target as HTMLInputElement).checked
    },
    pick: (event: CountryPickEvent) => {
      this.phone.choose(event.country)
      this.problem.clearAt('phone')
      this.focusPart('phone-input')
    },
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
    this.theme = ''
    this.step = 'phone'
    this.status = ''
    this.reset()
  }

  /** The token once verified, else an empty string. */
  get value(): string {
    return this.session.token
  }

  get form(): HTMLFormElement | null {
    return this.formValue.internals.form
  }

  get validity(): ValidityState {
    return this.formValue.internals.validity
  }

  get validationMessage(): string {
    return this.formValue.internals.validationMessage
  }

  get willValidate(): boolean {
    return this.formValue.internals.willValidate
  }

  checkValidity(): boolean {
    return this.formValue.internals.checkValidity()
  }

  reportValidity(): boolean {
    return this.formValue.internals.reportValidity()
  }

  /** Back to the phone step, forgetting any code and token; the number typed stays. */
  reset(): void {
    this.clock.stop()
    this.otp.stop()
    this.problem.reset()
    this.session.reset()
    this.step = 'phone'
    this.codeText = ''
    this.consent = false
    this.marketing = false
    this.status = ''
    this.busy = false
    void this.picker?.hide(false)
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.phone.detect(this.defaultCountry)
  }

  formResetCallback(): void {
    this.reset()
    this.phone.clear()
  }

  formDisabledCallback(disabled: boolean): void {
    this.disabled = disabled
  }

  /** Focuses the field of the current step. */
  override focus(options?: FocusOptions): void {
    const target = { phone: 'phone-input', code: 'code-input', done: 'done' }[this.step]
    const element = this.partElement(target)
    if (element) element.focus(options)
    else super.focus(options)
  }

  /** The widget's texts. */
  private get t() {
    return this.locale.t
  }

  /** The optional marketing checkbox is offered only when the page labels it. */
  private get marketingOffered(): boolean {
    return !!this.marketingText || this.marketingSlot.filled
  }

  private get picker(): TextgateCountryPicker | null {
    return this.renderRoot?.querySelector('textgate-country-picker') ?? null
  }

  /** Also waits for the country picker's own render. */
  protected override async getUpdateComplete(): Promise<boolean> {
    const done = await super.getUpdateComplete()
    await this.picker?.updateComplete
    return done
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('defaultCountry') && this.isConnected) this.phone.detect(this.defaultCountry)
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (!this.configRequested && this.publishableKey && this.isConnected) {
      // The project's settings, asked once; without them the widget still works.
      this.configRequested = true
      void this.phone.loadConfig(
        () => this.client().config(),
        () => this.defaultCountry,
      )
    }
    if (changed.has('step' as keyof TextgateVerify)) {
      const phone = this.step === 'phone' ? {} : { phone: this.session.e164 }
      this.dispatch('textgate-step', { step: this.step, ...phone })
    }
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

  /** Shows a refused request's message and tells the page; `retry` repeats a network failure. */
  private fail(error: unknown, at: ErrorField, retry: () => Promise<void>): void {
    this.dispatch('textgate-error', this.problem.fail(error, at, retry, this.step === 'code'))
  }

  /** One request of the flow, with the controls busy; a refusal is shown at `at` and returned. */
  private async request<T>(at: ErrorField, retry: () => Promise<void>, run: () => Promise<T>) {
    this.busy = true
    try {
      return { value: await run() }
    } catch (error) {
      this.fail(error, at, retry)
      return { error }
    } finally {
      this.busy = false
    }
  }

  /** Checks the number when the shopper leaves the field, so problems show before sending. */
  private async onPhoneBlur(): Promise<void> {
    if (!/\d/.test(this.phone.text) || this.step !== 'phone') return
    const checked = await this.phone.validate(this.t).catch(() => undefined)
    if (!checked || !('problem' in checked) || this.step !== 'phone') return
    // Leaving the field by pressing another control (consent, Send, the store's button): the
    // message, which moves what is below it, waits until that press is over, so it lands.
    await afterPress()
    if (this.step === 'phone' && !this.problem.message) this.problem.show(checked.problem, 'phone')
  }

  private async onSendCode(event?: Event): Promise<void> {
    event?.preventDefault()
    if (this.busy) return
    this.problem.clear()
    const retry = () => this.onSendCode()
    const checked = await this.phone.validate(this.t).catch(() => undefined)
    if (!checked)
      return this.fail(new TextgateApiError('network_error', 'metadata', 0), 'phone', retry)
    if ('problem' in checked) {
      this.problem.show(checked.problem, 'phone')
      return this.focusPart('phone-input')
    }
    if (!this.consent) {
      this.problem.show(this.t.consentMissing, 'consent')
      return this.focusPart('consent-checkbox')
    }
    const started = await this.request('phone', retry, () =>
      this.session.start({
        number: checked.number,
        consentVersion: this.consentVersion,
        marketing: this.marketingOffered ? this.marketing : undefined,
        locale: this.t.$code,
        captchaToken: this.captchaToken,
        signals: this.signals.collect(),
      }),
    )
    if ('error' in started) return this.focusAfterFailure('phone-input')
    this.codeText = ''
    this.status = this.t.codeSentTo(this.session.shownPhone)
    this.step = 'code'
    this.clock.start()
    await this.focusAfter('code-input')
    this.otp.start()
  }

  private setCode(text: string): void {
    const length = this.session.pending?.codeLength ?? 6
    const digits = asciiDigits(text).replace(/\D/g, '').slice(0, length)
    const input = this.partElement<HTMLInputElement>('code-input')
    if (input) input.value = digits
    this.codeText = digits
    if (!this.problem.terminal) this.problem.clearAt('code')
    if (digits.length === length) void this.onCheck()
  }

  private async onCheck(event?: Event): Promise<void> {
    event?.preventDefault()
    const pending = this.session.pending
    if (!pending || this.busy || this.problem.terminal) return
    if (this.codeText.length !== pending.codeLength) {
      this.problem.show(this.t.codeLabel(pending.codeLength), 'code')
      return this.focusPart('code-input')
    }
    this.otp.stop()
    const checked = await this.request(
      'code',
      () => this.onCheck(),
      () => this.session.check(this.codeText),
    )
    if ('error' in checked) {
      const { error } = checked
      if (error instanceof TextgateApiError && error.code === 'incorrect_code') {
        this.codeText = ''
        await this.updateComplete
        const input = this.partElement<HTMLInputElement>('code-input')
        if (input) input.value = ''
        input?.focus()
      } else if (this.problem.terminal) await this.focusAfter('change-button')
      else await this.focusAfterFailure('code-input')
      return
    }
    const token = checked.value
    this.clock.stop()
    this.step = 'done'
    this.status = ''
    this.problem.clear()
    const { e164: phone, marketing } = this.session
    this.dispatch('textgate-verified', { token, phone, verificationId: pending.id, marketing })
    await this.focusAfter('done')
  }

  private async onResend(): Promise<void> {
    if (!this.session.pending || this.busy) return
    const resent = await this.request(
      'code',
      () => this.onResend(),
      () => this.session.resend(),
    )
    if ('error' in resent) return this.focusAfterFailure('code-input')
    // The number stays in view: "We sent a code to … A new code is on its way."
    this.status = `${this.t.codeSentTo(this.session.shownPhone)} ${this.t.newCodeSent}`
    this.problem.clear()
    this.clock.start()
    this.otp.start()
    await this.focusAfter('code-input')
  }

  private async onChangeNumber(): Promise<void> {
    this.reset()
    await this.focusAfter('phone-input')
  }

  private partElement<T extends HTMLElement>(name: string): T | null {
    return this.renderRoot?.querySelector<T>(`[part~="${name}"]`) ?? null
  }

  private focusPart(name: string): void {
    this.partElement(name)?.focus()
  }

  /** Focuses a part once the state just set is rendered. */
  private async focusAfter(name: string): Promise<void> {
    await this.updateComplete
    this.focusPart(name)
  }

  /** The button pressed was disabled while busy: focus goes to Try again, else to `field`. */
  private focusAfterFailure(field: string): Promise<void> {
    return this.focusAfter(this.problem.retry ? 'retry-button' : field)
  }

  private renderStep() {
    const { t, on, problem } = this
    const common = { t, on, invalid: problem.at, disabled: this.disabled, busy: this.busy }
    const verification = this.session.pending
    if (this.step === 'code' && verification) {
      return renderCodeStep({
        ...common,
        terminal: problem.terminal,
        verification,
        codeText: this.codeText,
        resendWait: Math.max(
          this.clock.secondsUntil(verification.resendAfter),
          this.clock.secondsUntil(problem.waitUntil),
        ),
        status: this.status,
        message: problem.render('code', 'code'),
        timeLocale: this.locale.tag,
      })
    }
    if (this.step === 'done')
      return renderDoneStep({ t, on, verifiedPhone: this.session.shownPhone })
    return renderPhoneStep({
      ...common,
      waiting: problem.waitUntil > 0,
      message: (place) => problem.render(place, 'phone'),
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
