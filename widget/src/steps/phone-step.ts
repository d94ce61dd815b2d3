/**
 * The first step: country, phone number, consent (and the optional marketing opt-in), Send.
 * @module
 */
import { html, nothing } from 'lit'
import { type CountryPickEvent, PICKER_PARTS } from '../country-picker/textgate-country-picker'
import type { Country } from '../phone'
import type { Translation } from '../translations/en'

export interface PhoneStepView {
  t: Translation
  disabled: boolean
  busy: boolean
  /** The element is `required`: said on the phone field, which a screen reader reads. */
  required: boolean
  /** A rate limit holds Send. */
  waiting: boolean
  invalid: 'phone' | 'consent' | 'code' | ''
  countries: readonly Country[]
  country: Country | undefined
  /** Listed first in the picker. */
  preferred: readonly string[]
  phoneText: string
  consent: boolean
  consentText: string
  /** The marketing checkbox is offered (by `marketing-text` or the `marketing` slot). */
  marketingOffered: boolean
  marketing: boolean
  marketingText: string
  /** The error (and status) line when it belongs at `place`. */
  message: (place: 'phone' | 'consent') => unknown
  on: {
    send: (event: Event) => void
    phoneInput: (event: InputEvent) => void
    phoneBlur: () => void
    phoneKey: () => void
    phoneFocus: () => void
    consent: (event: Event) => void
    marketing: (event: Event) => void
    pick: (event: CountryPickEvent) => void
  }
}

export function renderPhoneStep(v: PhoneStepView) {
  const { t, on } = v
  const off = v.disabled || v.busy
  return html`
    <form class="step" novalidate @submit=${on.send}>
      <div>
        <label for="phone">${t.phoneLabel}</label>
        <div class="row">
          <textgate-country-picker
            exportparts=${PICKER_PARTS}
            .t=${t}
            .countries=${v.countries}
            .current=${v.country}
            .preferred=${v.preferred}
            ?disabled=${off}
            @textgate-country-pick=${on.pick}
          ></textgate-country-picker>
          <input
            id="phone"
            part="phone-input"
            type="tel"
            dir="ltr"
            autocomplete="tel"
            inputmode="tel"
            placeholder=${t.phonePlaceholder}
            .value=${v.phoneText}
            aria-invalid=${v.invalid === 'phone'}
            aria-required=${v.required}
            aria-describedby=${v.invalid === 'phone' ? 'error' : nothing}
            ?disabled=${v.disabled}
            ?readonly=${v.busy}
            @input=${on.phoneInput}
            @blur=${on.phoneBlur}
            @keydown=${on.phoneKey}
            @focus=${on.phoneFocus}
          />
        </div>
        ${v.message('phone')}
      </div>
      <label part="consent">
        <input
          part="consent-checkbox"
          type="checkbox"
          .checked=${v.consent}
          aria-invalid=${v.invalid === 'consent'}
          aria-describedby=${v.invalid === 'consent' ? 'error' : nothing}
          ?disabled=${off}
          @change=${on.consent}
        />
        <span dir="auto"><slot name="consent">${v.consentText || t.consentDefault}</slot></span>
      </label>
      ${v.message('consent')}
      ${
        v.marketingOffered
          ? html`<label part="marketing">
              <input
                part="marketing-checkbox"
                type="checkbox"
                .checked=${v.marketing}
                ?disabled=${off}
                @change=${on.marketing}
              />
              <span dir="auto"><slot name="marketing">${v.marketingText}</slot></span>
            </label>`
          : nothing
      }
      <div class="actions">
        <button
          part="submit-button"
          type="submit"
          ?disabled=${v.disabled || v.waiting}
          aria-disabled=${v.busy}
        >
          ${v.busy ? t.sending : t.sendCode}
        </button>
      </div>
    </form>
  `
}
