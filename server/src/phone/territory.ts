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
import {
  mobilePattern,
  territoriesWithOwnMobileRanges,
  territoryRules,
} from '@textgate/shared/territory'
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

/** Calling code → its territories with mobile ranges of their own (GB's: GG, IM, JE). */
const ownMobileRanges = territoriesWithOwnMobileRanges(maxMetadata, examples)

/**
 * The rule (@textgate/shared/territory) over the full metadata: `ownTerritoryOf` is the
 * territory whose own mobile ranges hold a number read as its calling code's main country;
 * `place` is a start's reading, that territory, else (for a project that does not allow the
 * main country) an allowed territory whose ranges hold the number, else the country read.
 */
export const { ownTerritoryOf, place } = territoryRules(maxMetadata, ownMobileRanges, typeIn)

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

/** A calling code's main country and the territories whose mobiles share its mobile blocks. */
export interface SharedMobileBlocks {
  callingCode: string
  main: string
  /** Each with the national leading digits (two) of its own mobile ranges, such as "79". */
  territories: { country: string; leading: readonly string[] }[]
}

let sharedBlocks: Map<string, SharedMobileBlocks> | undefined

/**
 * Per main country: the territories with mobile ranges of their own (the ones
 * {@link countryOfNumber} reads as the territory's) whose mobiles start with the same two
 * national digits as some of the main country's: GB's 07x blocks hold IM's, JE's and GG's
 * mobiles, RE's 069/070 hold YT's; where the blocks differ (KZ's 07x beside RU's 09x, the NANP
 * countries' area codes beside the US, which has no mobile ranges of its own) nobody takes one
 * country's mobiles for the other's, so they are not listed. The routing file's warnings use it
 * (routing/warnings.ts): a rule naming the main country does not take these territories' numbers.
 * @example sharedMobileBlocks().get('GB')?.territories.map((t) => t.country) // ['GG', 'IM', 'JE']
 */
export function sharedMobileBlocks(): ReadonlyMap<string, SharedMobileBlocks> {
  if (sharedBlocks) return sharedBlocks
  sharedBlocks = new Map()
  for (const [callingCode, territories] of Object.entries(ownMobileRanges)) {
    const main = maxMetadata.country_calling_codes[callingCode]?.[0]
    const mainMobile = main && mobilePattern(maxMetadata, main)
    if (!main || !mainMobile) continue
    const mainLeading = leadingDigits(mainMobile, 2)
    const sharing = territories
      .map((country) => ({
        country,
        leading: [...leadingDigits(mobilePattern(maxMetadata, country) ?? '', 2)],
      }))
      .filter(({ leading }) => leading.some((digits) => mainLeading.has(digits)))
    if (sharing.length > 0) sharedBlocks.set(main, { callingCode, main, territories: sharing })
  }
  return sharedBlocks
}

/**
 * The strings of `length` digits that a match of a metadata number pattern can start with. The
 * patterns use digits, `\d`, `[…]` classes, `(?:…)` groups, `|`, `?` and `{n}`/`{n,m}` only;
 * anything else throws (territory.test.ts reads every country's mobile pattern with it).
 * @example leadingDigits('7(?:4576|[59]24\\d)\\d{5}', 2) // Set { '74', '75', '79' }
 */
export function leadingDigits(pattern: string, length: number): Set<string> {
  let at = 0
  const digitsOf = (set: string) => [...'0123456789'].filter((d) => new RegExp(`[${set}]`).test(d))
  /** Every prefix (up to `length` digits) a part of the pattern can produce, as sets of strings. */
  type Prefixes = Set<string>
  const join = (heads: Prefixes, tails: Prefixes): Prefixes => {
    const out = new Set<string>()
    for (const head of heads) {
      if (head.length >= length) out.add(head)
      else for (const tail of tails) out.add((head + tail).slice(0, length))
    }
    return out
  }
  function alternatives(): Prefixes {
    const out = new Set<string>(sequence())
    while (pattern[at] === '|') {
      at++
      for (const prefix of sequence()) out.add(prefix)
    }
    return out
  }
  function sequence(): Prefixes {
    let prefixes: Prefixes = new Set([''])
    while (at < pattern.length && pattern[at] !== '|' && pattern[at] !== ')') {
      const atom = atomAt()
      const [min, max] = quantifier()
      let repeated: Prefixes = new Set([''])
      const choices = new Set<string>()
      for (let n = 0; n <= Math.min(max, length); n++) {
        if (n >= min) for (const prefix of repeated) choices.add(prefix)
        repeated = join(repeated, atom)
      }
      if (max > length) for (const prefix of repeated) choices.add(prefix)
      prefixes = join(prefixes, choices)
    }
    return prefixes
  }
  function atomAt(): Prefixes {
    const char = pattern[at]
    if (char === '(') {
      if (pattern.slice(at, at + 3) !== '(?:') throw new Error(`unexpected group in ${pattern}`)
      at += 3
      const inner = alternatives()
      if (pattern[at++] !== ')') throw new Error(`unclosed group in ${pattern}`)
      return inner
    }
    if (char === '[') {
      const end = pattern.indexOf(']', at)
      const set = pattern.slice(at + 1, end)
      at = end + 1
      return new Set(digitsOf(set))
    }
    if (char === '\\' && pattern[at + 1] === 'd') {
      at += 2
      return new Set(digitsOf('0-9'))
    }
    if (char !== undefined && /\d/.test(char)) {
      at++
      return new Set([char])
    }
    throw new Error(`unexpected "${char}" at ${at} in ${pattern}`)
  }
  function quantifier(): [number, number] {
    if (pattern[at] === '?') {
      at++
      return [0, 1]
    }
    const braces = /^\{(\d+)(?:,(\d+))?\}/.exec(pattern.slice(at))
    if (!braces) return [1, 1]
    at += braces[0].length
    const min = Number(braces[1])
    return [min, braces[2] === undefined ? min : Number(braces[2])]
  }
  const prefixes = alternatives()
  if (at !== pattern.length) throw new Error(`unexpected "${pattern[at]}" at ${at} in ${pattern}`)
  return new Set([...prefixes].filter((prefix) => prefix.length === length))
}
