/**
 * English texts of <textgate-verify>, and the shape every locale file has (plurals and values
 * are functions). English is built into widget.js; every other locale is a lazy chunk.
 * @module
 */
import type { WidgetErrorCode } from '@textgate/shared'

export interface Translation {
  $code: string
  $dir: 'ltr' | 'rtl'
  countryLabel: string
  /** The picker button's accessible name: the country chosen, or none. */
  countryButton: (country: string | undefined) => string
  countrySearch: string
  /** Closes the country list (its full-screen sheet on phones). */
  closeList: string
  countryResults: (count: number) => string
  noCountryMatch: string
  phoneLabel: string
  phonePlaceholder: string
  consentDefault: string
  sendCode: string
  sending: string
  codeLabel: (length: number) => string
  codeSentTo: (to: string) => string
  verify: string
  verifying: string
  resend: string
  resendIn: (seconds: number) => string
  newCodeSent: string
  expiresAt: (time: string) => string
  attemptsLeft: (count: number) => string
  changeNumber: string
  startAgain: string
  verified: (phone: string) => string
  required: string
  retry: string
  phoneErrors: {
    empty: string
    /** Text after the number: an extension, which no text message reaches. */
    extension: string
    tooShort: string
    tooLong: string
    invalidCountry: string
    invalid: string
    landline: string
    notMobile: string
  }
  consentMissing: string
  /** A number of a country the project does not accept; `country` is its name. */
  countryNotOffered: (country: string) => string
  /**
   * `max_attempts_reached` with `retry: "later"`: the number is out of wrong codes for the day,
   * so a new verification of it would fail too (the button under it says Change number).
   */
  wrongCodesLater: string
  /**
   * The shopper's message for each server error code the widget words itself (`widget:
   * 'message'` in shared/errors.ts: a new such code needs a message here), `network_error`, and
   * `unknown` for any other. `rate_limited` is the wait when the server gives none.
   */
  errors: Record<WidgetErrorCode | 'unknown' | 'network_error', string>
  /**
   * `when` is a time from now in words, as Intl.RelativeTimeFormat words it in the language: "in
   * 10 minutes", "через 1 минуту", "10 分後"; the sentence takes it whole (it carries its "in").
   */
  rateLimited: (when: string) => string
}

const en: Translation = {
  $code: 'en',
  $dir: 'ltr',
  countryLabel: 'Country',
  countryButton: (country) => (country ? `Country: ${country}` : 'Choose a country'),
  countrySearch: 'Search by country, code or +dial code',
  closeList: 'Close',
  countryResults: (count) => (count === 1 ? '1 country' : `${count} countries`),
  noCountryMatch: 'No country matches.',
  phoneLabel: 'Phone number',
  phonePlaceholder: 'Mobile number',
  consentDefault:
    'I agree to receive a one-time code by text message. Message and data rates may apply.',
  sendCode: 'Send code',
  sending: 'Sending…',
  codeLabel: (length) => `${length}-digit code`,
  codeSentTo: (to) => `We sent a code to ${to}.`,
  verify: 'Verify',
  verifying: 'Checking…',
  resend: 'Send a new code',
  resendIn: (seconds) => `New code in ${seconds} s`,
  newCodeSent: 'A new code is on its way.',
  expiresAt: (time) => `The code expires at ${time}.`,
  attemptsLeft: (count) => (count === 1 ? '1 attempt left.' : `${count} attempts left.`),
  changeNumber: 'Change number',
  startAgain: 'Start again',
  verified: (phone) => `${phone} is verified.`,
  required: 'Verify your phone number.',
  retry: 'Try again',
  phoneErrors: {
    empty: 'Enter your phone number.',
    extension: 'Text messages cannot reach a phone extension: enter the number without it.',
    tooShort: 'This number is too short.',
    tooLong: 'This number is too long.',
    invalidCountry: 'Choose your country, or start the number with +.',
    invalid: 'This is not a valid phone number.',
    landline: 'This is a landline number. Enter a mobile number to get a text message.',
    notMobile: 'This number cannot receive text messages. Enter a mobile number.',
  },
  consentMissing: 'Please accept to receive the code.',
  countryNotOffered: (country) =>
    `Numbers from ${country} can’t be used here. Please use a number from another country.`,
  wrongCodesLater: 'Too many wrong codes for this number. Try again later or use another number.',
  errors: {
    unknown: 'Something went wrong. Please try again.',
    network_error: 'We could not reach the server. Check your connection and try again.',
    invalid_phone: 'This is not a valid phone number.',
    unsupported_number_type: 'This number cannot receive text messages. Use a mobile number.',
    country_not_allowed: 'Numbers from this country are not accepted here.',
    consent_required: 'Please accept to receive the code.',
    incorrect_code: 'That code is not right.',
    invalid_code_format: 'The code is digits only.',
    verification_expired: 'This code has expired. Start again to get a new one.',
    max_attempts_reached: 'Too many wrong codes. Start again with your number.',
    max_sends_reached: 'Too many codes were sent. Try again later.',
    verification_not_pending: 'This code was already used. Start again.',
    verification_not_found: 'This verification is no longer valid. Start again.',
    blocked: 'We cannot send a code to this number.',
    challenge_required: 'We could not confirm this request. Please try again.',
    invalid_api_key: 'This form is not set up correctly (invalid key).',
    origin_not_allowed: 'This form is not set up correctly (site not allowed).',
    wrong_key_type: 'This form is not set up correctly (wrong key).',
    service_unavailable: 'The service is busy. Please try again in a moment.',
    rate_limited: 'Too many attempts. Try again later.',
  },
  rateLimited: (when) => `Too many attempts. Try again ${when}.`,
}

export default en
