/**
 * The country a phone number belongs to: the one reading every part of the server counts a number
 * by (a start's allowed countries, the fraud guard's per-country budgets, prior and spend caps,
 * the stored verification, metrics labels, the routing file's `countries`).
 *
 * Several countries share a calling code: GB with IM, JE and GG, FI with AX, IT with VA, the US
 * with the NANP countries, RE with YT… libphonenumber-js (full metadata) gives a number to the
 * first of them whose ranges hold it, the main country first, so a number both the main
 * country's ranges and a territory's own hold is the main country's (Sure's Manx 07924 is GB's).
 * Here the territory comes first: a number the main country's ranges hold is the territory's
 * when the territory's own mobile ranges hold it too. Own ranges, not a copy of the main
 * country's: AX's mobiles are FI's, VA's are IT's, SJ's NO's, CC's and CX's AU's (the number
 * alone cannot tell them), so those stay the main country's.
 *
 * The rule is @textgate/shared/territory's: the widget reads numbers by it too, with a table of
 * the territories with ranges of their own that its build derives by the same function as here.
 * @module
 */
import { territoriesWithOwnMobileRanges, territoryRules } from '@textgate/shared/territory'
import { type E164Number, PhoneNumber } from 'libphonenumber-js/core'
import {
  type CountryCode,
  type NumberType,
  parsePhoneNumberFromString,
} from 'libphonenumber-js/max'
import maxMetadata from 'libphonenumber-js/max/metadata'
import examples from 'libphonenumber-js/mobile/examples'

export type PhoneType = NonNullable<NumberType> | 'UNKNOWN'

/** `e164`'s type read in `country`'s numbering plan alone; undefined when its ranges do not hold it. */
function typeIn(e164: string, country: string): PhoneType | undefined {
  const number = new PhoneNumber(e164 as E164Number, maxMetadata)
  number.country = country as CountryCode
  const type = number.getType()
  if (type !== undefined) return type
  return number.isValid() ? 'UNKNOWN' : undefined
}

/**
 * The rule (@textgate/shared/territory) over the full metadata: `ownTerritoryOf` is the
 * territory whose own mobile ranges hold a number read as its calling code's main country;
 * `place` is a start's reading, that territory, else (for a project that does not allow the
 * main country) an allowed territory whose ranges hold the number, else the country read.
 */
export const { ownTerritoryOf, place } = territoryRules(
  maxMetadata,
  territoriesWithOwnMobileRanges(maxMetadata, examples),
  typeIn,
)

/**
 * The country a number in E.164 belongs to, as the whole server counts it; undefined when no
 * country's ranges hold it. A start may count a number further as an allowed territory (see
 * {@link place}); the verification keeps the country it was counted as.
 * @example
 * countryOfNumber('+447924123456') // 'IM' (libphonenumber-js alone: 'GB')
 * countryOfNumber('+358412345678') // 'FI' (AX's mobiles are FI's too)
 */
export function countryOfNumber(e164: string): string | undefined {
  const parsed = parsePhoneNumberFromString(e164)
  if (!parsed?.country) return undefined
  const type = parsed.getType()
  if (type === undefined && !parsed.isValid()) return undefined
  return ownTerritoryOf(parsed, type)?.country ?? parsed.country
}
