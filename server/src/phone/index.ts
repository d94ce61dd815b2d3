/**
 * Phone numbers: parsing and normalising shopper input to E.164 (libphonenumber-js with full
 * metadata, so the number type is known), and masking for display.
 * @module
 */

import { asciiDigits } from '@textgate/shared'
import { type E164Number, PhoneNumber } from 'libphonenumber-js/core'
import {
  type CountryCode,
  getCountries,
  getCountryCallingCode,
  isSupportedCountry,
  type NumberType,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/max'
import maxMetadata from 'libphonenumber-js/max/metadata'
import { ApiError } from '../http/errors'

export interface ParsedPhone {
  e164: string
  country: string
  type: NonNullable<NumberType> | 'UNKNOWN'
}

/** Why a number with an extension is refused. */
const EXTENSION_MESSAGE =
  'Text messages cannot reach a phone extension: enter the number without it.'

/** Format characters (bidi marks, zero-width spaces, soft hyphens, BOM): never part of a number. */
const INVISIBLE_MARKS = /\p{Cf}/gu
/** Spaces other than the ASCII one, which libphonenumber-js reads inside a number. */
const WIDE_SPACES = /\p{Zs}/gu
/** Anything but printable ASCII: the only inputs that can hold either. */
const NON_ASCII = /[^ -~]/

/** Types that can receive a text message. */
export const SMS_CAPABLE_TYPES: ReadonlySet<string> = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE'])

/**
 * Parses `phone` (E.164, `00…`, or national digits with `country`) and checks it can get SMS.
 * Throws ApiError `invalid_phone` (also for a number with an extension) or
 * `unsupported_number_type`; never anything else.
 * @example
 * parsePhone('(201) 555-0123', 'US') // { e164: '+12015550123', country: 'US', type: ... }
 */
export function parsePhone(
  phone: string,
  country?: string,
  allowed?: readonly string[] | null,
): ParsedPhone {
  const parsed = parsePhoneAnyType(phone, country, allowed)
  if (!SMS_CAPABLE_TYPES.has(parsed.type)) {
    throw new ApiError('unsupported_number_type', { numberType: parsed.type.toLowerCase() })
  }
  return parsed
}

/**
 * Like {@link parsePhone}, but any valid number passes, whatever its type (`UNKNOWN` when
 * the metadata cannot tell): the fraud guard decides which types may receive a code.
 *
 * `allowed`: the project's countries (null or absent: every country). A number several
 * countries' ranges hold is libphonenumber-js's main country's (GB for a Manx 07924, IT for any
 * Vatican mobile, FI for an Åland one); where the project does not allow that country but allows
 * a territory sharing its calling code whose own ranges hold the number, it is that territory's
 * (`country`, the caller's, first): {@link territoryOf}.
 */
export function parsePhoneAnyType(
  phone: string,
  country?: string,
  allowed?: readonly string[] | null,
): ParsedPhone {
  // Digits of any script and a full-width plus read as the widget reads them (a `٠٠` or `＋`
  // international prefix included, which libphonenumber-js alone takes for a national number).
  // So are spaces of any width and invisible marks, which the widget drops and
  // libphonenumber-js takes for the end of the number: thin and narrow no-break spaces from
  // formatted pages (French numbers), left-to-right marks around numbers copied in a
  // right-to-left app.
  let input = asciiDigits(phone)
  if (NON_ASCII.test(input)) input = input.replace(INVISIBLE_MARKS, '').replace(WIDE_SPACES, ' ')
  input = input.trim().replace(/^00/, '+')
  let parsed: ReturnType<typeof parsePhoneNumberWithError>
  try {
    parsed = parsePhoneNumberWithError(
      input,
      input.startsWith('+') ? undefined : { defaultCountry: country as CountryCode },
    )
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'INVALID'
    throw new ApiError('invalid_phone', {
      reason: reason === 'INVALID_COUNTRY' ? 'country_required' : reason.toLowerCase(),
    })
  }
  // A type means the number matched its country's patterns: with full metadata that is what
  // isValid() checks (it runs the same type lookup), so it is asked only when no type is found
  // (a country whose metadata has no type patterns). One pass over the patterns, not two.
  const type = parsed.getType()
  if (!parsed.country || (type === undefined && !parsed.isValid())) {
    throw new ApiError('invalid_phone', { reason: 'invalid_number' })
  }
  // libphonenumber-js reads "ext. 123", ";ext=123" or "x123" as an extension and leaves it out
  // of the number: a text would go to the switchboard, never to the extension typed.
  if (parsed.ext) {
    throw new ApiError('invalid_phone', { reason: 'extension' }, { message: EXTENSION_MESSAGE })
  }
  if (allowed && !allowed.includes(parsed.country)) {
    const territory = territoryOf(parsed.number, parsed.countryCallingCode, country, allowed)
    if (territory) return { e164: parsed.number, country: territory.country, type: territory.type }
  }
  return { e164: parsed.number, country: parsed.country, type: type ?? 'UNKNOWN' }
}

/**
 * The first of `allowed` (`hint` first when it is one of them) that shares `e164`'s calling code
 * and whose own ranges hold the number, with the number's type there. Only a project that would
 * refuse the number as libphonenumber-js reads it asks: a territory never takes a number from a
 * country the project allows, so no caller can move a number's count (the fraud guard's
 * per-country budgets and spend caps) from an allowed country to a territory by naming it.
 */
function territoryOf(
  e164: string,
  callingCode: string,
  hint: string | undefined,
  allowed: readonly string[],
): { country: string; type: ParsedPhone['type'] } | undefined {
  const candidates = hint && allowed.includes(hint) ? [hint, ...allowed] : allowed
  for (const candidate of candidates) {
    if (!isSupportedCountry(candidate) || getCountryCallingCode(candidate) !== callingCode) continue
    // The number read in the candidate's own numbering plan (its patterns alone).
    const number = new PhoneNumber(e164 as E164Number, maxMetadata)
    number.country = candidate
    const type = number.getType()
    if (type !== undefined || number.isValid())
      return { country: candidate, type: type ?? 'UNKNOWN' }
  }
  return undefined
}

/**
 * Hides all but the country code and the last two digits: `+1 ••• ••• ••67`.
 * The widget shows it; it tells a bystander nothing.
 */
export function maskPhone(e164: string): string {
  const digits = e164.slice(1)
  const visibleEnd = digits.slice(-2)
  const countryCode = callingCodeOf(digits)
  const hidden = digits.length - countryCode.length - visibleEnd.length
  return `+${countryCode} ${'•'.repeat(Math.max(0, hidden))}${visibleEnd}`
}

let callingCodes: Set<string> | undefined

/**
 * The country calling code that starts `digits` (E.164 without the +). Calling codes are
 * prefix-free (ITU-T E.164), so the one of 1 to 3 digits that is a code is the code: no parse of
 * the whole number needed. The first digit when none matches (never, for a stored number).
 */
export function callingCodeOf(digits: string): string {
  callingCodes ??= new Set(getCountries().map((country) => getCountryCallingCode(country)))
  for (let length = 1; length <= 3; length++) {
    const candidate = digits.slice(0, length)
    if (callingCodes.has(candidate)) return candidate
  }
  return digits.slice(0, 1)
}
