import type { StartVerificationResponse } from '@textgate/shared'
import type { CountryCode } from 'libphonenumber-js/min'
import { html, LitElement, nothing, type PropertyValues } from 'lit'
import { createClient, TextgateApiError } from './api/client'
import {
  type Country,
  checkPhone,
  countryFromLanguages,
  countryList,
  formatInput,
  isCountry,
} from './phone'
import { styles } from './textgate-verify.styles'
import { en, type Translation } from './translations/en'

export type TextgateStep = 'phone' | 'code' | 'done'

export interface TextgateVerifiedDetail {
  token: string
  /** E.164. */
  phone: string
  verificationId: string
}
export interface TextgateStepDetail {
  step: TextgateStep
}
export interface TextgateErrorDetail {
  code: string
  message: string
}

/** Where the widget script was loaded from: the Textgate server, by default. */
const SCRIPT_ORIGIN = new URL(import.meta.url).origin

/**
 * @summary Phone verification for a store's sign-up form: phone number, consent, one-time code.
 *   Form-associated: once verified, the form submits a signed token under the element's `name`.
 *
 * @event textgate-step - The shopper moved to another step; `detail: { step }`.
 * @event textgate-verified - The number is verified; `detail: { token, phone, verificationId }`.
 * @event textgate-error - The server or the network refused a step; `detail: { code, message }`.
 *
 * @csspart base - The wrapper of everything.
 * @csspart country-select - The country `<select>`.
 * @csspart phone-input - The phone number input.
 * @csspart consent - The consent label (checkbox and text).
 * @csspart consent-checkbox - The consent checkbox.
 * @csspart submit-button - "Send code" and "Verify".
 * @csspart code-input - The one-time code input.
 * @csspart resend-button - "Send a new code".
 * @csspart change-button - "Change number".
 * @csspart error - The error message.
 * @csspart status - The status line (code sent to…, attempts left).
 * @csspart done - The verified message.
 *
 * @cssproperty --textgate-color-primary - Buttons, focus rings, checkbox.
 * @cssproperty --textgate-color-primary-text - Text on primary buttons.
 * @cssproperty --textgate-color-text - Text.
 * @cssproperty --textgate-color-muted - Secondary text.
 * @cssproperty --textgate-color-background - Input backgrounds.
 * @cssproperty --textgate-color-border - Input and secondary button borders.
 * @cssproperty --textgate-color-error - Error text and invalid borders.
 * @cssproperty --textgate-color-success - The verified message.
 * @cssproperty --textgate-radius - Corner radius of inputs and buttons.
 * @cssproperty --textgate-spacing - Base spacing.
 * @cssproperty --textgate-font-family - Font (inherits by default).
 * @cssproperty --textgate-font-size - Base font size.
 *
 * @slot consent - Consent text with the store's own link; replaces `consent-text`.
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
    step: { state: true },
    country: { state: true },
    phoneText: { state: true },
    consent: { state: true },
    codeText: { state: true },
    busy: { state: true },
    error: { state: true },
    status: { state: true },
    verification: { state: true },
    verifiedPhone: { state: true },
    clock: { state: true },
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

  declare private step: TextgateStep
  declare private country: CountryCode | undefined
  declare private phoneText: string
  declare private consent: boolean
  declare private codeText: string
  declare private busy: boolean
  declare private error: string
  declare private status: string
  declare private verification: StartVerificationResponse | undefined
  declare private verifiedPhone: string
  declare private clock: number

  private readonly internals: ElementInternals
  private countryChosen = false
  private verifiedE164 = ''
  private token = ''
  private countdown: ReturnType<typeof setInterval> | undefined
  private idempotencyKey = ''
  private countries: Country[] | undefined
  private readonly t: Translation = en

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
    this.step = 'phone'
    this.country = undefined
    this.phoneText = ''
    this.consent = false
    this.codeText = ''
    this.busy = false
    this.error = ''
    this.status = ''
    this.verification = undefined
    this.verifiedPhone = ''
    this.clock = Date.now()
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

  checkValidity(): boolean {
    return this.internals.checkValidity()
  }

  reportValidity(): boolean {
    return this.internals.reportValidity()
  }

  /** Back to the phone step, forgetting any code and token. */
  reset(): void {
    this.stopCountdown()
    this.step = 'phone'
    this.codeText = ''
    this.consent = false
    this.error = ''
    this.status = ''
    this.verification = undefined
    this.token = ''
    this.verifiedPhone = ''
    this.idempotencyKey = ''
    this.busy = false
  }

  override connectedCallback(): void {
    super.connectedCallback()
    if (!this.country) {
      const fromAttribute = this.defaultCountry.toUpperCase()
      this.country = isCountry(fromAttribute)
        ? (fromAttribute as CountryCode)
        : countryFromLanguages(navigator.languages ?? [navigator.language])
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.stopCountdown()
  }

  formResetCallback(): void {
    this.reset()
    this.phoneText = ''
  }

  formDisabledCallback(disabled: boolean): void {
    this.disabled = disabled
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('defaultCountry') && !this.countryChosen && isCountry(this.defaultCountry)) {
      this.country = this.defaultCountry.toUpperCase() as CountryCode
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
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
    this.syncFormValue()
  }

  private syncFormValue(): void {
    this.internals.setFormValue(this.token || null)
    const anchor = this.renderRoot.querySelector<HTMLElement>('input, button') ?? undefined
    if (this.required && !this.token) {
      this.internals.setValidity({ valueMissing: true }, this.t.required, anchor)
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

  private fail(error: unknown): void {
    const apiError =
      error instanceof TextgateApiError ? error : new TextgateApiError('unknown', String(error), 0)
    let message = this.t.errors[apiError.code] ?? this.t.errors.unknown
    if (apiError.code === 'incorrect_code' && typeof apiError.details.attemptsLeft === 'number') {
      message = `${message} ${this.t.attemptsLeft(apiError.details.attemptsLeft)}`
    }
    if (apiError.code === 'rate_limited' && apiError.retryAfterSeconds) {
      message = this.t.rateLimited(apiError.retryAfterSeconds)
    }
    this.error = message
    this.dispatch('textgate-error', { code: apiError.code, message })
  }

  private onCountryChange(event: Event): void {
    const value = (event.target as HTMLSelectElement).value
    this.country = isCountry(value) ? (value as CountryCode) : undefined
    this.countryChosen = true
    this.error = ''
  }

  private onPhoneInput(event: InputEvent): void {
    const input = event.target as HTMLInputElement
    const result = formatInput(
      input.value,
      input.selectionStart ?? input.value.length,
      this.country,
      event.inputType?.startsWith('deleteContentBackward') ?? false,
      this.phoneText,
    )
    this.phoneText = result.text
    input.value = result.text
    input.setSelectionRange(result.caret, result.caret)
    if (result.country && result.country !== this.country) this.country = result.country
    this.error = ''
  }

  private async onSendCode(event: Event): Promise<void> {
    event.preventDefault()
    if (this.busy) return
    const checked = checkPhone(this.phoneText, this.country)
    if (!checked.ok) {
      this.error = this.t.phoneErrors[checked.reason]
      this.focusPart('phone-input')
      return
    }
    if (!this.consent) {
      this.error = this.t.consentMissing
      this.focusPart('consent-checkbox')
      return
    }
    this.error = ''
    this.busy = true
    this.idempotencyKey ||= crypto.randomUUID()
    try {
      const started = await this.client().start(
        {
          phone: checked.e164,
          country: checked.country,
          consent: { accepted: true, version: this.consentVersion || 'v1' },
          locale: this.t.$code,
        },
        this.idempotencyKey,
      )
      this.verification = started
      this.verifiedPhone = checked.international
      this.verifiedE164 = checked.e164
      this.codeText = ''
      this.status = this.t.codeSentTo(checked.international)
      this.step = 'code'
      this.startCountdown()
      await this.updateComplete
      this.focusPart('code-input')
    } catch (error) {
      this.fail(error)
    } finally {
      this.idempotencyKey = ''
      this.busy = false
    }
  }

  private onCodeInput(event: Event): void {
    const input = event.target as HTMLInputElement
    const length = this.verification?.codeLength ?? 6
    const digits = input.value.replace(/\D/g, '').slice(0, length)
    input.value = digits
    this.codeText = digits
    this.error = ''
    if (digits.length === length) void this.onCheck()
  }

  private async onCheck(event?: Event): Promise<void> {
    event?.preventDefault()
    const verification = this.verification
    if (!verification || this.busy) return
    if (this.codeText.length !== verification.codeLength) {
      this.error = this.t.errors.invalid_code_format ?? this.t.errors.unknown
      return
    }
    this.busy = true
    try {
      const checked = await this.client().check(verification.id, this.codeText)
      this.token = checked.token
      this.stopCountdown()
      this.step = 'done'
      this.status = ''
      this.error = ''
      this.dispatch('textgate-verified', {
        token: checked.token,
        phone: this.verifiedE164,
        verificationId: verification.id,
      })
    } catch (error) {
      this.fail(error)
      if (error instanceof TextgateApiError && error.code === 'incorrect_code') {
        this.codeText = ''
        const input = this.partElement<HTMLInputElement>('code-input')
        if (input) {
          input.value = ''
          input.focus()
        }
      }
    } finally {
      this.busy = false
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
      this.error = ''
      this.startCountdown()
    } catch (error) {
      this.fail(error)
    } finally {
      this.busy = false
    }
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

  override focus(options?: FocusOptions): void {
    const target =
      this.step === 'code' ? 'code-input' : this.step === 'phone' ? 'phone-input' : 'change-button'
    const element = this.partElement(target)
    if (element) element.focus(options)
    else super.focus(options)
  }

  private renderPhoneStep() {
    const t = this.t
    this.countries ??= countryList(t.$code)
    const invalid = this.error !== '' && this.step === 'phone'
    return html`
      <form class="step" novalidate @submit=${this.onSendCode}>
        <div>
          <label for="phone">${t.phoneLabel}</label>
          <div class="row">
            <select
              part="country-select"
              aria-label=${t.countryLabel}
              .value=${this.country ?? ''}
              ?disabled=${this.disabled || this.busy}
              @change=${this.onCountryChange}
            >
              <option value="" ?selected=${!this.country}>🌐 —</option>
              ${this.countries.map(
                (c) =>
                  html`<option value=${c.code} ?selected=${c.code === this.country}>
                    ${c.flag} ${c.name} +${c.dialCode}
                  </option>`,
              )}
            </select>
            <input
              id="phone"
              part="phone-input"
              type="tel"
              autocomplete="tel"
              inputmode="tel"
              placeholder=${t.phonePlaceholder}
              .value=${this.phoneText}
              aria-invalid=${invalid ? 'true' : 'false'}
              aria-describedby="error"
              ?disabled=${this.disabled || this.busy}
              @input=${this.onPhoneInput}
            />
          </div>
        </div>
        <label part="consent">
          <input
            part="consent-checkbox"
            type="checkbox"
            .checked=${this.consent}
            ?disabled=${this.disabled || this.busy}
            @change=${(e: Event) => {
              this.consent = (e.target as HTMLInputElement).checked
              this.error = ''
            }}
          />
          <span><slot name="consent">${this.consentText || t.consentDefault}</slot></span>
        </label>
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
            inputmode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9]*"
            maxlength=${verification.codeLength}
            .value=${this.codeText}
            aria-invalid=${this.error ? 'true' : 'false'}
            aria-describedby="status error"
            ?disabled=${this.disabled}
            @input=${this.onCodeInput}
          />
        </div>
        <p class="hint">${t.expiresAt(expires)}</p>
        <div class="actions">
          <button part="submit-button" type="submit" ?disabled=${this.disabled || this.busy}>
            ${this.busy ? t.verifying : t.verify}
          </button>
          <button
            part="resend-button"
            type="button"
            ?disabled=${this.disabled || this.busy || waitSeconds > 0}
            @click=${this.onResend}
          >
            ${waitSeconds > 0 ? t.resendIn(waitSeconds) : t.resend}
          </button>
          <button part="change-button" type="button" ?disabled=${this.busy} @click=${this.onChangeNumber}>
            ${t.changeNumber}
          </button>
        </div>
      </form>
    `
  }

  private renderDoneStep() {
    return html`
      <p part="done">✓ ${this.t.verified(this.verifiedPhone)}</p>
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
        <p id="status" part="status" role="status" aria-live="polite">${this.status || nothing}</p>
        <p id="error" part="error" role="alert">${this.error}</p>
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
