/**
 * Which country a number of a calling code shared by several countries belongs to: the one rule
 * the server (server/src/phone/territory.ts, with libphonenumber-js's full metadata) and the widget
 * (widget/src/phone, with the metadata chunk of the calling code typed) both read numbers by.
 *
 * Several countries share a calling code: GB with IM, JE and GG, FI with AX, IT with VA, the US
 * with the NANP countries, RE with YT… libphonenumber-js gives a number to the first of them whose
 * ranges hold it, the main country first, so a number both the main country's ranges and a
 * territory's own hold is the main country's (Sure's Manx 07924 is GB's). Here the territory comes
 * first: a number the main country's ranges hold is the territory's when the territory's own
 * mobile ranges hold it too. Own ranges, not a copy of the main country's: AX's mobiles are FI's,
 * VA's are IT's, SJ's NO's, CC's and CX's AU's (the number alone cannot tell them), so those stay
 * the main country's, except for a project that allows the territory and not the main country.
 *
 * No libphonenumber-js here: the caller hands in its metadata (libphonenumber-js's compact JSON
 * form) and a way to read a number's type in one country's plan.
 * @module
 */

/** libphonenumber-js's compact metadata (metadata.max.json): the parts read here. */
export interface CompactMetadata {
  /** Calling code → its countries, the main country first. */
  country_calling_codes: Readonly<Record<string, readonly string[]>>
  /** Country → its compact entry (may hold only the countries loaded so far). */
  countries: Readonly<Record<string, unknown>>
}

/** What libphonenumber-js read a number as (a parsed PhoneNumber has these). */
export interface Reading {
  /** E.164. */
  number: string
  nationalNumber: string
  countryCallingCode: string
  country?: string | undefined
}

/** A number's country, and its type there. */
export interface Placed<Type> {
  country: string
  type: Type
}

/**
 * A country's mobile pattern; undefined when it has none of its own (the US's and CA's are their
 * lines') or its metadata is not there. The metadata's compact form: a country's types are its
 * 12th field, mobile the second (server/src/phone/territory.test.ts fails should that change:
 * IM's 07924 would be GB's again).
 */
export function mobilePattern(metadata: Pick<CompactMetadata, 'countries'>, country: string) {
  const entry = metadata.countries[country] as unknown[] | undefined
  const types = entry?.[11] as [unknown, [string]?] | undefined
  return types?.[1]?.[0] || undefined
}

/**
 * Calling code → the territories sharing it that have mobile ranges of their own: a mobile
 * pattern that is neither the main country's nor a copy of it. A copy holds the main country's
 * example mobile number (VA's of IT's); `exampleMobiles` is libphonenumber-js's
 * `mobile/examples` (country → an example mobile's national number).
 * @example
 * territoriesWithOwnMobileRanges(max, examples)['44'] // ['GG', 'IM', 'JE']
 * territoriesWithOwnMobileRanges(max, examples)['358'] // undefined: AX's mobiles are FI's
 */
export function territoriesWithOwnMobileRanges(
  metadata: CompactMetadata,
  exampleMobiles: Readonly<Record<string, string | undefined>>,
): Record<string, string[]> {
  const own: Record<string, string[]> = {}
  for (const [code, countries] of Object.entries(metadata.country_calling_codes)) {
    const [main, ...territories] = countries
    if (!main || territories.length === 0) continue
    const mainMobile = mobilePattern(metadata, main)
    const mainExample = exampleMobiles[main]
    for (const territory of territories) {
      const pattern = mobilePattern(metadata, territory)
      if (!pattern || pattern === mainMobile) continue
      if (mainExample && new RegExp(`^(?:${pattern})$`).test(mainExample)) continue
      own[code] ??= []
      own[code].push(territory)
    }
  }
  return own
}

interface OwnRanges {
  main: string
  /** Any of the territories' own mobile ranges: one test rules most numbers out. */
  any: RegExp
  territories: { country: string; mobile: RegExp }[]
}

/**
 * The rule, over `metadata` (whose countries may grow as they load: a calling code's ranges are
 * read on its first number), `own` (from {@link territoriesWithOwnMobileRanges}) and `typeIn`,
 * which reads an E.164 number's type in one country's plan alone (undefined when its ranges do
 * not hold it).
 */
export function territoryRules<Type extends string>(
  metadata: CompactMetadata,
  own: Readonly<Record<string, readonly string[]>>,
  typeIn: (e164: string, country: string) => Type | undefined,
) {
  const rangesByCode = new Map<string, OwnRanges | null>()
  let callingCodes: Map<string, string> | undefined

  function ownRanges(code: string): OwnRanges | null {
    const known = rangesByCode.get(code)
    if (known !== undefined) return known
    const main = metadata.country_calling_codes[code]?.[0]
    const territories = own[code]
    if (!main || !territories) {
      rangesByCode.set(code, null)
      return null
    }
    const patterns = territories.map((country) => [country, mobilePattern(metadata, country)])
    // Not loaded yet (the widget's metadata comes by calling code): read again next time.
    if (patterns.some(([, pattern]) => !pattern)) return null
    const ranges = {
      main,
      any: new RegExp(`^(?:${patterns.map(([, pattern]) => pattern).join('|')})$`),
      territories: patterns.map(([country, pattern]) => ({
        country: country!,
        mobile: new RegExp(`^(?:${pattern})$`),
      })),
    }
    rangesByCode.set(code, ranges)
    return ranges
  }

  function callingCodeOf(country: string): string | undefined {
    if (!callingCodes) {
      callingCodes = new Map()
      for (const [code, countries] of Object.entries(metadata.country_calling_codes)) {
        for (const each of countries) callingCodes.set(each, code)
      }
    }
    return callingCodes.get(country)
  }

  /**
   * The territory whose own mobile ranges hold a number libphonenumber-js read as its calling
   * code's main country, with the number's type there; undefined when there is none (then the
   * reading stands). Costs one pattern test for a number of a calling code with such territories.
   */
  function ownTerritoryOf(reading: Reading, type: Type | undefined): Placed<Type> | undefined {
    if (type !== 'MOBILE' && type !== 'FIXED_LINE_OR_MOBILE') return undefined
    const ranges = ownRanges(reading.countryCallingCode)
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
   * For a project that would refuse a number read as its calling code's main country: the first
   * of `allowed` (`hint` first when it is one of them) that shares the calling code and whose own
   * ranges hold the number, with the number's type there. Only the main country's numbers move (a
   * Manx 07624 or 07924 number never becomes GB's), and only where the project does not allow
   * the main country: so no caller can move a number's count (the fraud guard's per-country
   * budgets and spend caps) from an allowed country to a territory by naming it.
   */
  function allowedTerritoryOf(
    reading: Reading,
    hint: string | undefined,
    allowed: readonly string[],
  ): Placed<Type> | undefined {
    const code = reading.countryCallingCode
    if (!reading.country || metadata.country_calling_codes[code]?.[0] !== reading.country) {
      return undefined
    }
    const candidates = hint && allowed.includes(hint) ? [hint, ...allowed] : allowed
    for (const candidate of candidates) {
      if (callingCodeOf(candidate) !== code) continue
      const type = typeIn(reading.number, candidate)
      if (type) return { country: candidate, type }
    }
    return undefined
  }

  /**
   * The country a valid number counts as for a project that allows `allowed` (null: every
   * country), `hint` the caller's country, with its type there: its own territory's
   * ({@link ownTerritoryOf}), else, where the project does not allow the country read, an
   * allowed territory whose ranges hold it ({@link allowedTerritoryOf}), else the country read.
   * Undefined for a reading of no country.
   */
  function place(
    reading: Reading,
    type: Type | undefined,
    hint: string | undefined,
    allowed: readonly string[] | null | undefined,
  ): Placed<Type | undefined> | undefined {
    if (!reading.country) return undefined
    const territory =
      ownTerritoryOf(reading, type) ??
      (allowed && !allowed.includes(reading.country)
        ? allowedTerritoryOf(reading, hint, allowed)
        : undefined)
    return territory ?? { country: reading.country, type }
  }

  return { ownTerritoryOf, allowedTerritoryOf, place }
}
