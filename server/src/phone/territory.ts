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
 * @module
 */
import { type E164Number, PhoneNumber } from 'libphonenumber-js/core'
import {
  type CountryCode,
  getCountryCallingCode,
  isSupportedCountry,
  type NumberType,
  parsePhoneNumberFromString,
} from 'libphonenumber-js/max'
import maxMetadata from 'libphonenumber-js/max/metadata'
import examples from 'libphonenumber-js/mobile/examples'

export type PhoneType = NonNullable<NumberType> | 'UNKNOWN'

/** What libphonenumber-js read a number as (a parsed PhoneNumber has these). */
interface Reading {
  number: string
  nationalNumber: string
  countryCallingCode: string
  country?: string | undefined
}

interface OwnRanges {
  country: string
  mobile: RegExp
  pattern: string
}

/** Per calling code shared by several countries: the territories with mobile ranges of their own. */
let ownRangesByCode:
  | Map<string, { main: string; any: RegExp; territories: OwnRanges[] }>
  | undefined

function ownRanges() {
  if (ownRangesByCode) return ownRangesByCode
  ownRangesByCode = new Map()
  for (const [code, countries] of Object.entries(maxMetadata.country_calling_codes)) {
    const [main, ...territories] = countries
    if (!main || territories.length === 0) continue
    const mainMobile = mobilePattern(main)
    const mainExample = examples[main as CountryCode]
    const own: OwnRanges[] = []
    for (const territory of territories) {
      const pattern = mobilePattern(territory)
      if (!pattern || pattern === mainMobile) continue
      const mobile = new RegExp(`^(?:${pattern})$`)
      // A copy of the main country's ranges holds its example mobile number (VA's of IT's).
      if (mainExample && mobile.test(mainExample)) continue
      own.push({ country: territory, mobile, pattern })
    }
    if (own.length === 0) continue
    const any = new RegExp(`^(?:${own.map((o) => o.pattern).join('|')})$`)
    ownRangesByCode.set(code, { main, any, territories: own })
  }
  return ownRangesByCode
}

/**
 * A country's mobile pattern; undefined when it has none of its own (the US's and CA's are their
 * lines'). The metadata's compact form: a country's types are its 12th field, mobile the second
 * (territory.test.ts fails should that change: IM's 07924 would be GB's again).
 */
function mobilePattern(country: string): string | undefined {
  const entry = (maxMetadata.countries as Record<string, unknown[]>)[country]
  const types = entry?.[11] as [unknown, [string]?] | undefined
  return types?.[1]?.[0] || undefined
}

/** `e164`'s type read in `country`'s numbering plan alone; undefined when its ranges do not hold it. */
function typeIn(e164: string, country: string): PhoneType | undefined {
  const number = new PhoneNumber(e164 as E164Number, maxMetadata)
  number.country = country as CountryCode
  const type = number.getType()
  if (type !== undefined) return type
  return number.isValid() ? 'UNKNOWN' : undefined
}

/**
 * The territory whose own mobile ranges hold a number libphonenumber-js read as its calling
 * code's main country, with the number's type there; undefined when there is none (then the
 * reading stands). Costs one pattern test for a number of a calling code with such territories.
 */
export function ownTerritoryOf(
  reading: Reading,
  type: PhoneType | undefined,
): { country: string; type: PhoneType } | undefined {
  if (type !== 'MOBILE' && type !== 'FIXED_LINE_OR_MOBILE') return undefined
  const ranges = ownRanges().get(reading.countryCallingCode)
  if (!ranges || reading.country !== ranges.main) return undefined
  if (!ranges.any.test(reading.nationalNumber)) return undefined
  for (const { country, mobile } of ranges.territories) {
    if (!mobile.test(reading.nationalNumber)) continue
    const typeThere = typeIn(reading.number, country)
    if (typeThere) return { country, type: typeThere }
  }
  return undefined
}

/**
 * The country a number in E.164 belongs to, as the whole server counts it; undefined when no
 * country's ranges hold it. A start may count a number further as an allowed territory (see
 * {@link allowedTerritoryOf}); the verification keeps the country it was counted as.
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

/**
 * For a project that would refuse a number read as its calling code's main country: the first of
 * `allowed` (`hint` first when it is one of them) that shares the calling code and whose own
 * ranges hold the number, with the number's type there. Only the main country's numbers move
 * (a Manx 07624 or 07924 number never becomes GB's), and only where the project does not allow
 * the main country: so no caller can move a number's count (the fraud guard's per-country
 * budgets and spend caps) from an allowed country to a territory by naming it.
 */
export function allowedTerritoryOf(
  reading: Reading,
  hint: string | undefined,
  allowed: readonly string[],
): { country: string; type: PhoneType } | undefined {
  if (!reading.country || !isMainCountry(reading.country)) return undefined
  const candidates = hint && allowed.includes(hint) ? [hint, ...allowed] : allowed
  for (const candidate of candidates) {
    if (!isSupportedCountry(candidate)) continue
    if (getCountryCallingCode(candidate) !== reading.countryCallingCode) continue
    const type = typeIn(reading.number, candidate)
    if (type) return { country: candidate, type }
  }
  return undefined
}

function isMainCountry(country: string): boolean {
  const code = getCountryCallingCode(country as CountryCode)
  return maxMetadata.country_calling_codes[code]?.[0] === country
}
