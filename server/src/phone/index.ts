/**
 * Phone numbers: parsing and normalising shopper input to E.164 (libphonenumber-js with full
 * metadata, so the number type is known), and masking for display.
 * @module
 */

import { asciiDigits } from '@textgate/shared'
import {
  type CountryCode,
  getCountries,
  getCountryCallingCode,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/max'
import { ApiError } from '../http/errors'
import { type PhoneType, place } from './territory'

export { countryOfNumber } from './territory'

export interface ParsedPhone {
  e164: string
  /** The country the number belongs to (phone/territory.ts), or the allowed territory it counts as. */
  country: string
  type: PhoneType
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
 * The number's country is the territory whose own ranges hold it (IM for a Manx 07924, which
 * GB's ranges hold too): `ownTerritoryOf` (./territory). `allowed`: the project's countries (null or
 * absent: every country). A number whose territory cannot be told (any Vatican mobile is IT's
 * too, any Åland one FI's) is the main country's; where the project does not allow that country
 * but allows a territory sharing its calling code whose ranges hold the number, it is that
 * territory's (`country`, the caller's, first): `allowedTerritoryOf`.
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
  // The territory whose own ranges hold it, where libphonenumber-js read the main country's;
  // else, for a project that does not allow the country read, an allowed territory holding it.
  const placed = place(parsed, type, country, allowed)! // It has a country: checked above.
  return { e164: parsed.number, country: placed.country, type: placed.type ?? 'UNKNOWN' }
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
