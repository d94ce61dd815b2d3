/**
 * Phone input helpers around libphonenumber-js (min metadata): the country list, as-you-type
 * formatting that keeps the caret after the same digit, and validation before any SMS.
 * @module
 */
import {
  AsYouType,
  type CountryCode,
  getCountries,
  getCountryCallingCode,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/min'

export interface Country {
  code: CountryCode
  name: string
  dialCode: string
  flag: string
}

/** The flag emoji of an ISO alpha-2 code (regional indicator symbols). */
export function flagEmoji(code: string): string {
  return String.fromCodePoint(...[...code.toUpperCase()].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65))
}

export function countryList(locale: string): Country[] {
  let names: Intl.DisplayNames | undefined
  try {
    names = new Intl.DisplayNames([locale, 'en'], { type: 'region' })
  } catch {
    names = undefined
  }
  return getCountries()
    .map((code) => ({
      code,
      name: names?.of(code) ?? code,
      dialCode: getCountryCallingCode(code),
      flag: flagEmoji(code),
    }))
    .sort((a, b) => a.name.localeCompare(b.name, locale))
}

export function isCountry(code: string | null | undefined): code is CountryCode {
  return !!code && (getCountries() as string[]).includes(code.toUpperCase())
}

export interface Formatted {
  text: string
  /** Caret position in `text` after the same number of digits as before. */
  caret: number
  /** Country read from an international number, if any. */
  country: CountryCode | undefined
}

const countDigits = (text: string) => (text.match(/[\d+]/g) ?? []).length

/**
 * Formats `raw` as the shopper types, keeping the caret after the digit it followed.
 * `deleted` is true for a backward delete: deleting only a space or bracket deletes the
 * digit before it instead, as shoppers expect.
 */
export function formatInput(
  raw: string,
  caret: number,
  country: CountryCode | undefined,
  deleted = false,
  previous = '',
): Formatted {
  let text = raw.replace(/^\s*00/, '+')
  let digitsBefore = countDigits(text.slice(0, caret))
  if (deleted && countDigits(text) === countDigits(previous) && digitsBefore > 0) {
    // Only a formatting character went: remove the digit before the caret too.
    let seen = 0
    const index = [...text].findIndex((ch) => /[\d+]/.test(ch) && ++seen === digitsBefore)
    text = text.slice(0, index) + text.slice(index + 1)
    digitsBefore -= 1
  }
  const cleaned = text.replace(/[^\d+]/g, '').replace(/(?!^)\+/g, '')
  const formatter = new AsYouType(cleaned.startsWith('+') ? undefined : country)
  const formatted = formatter.input(cleaned)
  let position = 0
  let seen = 0
  while (position < formatted.length && seen < digitsBefore) {
    if (/[\d+]/.test(formatted[position]!)) seen++
    position++
  }
  return {
    text: formatted,
    caret: position,
    country: cleaned.startsWith('+') ? formatter.getCountry() : undefined,
  }
}

export type PhoneCheck =
  | { ok: true; e164: string; country: CountryCode; national: string; international: string }
  | { ok: false; reason: 'empty' | 'tooShort' | 'tooLong' | 'invalidCountry' | 'invalid' }

/** Checks a number before any SMS is paid for. */
export function checkPhone(input: string, country: CountryCode | undefined): PhoneCheck {
  const text = input.trim().replace(/^00/, '+')
  if (text.replace(/\D/g, '').length === 0) return { ok: false, reason: 'empty' }
  try {
    const parsed = parsePhoneNumberWithError(text, text.startsWith('+') ? undefined : country)
    if (!parsed.isValid() || !parsed.country) {
      const length = parsed.nationalNumber.length
      return { ok: false, reason: length < 6 ? 'tooShort' : length > 14 ? 'tooLong' : 'invalid' }
    }
    return {
      ok: true,
      e164: parsed.number,
      country: parsed.country,
      national: parsed.formatNational(),
      international: parsed.formatInternational(),
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : ''
    if (message === 'INVALID_COUNTRY') return { ok: false, reason: 'invalidCountry' }
    if (message === 'TOO_SHORT') return { ok: false, reason: 'tooShort' }
    if (message === 'TOO_LONG') return { ok: false, reason: 'tooLong' }
    return { ok: false, reason: 'invalid' }
  }
}

/** A likely country from the browser's languages ("en-GB" → GB), if any. */
export function countryFromLanguages(languages: readonly string[]): CountryCode | undefined {
  for (const language of languages) {
    const region = language.split('-')[1]
    if (region && isCountry(region)) return region.toUpperCase() as CountryCode
  }
  return undefined
}
