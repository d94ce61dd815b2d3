import { html, LitElement, nothing, type PropertyValues } from 'lit'
import { createClient } from './api/client'
import { VerificationSession } from './api/session'
import { CountdownController } from './controllers/countdown'
import { FlowController } from './controllers/flow'
import { FormController } from './controllers/form'
import { LocaleController } from './controllers/locale'
import { ProblemController } from './controllers/problem'
import { SignalsController } from './controllers/signals'
import { SlotPresenceController } from './controllers/slot-presence'
import type {
  CountryPickEvent,
  TextgateCountryPicker,
} from './country-picker/textgate-country-picker'
import type { TextgateEventMap } from './events'
import { PhoneField } from './phone/field'
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
 * @attr {string} lang - Language of the texts; else the nearest `lang` around the element (a section's,
 *   the page's `<html lang>`), else the browser's. May change at any time, mid-flow included.
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
    formDisabled: { state: true },
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

  private readonly clock = new CountdownController(this)
  private readonly locale = new LocaleController(this)
  private readonly problem = new ProblemController(this, this.clock, () => this.t)
  private readonly formValue = new FormController(this, () => ({
    step: this.flow.step,
    name: this.name,
    token: this.session.token,
    marketing: this.session.marketing,
    required: this.required,
    started: this.flow.step !== 'phone' || /\d/.test(this.phone.text),
    message: this.problem.message || this.t.required,
    anchor:
      this.partElement(
        this.flow.step === 'code'
          ? 'code-input'
          : this.problem.at === 'consent'
            ? 'consent-checkbox'
            : 'phone-input',
      ) ?? undefined,
  }))
  private readonly phone = new PhoneField(this, () =>
    this.partElement<HTMLInputElement>('phone-input'),
  )
  private readonly session = new VerificationSession(this, () => this.client())
  private readonly marketingSlot = new SlotPresenceController(this, 'marketing')
  private readonly signals = new SignalsController(this)
  /** The steps and what moves them on: Send, Verify, Send a new code, Change number. */
  private readonly flow = new FlowController(this, {
    texts: () => this.t,
    phone: this.phone,
    session: this.session,
    problem: this.problem,
    clock: this.clock,
    startOptions: () => ({
      consentVersion: this.consentVersion,
      captchaToken: this.captchaToken,
      signals: this.signals.collect(),
    }),
    marketingOffered: () => this.marketingOffered,
    part: (name) => this.partElement(name),
    onReset: () => void this.picker?.hide(false),
  })
  /** The server and key whose settings were asked for last. */
  private configFor = ''
  /**
   * The browser says the element is disabled: its own `disabled`, or a disabled `<fieldset>`
   * around it. Kept apart from `disabled`, which stays the element's own attribute (as an
   * input's does): reflecting the fieldset's state into it would outlive the fieldset's.
   */
  declare private formDisabled: boolean

  /** The step renders' event handlers: one object, so Lit keeps the same listeners. */
  private readonly on = {
    send: this.flow.send,
    phoneInput: (event: InputEvent) => {
      this.signals.input(event)
      this.phone.onInput(event)
      const rest = this.phone.restProblem()
      if (rest) this.problem.show(rest, 'phone')
      else this.problem.clearAt('phone')
    },
    phoneKey: () => this.signals.key(),
    phoneFocus: () => this.signals.focus(),
    phoneBlur: this.flow.phoneBlur,
    consent: this.flow.setConsent,
    marketing: this.flow.setMarketing,
    pick: (event: CountryPickEvent) => {
      this.phone.choose(event.country)
      this.problem.clearAt('phone')
      this.partElement('phone-input')?.focus()
    },
    check: this.flow.check,
    codeInput: this.flow.codeInput,
    resend: this.flow.resend,
    change: this.flow.change,
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
    this.formDisabled = false
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
    this.flow.reset()
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.phone.detect(this.defaultCountry)
  }

  /** The form's reset: back to the start, as the page first showed it (number, country). */
  formResetCallback(): void {
    this.reset()
    this.phone.reset()
  }

  formDisabledCallback(disabled: boolean): void {
    this.formDisabled = disabled
  }

  /** Focuses the field of the current step. */
  override focus(options?: FocusOptions): void {
    const target = { phone: 'phone-input', code: 'code-input', done: 'done' }[this.flow.step]
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
    // formDisabledCallback also runs while an update reflects `disabled` to the attribute, after
    // that update's render: one more render shows what it said.
    if (changed.has('disabled')) this.requestUpdate()
    const project = this.publishableKey ? `${this.server} ${this.publishableKey}` : ''
    if (project && project !== this.configFor && this.isConnected) {
      // The project's settings, asked once per server and key (a page may set either later);
      // without them the widget still works.
      this.configFor = project
      void this.phone.loadConfig(
        () => this.client().config(),
        () => this.defaultCountry,
      )
    }
  }

  private client() {
    return createClient({ server: this.server, publishableKey: this.publishableKey })
  }

  private partElement<T extends HTMLElement>(name: string): T | null {
    return this.renderRoot?.querySelector<T>(`[part~="${name}"]`) ?? null
  }

  private renderStep() {
    const { t, on, problem, flow } = this
    const disabled = this.disabled || this.formDisabled
    // A network failure or a rate limit is shown at the field but says nothing against its value.
    const invalid = problem.retry || problem.waitUntil ? '' : problem.at
    const common = { t, on, invalid, disabled, busy: flow.busy, waiting: problem.waitUntil > 0 }
    const verification = this.session.pending
    if (flow.step === 'code' && verification) {
      return renderCodeStep({
        ...common,
        ended: problem.terminal ? (problem.numberSpent ? t.changeNumber : t.startAgain) : '',
        verification,
        codeText: flow.codeText,
        resendWait: Math.max(
          this.clock.secondsUntil(verification.resendAfter),
          this.clock.secondsUntil(problem.waitUntil),
        ),
        status: flow.status,
        message: problem.render('code', 'code'),
        timeLocale: this.locale.tag,
      })
    }
    if (flow.step === 'done')
      return renderDoneStep({ t, on, disabled, verifiedPhone: this.session.shownPhone })
    return renderPhoneStep({
      ...common,
      required: this.required,
      message: (place) => problem.render(place, 'phone'),
      countries: this.phone.catalog(t.$code),
      preferred: this.phone.preferred(this.preferredCountries),
      country: this.phone.find(this.phone.country, t.$code),
      phoneText: this.phone.text,
      consent: flow.consent,
      consentText: this.consentText,
      marketingOffered: this.marketingOffered,
      marketing: flow.marketing,
      marketingText: this.marketingText,
    })
  }

  protected override render() {
    return html`
      <div part="base" dir=${this.t.$dir} lang=${this.t.$code}>
        ${this.renderStep()}
        ${
          this.flow.step === 'phone'
            ? html`<p id="status" part="status" role="status">${this.flow.status}</p>`
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
