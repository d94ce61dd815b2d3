import type { StartVerificationResponse, WidgetConfigResponse } from '@textgate/shared'
import { html, LitElement, nothing, type PropertyValues } from 'lit'
import { createClient, TextgateApiError } from './api/client'
import { chooseLocale, en, type Locale, loadedTranslation, loadTranslation } from './i18n'
import {
  type Country,
  type CountryCode,
  checkPhone,
  countryFromLanguages,
  countryList,
  dialCodeOf,
  formatInput,
  isCountry,
  loadFor,
} from './phone'
import { canShowFlags, searchCountries } from './phone/search'
import { styles } from './textgate-verify.styles'
import type { Translation } from './translations/en'

export type TextgateStep = 'phone' | 'code' | 'done'

export interface TextgateVerifiedDetail {
  token: string
  /** E.164. */
  phone: string
  verificationId: string
  /** The shopper ticked the optional marketing checkbox before the code was sent. */
  marketing: boolean
}
export interface TextgateStepDetail {
  step: TextgateStep
}
export interface TextgateErrorDetail {
  /** A server error code (`rate_limited`, `blocked`…), `network_error` or `unknown`. */
  code: string
  /** The message shown to the shopper, in the widget's language. */
  message: string
  /** Seconds to wait, for `rate_limited`. */
  retryAfter?: number
}

/** Where the widget script was loaded from: the Textgate server, by default. */
const SCRIPT_ORIGIN = new URL(import.meta.url).origin

/** Error codes after which the verification cannot go on: the shopper starts again. */
const TERMINAL = new Set([
  'verification_expired',
  'max_attempts_reached',
  'verification_not_pending',
  'verification_not_found',
])

/** Failures worth repeating as they were: "Try again" offers that. */
const RETRYABLE = new Set(['network_error', 'service_unavailable', 'internal_error'])

/** The country panel goes in the top layer where `popover` exists: no ancestor can clip it. */
const POPOVER = typeof HTMLElement !== 'undefined' && 'showPopover' in HTMLElement.prototype

interface OtpCredentials {
  get(options: { otp: { transport: string[] }; signal: AbortSignal }): Promise<{ code?: string }>
}

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
 * @attr {string} consent-text - Text of the consent checkbox; the `consent` slot replaces it.
 * @attr {string} consent-version - Sent with the verification, and in the token's `consent.version`.
 * @attr {string} marketing-text - Label of the optional marketing checkbox; shows it.
 * @attr {string} lang - Language of the texts; else the page's `<html lang>`, else the browser's.
 * @attr {string} theme - `light` or `dark`; without it the widget follows `prefers-color-scheme`.
 *
 * @prop {string} server - Base URL of the Textgate server; defaults to where widget.js came from.
 * @prop {string | undefined} captchaToken - A Turnstile or hCaptcha token sent with the start.
 * @prop {string} value - The token once verified, else an empty string (read-only).
 * @prop {HTMLFormElement | null} form - The form the element belongs to (read-only).
 *
 * @fires {CustomEvent<TextgateStepDetail>} textgate-step - The shopper moved to another step;
 *   `detail: { step }`.
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
    consentText: { type: String, attribute: 'consent-text' },
    consentVersion: { type: String, attribute: 'consent-version' },
    marketingText: { type: String, attribute: 'marketing-text' },
    captchaToken: { type: String, attribute: false },
    theme: { type: String, reflect: true },
    t: { state: true },
    step: { state: true },
    country: { state: true },
    phoneText: { state: true },
    consent: { state: true },
    marketing: { state: true },
    marketingSlotted: { state: true },
    codeText: { state: true },
    busy: { state: true },
    error: { state: true },
    errorAt: { state: true },
    retryable: { state: true },
    terminal: { state: true },
    status: { state: true },
    verification: { state: true },
    verifiedPhone: { state: true },
    clock: { state: true },
    pickerOpen: { state: true },
    query: { state: true },
    active: { state: true },
    allowed: { state: true },
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
  declare consentText: string
  /** Sent with the verification, and in the token's `consent.version` claim. */
  declare consentVersion: string
  /**
   * A Turnstile or hCaptcha response token from the store's own widget, sent with the start;
   * the server accepts it instead of a proof of work when the project configured that captcha.
   */
  declare captchaToken: string | undefined
  /** `light` or `dark`; unset follows the system. */
  declare theme: string
  /**
   * Label of an optional marketing opt-in checkbox, shown only when this (or the `marketing`
   * slot) is given. Never ticked by default; once verified, the form also submits
   * `<name>_marketing=yes` when the shopper ticked it.
   */
  declare marketingText: string

  declare private t: Translation
  declare private step: TextgateStep
  declare private country: CountryCode | undefined
  declare private phoneText: string
  declare private consent: boolean
  declare private marketing: boolean
  /** The page put an element in the `marketing` slot. */
  declare private marketingSlotted: boolean
  declare private codeText: string
  declare private busy: boolean
  declare private error: string
  /** Which field the error is about, for aria-invalid. */
  declare private errorAt: 'phone' | 'consent' | 'code' | ''
  /** The failed action, when a retry can repeat it (network failures). */
  declare private retryable: (() => Promise<void>) | undefined
  /** The verification cannot go on: only "Start again" is offered. */
  declare private terminal: boolean
  declare private status: string
  declare private verification: StartVerificationResponse | undefined
  declare private verifiedPhone: string
  declare private clock: number
  declare private pickerOpen: boolean
  declare private query: string
  declare private active: number
  /** The only countries the project accepts (from `GET /v1/config`), or null for all. */
  declare private allowed: readonly CountryCode[] | null

  private readonly internals: ElementInternals
  /** The shopper picked a country in the list: nothing detected replaces it. */
  private countryChosen = false
  /** The shopper typed or pasted a number with `+`: its country is theirs, as if chosen. */
  private countryTyped = false
  /** The server's guess of the shopper's country (CDN headers, Accept-Language). */
  private serverHint: CountryCode | undefined
  private configRequested = false
  private verifiedE164 = ''
  /** The marketing opt-in sent with the verification that is pending or done. */
  private marketingSent = false
  private childObserver: MutationObserver | undefined
  private token = ''
  private countdown: ReturnType<typeof setInterval> | undefined
  private idempotencyKey = ''
  private countries: Country[] | undefined
  private otp: AbortController | undefined
  private locale: Locale = 'en'
  private pageLangObserver: MutationObserver | undefined

  constructor() {
    super()
    this.internals = this.attachInternals()
    this.publishableKey = ''
    this.name = ''
    this.required = false
    this.disabled = false
    this.server = SCRIPT_ORIGIN
    this.defaultCountry = ''
    this.consentText = ''
    this.consentVersion = 'v1'
    this.marketingText = ''
    this.marketing = false
    this.marketingSlotted = false
    this.theme = ''
    this.t = en
    this.step = 'phone'
    this.country = undefined
    this.phoneText = ''
    this.consent = false
    this.codeText = ''
    this.busy = false
    this.error = ''
    this.errorAt = ''
    this.retryable = undefined
    this.terminal = false
    this.status = ''
    this.verification = undefined
    this.verifiedPhone = ''
    this.clock = Date.now()
    this.pickerOpen = false
    this.query = ''
    this.active = 0
    this.allowed = null
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
    this.stopCountdown()
    this.stopOtp()
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
    this.verifiedE164 = ''
    this.idempotencyKey = ''
    this.busy = false
    this.pickerOpen = false
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.detectCountry()
    this.marketingSlotted = this.hasMarketingSlot()
    this.childObserver = new MutationObserver(() => {
      this.marketingSlotted = this.hasMarketingSlot()
    })
    this.childObserver.observe(this, { childList: true, subtree: true, attributeFilter: ['slot'] })
    this.pageLangObserver = new MutationObserver(() => this.applyLocale())
    this.pageLangObserver.observe(document.documentElement, { attributeFilter: ['lang'] })
    this.applyLocale()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.stopCountdown()
    this.stopOtp()
    this.stopFollowing()
    this.pageLangObserver?.disconnect()
    this.childObserver?.disconnect()
  }

  private hasMarketingSlot(): boolean {
    return [...this.children].some((child) => child.slot === 'marketing')
  }

  /** The optional marketing checkbox is offered only when the page labels it. */
  private get marketingOffered(): boolean {
    return !!this.marketingText || this.marketingSlotted
  }

  /** `lang` is HTMLElement's own property: watched here rather than declared to Lit. */
  static override get observedAttributes(): string[] {
    // biome-ignore lint/complexity/noThisInStatic: super must see this class's Lit properties.
    return [...super.observedAttributes, 'lang']
  }

  override attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    super.attributeChangedCallback(name, old, value)
    if (name === 'lang' && this.isConnected) this.applyLocale()
  }

  formResetCallback(): void {
    this.reset()
    this.phoneText = ''
  }

  formDisabledCallback(disabled: boolean): void {
    this.disabled = disabled
  }

  /** The texts in use: the element's lang, else the page's, else the browser's languages. */
  private applyLocale(): void {
    const locale = chooseLocale(
      this.getAttribute('lang') ?? '',
      document.documentElement.lang,
      navigator.languages ?? [navigator.language],
    )
    this.locale = locale
    const ready = loadedTranslation(locale)
    if (ready) this.setTranslation(ready)
    else
      void loadTranslation(locale).then((translation) => {
        if (this.locale === locale) this.setTranslation(translation)
      })
  }

  private setTranslation(translation: Translation): void {
    if (translation === this.t) return
    this.t = translation
    this.countries = undefined
  }

  /**
   * The starting country, unless the shopper chose one or typed a number with `+`: the
   * `default-country` attribute, else the server's hint, else the browser's languages —
   * the first the project accepts, else the first country it accepts.
   */
  private detectCountry(): void {
    if (this.countryChosen || this.countryTyped) return
    const allowed = this.allowed
    const accepted = (code: string | undefined): code is CountryCode =>
      isCountry(code) && (!allowed || allowed.includes(code.toUpperCase() as CountryCode))
    const candidates = [
      this.defaultCountry.toUpperCase(),
      this.serverHint,
      countryFromLanguages(navigator.languages ?? [navigator.language]),
    ]
    const found = candidates.find(accepted) ?? allowed?.[0]
    const next = found ? (found.toUpperCase() as CountryCode) : undefined
    if (next !== this.country) this.setCountry(next)
  }

  /** Asks the server for the project's settings once; without them the widget still works. */
  private async loadConfig(): Promise<void> {
    let config: WidgetConfigResponse
    try {
      config = await this.client().config()
    } catch {
      return // The server checks the country at the start anyway.
    }
    this.serverHint = isCountry(config.country)
      ? (config.country.toUpperCase() as CountryCode)
      : undefined
    const allowed = (config.allowedCountries ?? [])
      .map((code) => code.toUpperCase())
      .filter((code): code is CountryCode => isCountry(code))
    this.allowed = allowed.length ? allowed : null
    this.countries = undefined
    this.detectCountry()
  }

  /** A message when the project does not take numbers of `country`, else undefined. */
  private notOffered(country: CountryCode): string | undefined {
    if (!this.allowed || this.allowed.includes(country)) return undefined
    let name: string = country
    try {
      name = new Intl.DisplayNames([this.t.$code, 'en'], { type: 'region' }).of(country) ?? country
    } catch {
      // The ISO code stands in for the name.
    }
    return this.t.countryNotOffered(name)
  }

  /** Sets the country and loads its phone metadata, then formats the number again. */
  private setCountry(country: CountryCode | undefined): void {
    this.country = country
    void this.loadPhoneData()
  }

  private async loadPhoneData(): Promise<void> {
    try {
      await loadFor(this.phoneText, this.country)
    } catch {
      return // Offline: the number stays unformatted; checking it reports the network failure.
    }
    const input = this.partElement<HTMLInputElement>('phone-input')
    const caret = input ? (input.selectionStart ?? this.phoneText.length) : this.phoneText.length
    const focused = !!input && this.shadowRoot?.activeElement === input
    this.applyFormatted(formatInput(this.phoneText, caret, this.country), input, focused)
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('defaultCountry') && this.isConnected) this.detectCountry()
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (!this.configRequested && this.publishableKey && this.isConnected) {
      this.configRequested = true
      void this.loadConfig()
    }
    if (changed.has('step' as keyof TextgateVerify)) {
      this.dispatch('textgate-step', { step: this.step })
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
    if (changed.has('pickerOpen' as keyof TextgateVerify)) {
      if (this.pickerOpen) this.showPanel()
      else this.stopFollowing()
    }
    if (changed.has('active' as keyof TextgateVerify) && this.pickerOpen) {
      this.renderRoot
        .querySelector(`#country-${this.activeCountry()?.code}`)
        ?.scrollIntoView({ block: 'nearest' })
    }
    this.syncFormValue()
  }

  private syncFormValue(): void {
    if (this.token && this.name && this.marketingSent) {
      // The opt-in travels beside the token, as its own field: the token's claims stay fixed.
      const value = new FormData()
      value.append(this.name, this.token)
      value.append(`${this.name}_marketing`, 'yes')
      this.internals.setFormValue(value)
    } else {
      this.internals.setFormValue(this.token || null)
    }
    const anchor =
      this.partElement<HTMLElement>(this.step === 'code' ? 'code-input' : 'phone-input') ??
      undefined
    if (this.required && !this.token) {
      // Nothing typed: "value missing"; otherwise the problem shown at the field, if any.
      const started = this.step !== 'phone' || /\d/.test(this.phoneText)
      this.internals.setValidity(
        started ? { customError: true } : { valueMissing: true },
        this.error || this.t.required,
        anchor,
      )
    } else {
      this.internals.setValidity({})
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

  private clearError(): void {
    this.error = ''
    this.errorAt = ''
    this.retryable = undefined
    this.terminal = false
  }

  private showError(message: string, at: TextgateVerify['errorAt']): void {
    this.error = message
    this.errorAt = at
    this.retryable = undefined
    this.terminal = false
  }

  /** Shows a refused request's message; `retry` repeats the action after a network failure. */
  private fail(error: unknown, at: TextgateVerify['errorAt'], retry?: () => Promise<void>): void {
    const apiError =
      error instanceof TextgateApiError ? error : new TextgateApiError('unknown', String(error), 0)
    const t = this.t
    const errors = t.errors as Record<string, string | undefined>
    let message = errors[apiError.code] ?? t.errors.unknown
    if (apiError.code === 'incorrect_code' && typeof apiError.details.attemptsLeft === 'number') {
      message = `${message} ${t.attemptsLeft(apiError.details.attemptsLeft)}`
    }
    if (apiError.code === 'rate_limited') {
      message = apiError.retryAfterSeconds
        ? t.rateLimited(apiError.retryAfterSeconds)
        : t.rateLimitedNoWait
    }
    this.showError(message, at)
    if (RETRYABLE.has(apiError.code)) this.retryable = retry
    this.terminal = this.step === 'code' && TERMINAL.has(apiError.code)
    const detail: TextgateErrorDetail = { code: apiError.code, message }
    if (apiError.retryAfterSeconds) detail.retryAfter = apiError.retryAfterSeconds
    this.dispatch('textgate-error', detail)
  }

  /** Shows a formatted number; `moveCaret` when the shopper is typing in the field. */
  private applyFormatted(
    result: ReturnType<typeof formatInput>,
    input: HTMLInputElement | null,
    moveCaret: boolean,
  ): void {
    this.phoneText = result.text
    if (input) {
      if (input.value !== result.text) input.value = result.text
      if (moveCaret) input.setSelectionRange(result.caret, result.caret)
    }
    // A number typed with + names its country: the shopper's own input, so it may change it.
    if (result.country) this.countryTyped = true
    if (result.country && result.country !== this.country) this.country = result.country
  }

  private onPhoneInput(event: InputEvent): void {
    const input = event.target as HTMLInputElement
    const result = formatInput(
      input.value,
      input.selectionStart ?? input.value.length,
      this.country,
      event.inputType ?? '',
      this.phoneText,
    )
    this.applyFormatted(result, input, true)
    if (this.errorAt === 'phone') this.clearError()
    if (result.text.startsWith('+') && !result.country) void this.loadPhoneData()
  }

  /** Checks the number when the shopper leaves the field, so problems show before sending. */
  private async onPhoneBlur(): Promise<void> {
    if (!this.phoneText.replace(/\D/g, '') || this.step !== 'phone') return
    const checked = await checkPhone(this.phoneText, this.country).catch(() => undefined)
    if (!checked || this.step !== 'phone') return
    const problem = checked.ok
      ? this.notOffered(checked.country)
      : this.t.phoneErrors[checked.reason]
    if (problem) this.showError(problem, 'phone')
  }

  private async onSendCode(event?: Event): Promise<void> {
    event?.preventDefault()
    if (this.busy) return
    this.clearError()
    let checked: Awaited<ReturnType<typeof checkPhone>>
    try {
      checked = await checkPhone(this.phoneText, this.country)
    } catch {
      this.fail(new TextgateApiError('network_error', 'metadata', 0), 'phone', () =>
        this.onSendCode(),
      )
      return
    }
    if (!checked.ok) {
      this.showError(this.t.phoneErrors[checked.reason], 'phone')
      this.focusPart('phone-input')
      return
    }
    const notOffered = this.notOffered(checked.country)
    if (notOffered) {
      this.showError(notOffered, 'phone')
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
        },
        this.idempotencyKey,
      )
      this.idempotencyKey = ''
      this.verification = started
      this.marketingSent = marketing === true
      this.verifiedPhone = checked.international
      this.verifiedE164 = checked.e164
      this.codeText = ''
      this.status = this.t.codeSentTo(checked.international)
      this.step = 'code'
      this.busy = false
      this.startCountdown()
      await this.updateComplete
      this.focusPart('code-input')
      this.startOtp()
    } catch (error) {
      // A network failure keeps the Idempotency-Key: the retry cannot send a second SMS.
      if (!(error instanceof TextgateApiError && error.code === 'network_error')) {
        this.idempotencyKey = ''
      }
      this.busy = false
      this.fail(error, 'phone', () => this.onSendCode())
    }
  }

  /** WebOTP: the browser offers the code from an SMS ending in `@host #code`. */
  private startOtp(): void {
    this.stopOtp()
    const credentials = navigator.credentials as unknown as OtpCredentials | undefined
    if (!('OTPCredential' in window) || !credentials) return
    const controller = new AbortController()
    this.otp = controller
    credentials
      .get({ otp: { transport: ['sms'] }, signal: controller.signal })
      .then((credential) => {
        if (controller.signal.aborted || this.step !== 'code' || !credential?.code) return
        this.setCode(credential.code)
      })
      .catch(() => {
        // Aborted, refused or unsupported: the shopper types the code.
      })
  }

  private stopOtp(): void {
    this.otp?.abort()
    this.otp = undefined
  }

  private setCode(text: string): void {
    const length = this.verification?.codeLength ?? 6
    const digits = text.replace(/\D/g, '').slice(0, length)
    const input = this.partElement<HTMLInputElement>('code-input')
    if (input) input.value = digits
    this.codeText = digits
    if (this.errorAt === 'code' && !this.terminal) this.clearError()
    if (digits.length === length) void this.onCheck()
  }

  private onCodeInput(event: Event): void {
    // The shopper types: WebOTP stops waiting.
    this.stopOtp()
    this.setCode((event.target as HTMLInputElement).value)
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
    this.stopOtp()
    this.busy = true
    try {
      const checked = await this.client().check(verification.id, this.codeText)
      this.token = checked.token
      this.stopCountdown()
      this.busy = false
      this.step = 'done'
      this.status = this.t.verified(this.verifiedPhone)
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
      this.status = this.t.newCodeSent
      this.clearError()
      this.startCountdown()
      this.startOtp()
    } catch (error) {
      this.fail(error, 'code', () => this.onResend())
    } finally {
      this.busy = false
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

  private startCountdown(): void {
    this.stopCountdown()
    this.clock = Date.now()
    this.countdown = setInterval(() => {
      this.clock = Date.now()
    }, 1000)
  }

  private stopCountdown(): void {
    if (this.countdown) clearInterval(this.countdown)
    this.countdown = undefined
  }

  private partElement<T extends HTMLElement>(name: string): T | null {
    return this.renderRoot.querySelector<T>(`[part~="${name}"]`)
  }

  private focusPart(name: string): void {
    this.partElement(name)?.focus()
  }

  /** Focuses the field of the current step. */
  override focus(options?: FocusOptions): void {
    const target =
      this.step === 'code' ? 'code-input' : this.step === 'phone' ? 'phone-input' : 'done'
    const element = this.partElement(target)
    if (element) element.focus(options)
    else super.focus(options)
  }

  // ── Country picker: a button opening an in-shadow combobox (search field) and listbox ──

  /** Every country the project accepts, in the widget's language. */
  private countryCatalog(): Country[] {
    const allowed = this.allowed
    this.countries ??= countryList(this.t.$code).filter((c) => !allowed || allowed.includes(c.code))
    return this.countries
  }

  private countryOptions(): Country[] {
    return searchCountries(this.countryCatalog(), this.query)
  }

  private activeCountry(): Country | undefined {
    return this.countryOptions()[this.active]
  }

  private async openPicker(): Promise<void> {
    if (this.disabled || this.busy) return
    this.query = ''
    const options = this.countryOptions()
    this.active = Math.max(
      0,
      options.findIndex((c) => c.code === this.country),
    )
    this.pickerOpen = true
    await this.updateComplete
    this.focusPart('country-search')
  }

  private async closePicker(focusButton = true): Promise<void> {
    this.pickerOpen = false
    if (focusButton) {
      await this.updateComplete
      this.focusPart('country-button')
    }
  }

  private readonly followButton = () => this.placePanel()

  /** Shows the panel in the top layer, under the button (above it when there is no room). */
  private showPanel(): void {
    const panel = this.partElement('country-panel')
    if (!panel || !POPOVER) return
    if (!panel.matches(':popover-open')) panel.showPopover()
    this.placePanel()
    window.addEventListener('scroll', this.followButton, true)
    window.addEventListener('resize', this.followButton)
  }

  private placePanel(): void {
    const panel = this.partElement('country-panel')
    const button = this.partElement('country-button')
    if (!panel || !button || !POPOVER) return
    const anchor = button.getBoundingClientRect()
    const height = panel.offsetHeight
    const below = anchor.bottom + 4
    const top =
      below + height > window.innerHeight && anchor.top - 4 - height >= 0
        ? anchor.top - 4 - height
        : below
    panel.style.top = `${top}px`
    if (this.t.$dir === 'rtl') {
      panel.style.left = 'auto'
      panel.style.right = `${Math.max(0, document.documentElement.clientWidth - anchor.right)}px`
    } else {
      panel.style.right = 'auto'
      panel.style.left = `${Math.max(0, anchor.left)}px`
    }
  }

  private stopFollowing(): void {
    window.removeEventListener('scroll', this.followButton, true)
    window.removeEventListener('resize', this.followButton)
  }

  private chooseCountry(country: Country): void {
    const previous = dialCodeOf(this.country)
    // An international number in the field moves to the new dial code.
    if (previous && this.phoneText.startsWith(`+${previous}`)) {
      this.phoneText = `+${country.dialCode}${this.phoneText.slice(previous.length + 1)}`
    }
    this.countryChosen = true
    this.setCountry(country.code)
    if (this.errorAt === 'phone') this.clearError()
    void this.closePicker(false).then(() => this.focusPart('phone-input'))
  }

  private onPickerButtonKey(event: KeyboardEvent): void {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      void this.openPicker()
    }
  }

  private onSearchInput(event: Event): void {
    this.query = (event.target as HTMLInputElement).value
    this.active = 0
  }

  private onSearchKey(event: KeyboardEvent): void {
    const count = this.countryOptions().length
    const steps: Record<string, number> = {
      ArrowDown: 1,
      ArrowUp: -1,
      PageDown: 10,
      PageUp: -10,
    }
    // Home and End move the caret in the search text; with Ctrl they go to the list's ends.
    if (event.ctrlKey && event.key === 'Home') steps.Home = -count
    if (event.ctrlKey && event.key === 'End') steps.End = count
    const step = steps[event.key]
    if (step !== undefined) {
      event.preventDefault()
      this.active = Math.min(Math.max(this.active + step, 0), Math.max(count - 1, 0))
    } else if (event.key === 'Enter') {
      event.preventDefault()
      const country = this.activeCountry()
      if (country) this.chooseCountry(country)
    } else if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation()
      void this.closePicker()
    } else if (event.key === 'Tab') {
      void this.closePicker(false)
    }
  }

  private onPickerFocusOut(event: FocusEvent): void {
    const next = event.relatedTarget as Node | null
    const picker = this.renderRoot.querySelector('.picker')
    if (this.pickerOpen && (!next || !picker?.contains(next))) this.pickerOpen = false
  }

  private flag(country: Country | undefined) {
    if (!country) return html`<span class="flag" aria-hidden="true">🌐</span>`
    return canShowFlags()
      ? html`<span class="flag" aria-hidden="true">${country.flag}</span>`
      : html`<span class="flag iso" aria-hidden="true">${country.code}</span>`
  }

  private renderPicker() {
    const t = this.t
    const current =
      this.countryCatalog().find((c) => c.code === this.country) ??
      countryList(t.$code).find((c) => c.code === this.country)
    const options = this.pickerOpen ? this.countryOptions() : []
    const active = options[this.active]
    return html`
      <div class="picker" @focusout=${this.onPickerFocusOut}>
        <button
          part="country-button"
          type="button"
          aria-haspopup="listbox"
          aria-expanded=${this.pickerOpen ? 'true' : 'false'}
          ?disabled=${this.disabled || this.busy}
          @click=${() => (this.pickerOpen ? this.closePicker() : this.openPicker())}
          @keydown=${this.onPickerButtonKey}
        >
          ${this.flag(current)}<span class="visually-hidden">${t.countryButton(current?.name)}</span
          ><span class="dial" dir="ltr">${current ? `+${current.dialCode}` : ''}</span>
        </button>
        ${
          this.pickerOpen
            ? html`<div part="country-panel" class="panel" popover=${POPOVER ? 'manual' : nothing}>
              <input
                part="country-search"
                type="text"
                role="combobox"
                autocomplete="off"
                spellcheck="false"
                aria-label=${t.countrySearch}
                placeholder=${t.countrySearch}
                aria-expanded="true"
                aria-controls="country-list"
                aria-autocomplete="list"
                aria-activedescendant=${active ? `country-${active.code}` : nothing}
                .value=${this.query}
                @input=${this.onSearchInput}
                @keydown=${this.onSearchKey}
              />
              <ul id="country-list" part="country-list" role="listbox" aria-label=${t.countryLabel}>
                ${options.map(
                  (c, index) => html`<li
                    id="country-${c.code}"
                    part="country-option"
                    role="option"
                    aria-selected=${index === this.active ? 'true' : 'false'}
                    class=${c.code === this.country ? 'current' : ''}
                    @pointerdown=${(e: Event) => e.preventDefault()}
                    @click=${() => this.chooseCountry(c)}
                  >
                    ${this.flag(c)}<span class="name">${c.name}</span
                    ><span class="dial" dir="ltr">+${c.dialCode}</span>
                  </li>`,
                )}
              </ul>
              <p class="visually-hidden" role="status">
                ${options.length ? t.countryResults(options.length) : t.noCountryMatch}
              </p>
              ${options.length ? nothing : html`<p class="hint">${t.noCountryMatch}</p>`}
            </div>`
            : nothing
        }
      </div>
    `
  }

  private renderPhoneStep() {
    const t = this.t
    return html`
      <form class="step" novalidate @submit=${this.onSendCode}>
        <div>
          <label for="phone">${t.phoneLabel}</label>
          <div class="row">
            ${this.renderPicker()}
            <input
              id="phone"
              part="phone-input"
              type="tel"
              dir="ltr"
              autocomplete="tel"
              inputmode="tel"
              placeholder=${t.phonePlaceholder}
              .value=${this.phoneText}
              aria-invalid=${this.errorAt === 'phone' ? 'true' : 'false'}
              aria-describedby="error"
              ?disabled=${this.disabled || this.busy}
              @input=${this.onPhoneInput}
              @blur=${this.onPhoneBlur}
            />
          </div>
        </div>
        <label part="consent">
          <input
            part="consent-checkbox"
            type="checkbox"
            .checked=${this.consent}
            aria-invalid=${this.errorAt === 'consent' ? 'true' : 'false'}
            ?disabled=${this.disabled || this.busy}
            @change=${(e: Event) => {
              this.consent = (e.target as HTMLInputElement).checked
              if (this.errorAt === 'consent') this.clearError()
            }}
          />
          <span><slot name="consent">${this.consentText || t.consentDefault}</slot></span>
        </label>
        ${
          this.marketingOffered
            ? html`<label part="marketing">
                <input
                  part="marketing-checkbox"
                  type="checkbox"
                  .checked=${this.marketing}
                  ?disabled=${this.disabled || this.busy}
                  @change=${(e: Event) => {
                    this.marketing = (e.target as HTMLInputElement).checked
                  }}
                />
                <span><slot name="marketing">${this.marketingText}</slot></span>
              </label>`
            : nothing
        }
        <div class="actions">
          <button part="submit-button" type="submit" ?disabled=${this.disabled || this.busy}>
            ${this.busy ? t.sending : t.sendCode}
          </button>
        </div>
      </form>
    `
  }

  private renderCodeStep(verification: StartVerificationResponse) {
    const t = this.t
    const waitSeconds = Math.max(
      0,
      Math.ceil((Date.parse(verification.resendAfter) - this.clock) / 1000),
    )
    const expires = new Date(verification.expiresAt).toLocaleTimeString(t.$code, {
      hour: 'numeric',
      minute: '2-digit',
    })
    return html`
      <form class="step" novalidate @submit=${this.onCheck}>
        <div>
          <label for="code">${t.codeLabel(verification.codeLength)}</label>
          <input
            id="code"
            part="code-input"
            type="text"
            dir="ltr"
            inputmode="numeric"
            autocomplete="one-time-code"
            .value=${this.codeText}
            aria-invalid=${this.errorAt === 'code' ? 'true' : 'false'}
            aria-describedby="status error"
            ?disabled=${this.disabled || this.terminal}
            @input=${this.onCodeInput}
          />
        </div>
        <p class="hint">${t.expiresAt(expires)}</p>
        <div class="actions">
          ${
            this.terminal
              ? nothing
              : html`<button
                  part="submit-button"
                  type="submit"
                  ?disabled=${this.disabled || this.busy}
                >
                  ${this.busy ? t.verifying : t.verify}
                </button>
                <button
                  part="resend-button"
                  type="button"
                  ?disabled=${this.disabled || this.busy || waitSeconds > 0}
                  @click=${this.onResend}
                >
                  ${waitSeconds > 0 ? t.resendIn(waitSeconds) : t.resend}
                </button>`
          }
          <button
            part="change-button"
            type="button"
            ?disabled=${this.busy}
            @click=${this.onChangeNumber}
          >
            ${this.terminal ? t.startAgain : t.changeNumber}
          </button>
        </div>
      </form>
    `
  }

  private renderDoneStep() {
    return html`
      <p part="done" tabindex="-1">✓ ${this.t.verified(this.verifiedPhone)}</p>
      <div class="actions">
        <button part="change-button" type="button" @click=${this.onChangeNumber}>
          ${this.t.changeNumber}
        </button>
      </div>
    `
  }

  protected override render() {
    const body =
      this.step === 'code' && this.verification
        ? this.renderCodeStep(this.verification)
        : this.step === 'done'
          ? this.renderDoneStep()
          : this.renderPhoneStep()
    return html`
      <div part="base" dir=${this.t.$dir} lang=${this.t.$code}>
        ${body}
        <p id="status" part="status" role="status">${this.status}</p>
        <div class="error-row">
          <p id="error" part="error" role="alert">${this.error}</p>
          ${
            this.retryable
              ? html`<button part="retry-button" type="button" @click=${this.onRetry}>
                ${this.t.retry}
              </button>`
              : nothing
          }
        </div>
      </div>
    `
  }
}

export interface TextgateEventMap {
  'textgate-step': CustomEvent<TextgateStepDetail>
  'textgate-verified': CustomEvent<TextgateVerifiedDetail>
  'textgate-error': CustomEvent<TextgateErrorDetail>
}

declare global {
  interface HTMLElementTagNameMap {
    'textgate-verify': TextgateVerify
  }
  interface GlobalEventHandlersEventMap extends TextgateEventMap {}
}
