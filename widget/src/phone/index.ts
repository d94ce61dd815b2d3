/**
 * Phone input helpers around libphonenumber-js/core with metadata split by calling code
 * (see scripts/metadata.mjs): the country list, as-you-type formatting that keeps the caret after
 * the same digit, and validation (including the number type) before any SMS is paid for.
 *
 * Metadata is loaded lazily, one calling code at a time. Functions that need it are synchronous
 * and degrade to unformatted digits while it loads; `loadFor()` says when it is there.
 * @module
 */
import { territoryRules } from '@textgate/shared/territory'
import {
  AsYouType,
  type CountryCode,
  type E164Number,
  type MetadataJson,
  type NumberType,
  PhoneNumber,
  parsePhoneNumberWithError,
  validatePhoneNumberLength,
} from 'libphonenumber-js/core'
import {
  CALLING_CODES,
  loadMetadata,
  METADATA_VERSION,
  OWN_MOBILE_TERRITORIES,
} from './metadata/index'

export type { CountryCode }

export interface Country {
  code: CountryCode
  name: string
  /** The English name, when `name` is in another language: shoppers search by either. */
  english?: string
  dialCode: string
  flag: string
}

/** Grows as calling codes load; libphonenumber-js only ever sees loaded countries. */
const metadata = {
  version: METADATA_VERSION,
  country_calling_codes: CALLING_CODES,
  countries: {},
  nonGeographic: {},
} as unknown as MetadataJson & { countries: Record<string, unknown> }

type PhoneType = NonNullable<NumberType> | 'UNKNOWN'

/**
 * The server's reading of a number's country (@textgate/shared/territory), over the metadata of
 * the calling codes loaded: a Manx +44 7924 number, which GB's ranges hold too, is IM's; an
 * Åland mobile (Finland's ranges) is FI's, or AX's for a project that allows AX and not FI.
 */
const territories = territoryRules<PhoneType>(metadata, OWN_MOBILE_TERRITORIES, (e164, country) => {
  const number = new PhoneNumber(e164 as E164Number, metadata)
  number.country = country as CountryCode
  return number.getType() ?? (number.isValid() ? 'UNKNOWN' : undefined)
})

/**
 * The country a valid number counts as, and its type there, as the server counts it for a
 * project that allows `allowed` (null: every country): `hint`, the country the shopper chose,
 * goes first among allowed territories that the number alone cannot tell apart.
 */
function place(
  number: PhoneNumber,
  allowed: readonly string[] | null,
  hint: string | undefined,
): { country: CountryCode; type: PhoneType | undefined } {
  const placed = territories.place(number, number.getType(), hint, allowed)
  return { country: (placed?.country ?? number.country) as CountryCode, type: placed?.type }
}

const DIAL_CODES = new Map<string, string>()
for (const [callingCode, countries] of Object.entries(CALLING_CODES)) {
  for (const country of countries) DIAL_CODES.set(country, callingCode)
}

const loaded = new Set<string>()
const loading = new Map<string, Promise<void>>()

/** Loads the metadata of one calling code (once); resolves when formatting can use it. */
export function loadCallingCode(callingCode: string): Promise<void> {
  if (loaded.has(callingCode)) return Promise.resolve()
  if (!CALLING_CODES[callingCode]) return Promise.resolve()
  let pending = loading.get(callingCode)
  if (!pending) {
    pending = loadMetadata(callingCode).then(
      (module) => {
        Object.assign(metadata.countries, module.default)
        loaded.add(callingCode)
      },
      (error: unknown) => {
        loading.delete(callingCode)
        throw error
      },
    )
    loading.set(callingCode, pending)
  }
  return pending
}

export const dialCodeOf = (country: string | undefined) =>
  country ? DIAL_CODES.get(country.toUpperCase()) : undefined

/** The calling code an international number's digits start with (codes are prefix-free). */
export function callingCodeOfDigits(digits: string): string | undefined {
  for (let length = 1; length <= 3 && length <= digits.length; length++) {
    const candidate = digits.slice(0, length)
    if (CALLING_CODES[candidate]) return candidate
  }
  return undefined
}

/** The calling code whose metadata `text` (typed in `country`) needs, if any. */
function neededCallingCode(text: string, country: string | undefined): string | undefined {
  const international = text.trim().replace(/^00/, '+')
  if (international.startsWith('+')) return callingCodeOfDigits(international.replace(/\D/g, ''))
  return dialCodeOf(country)
}

/** Loads what formatting and checking `text` in `country` need. */
export function loadFor(text: string, country: string | undefined): Promise<void> {
  const code = neededCallingCode(text, country)
  return code ? loadCallingCode(code) : Promise.resolve()
}

function ready(text: string, country: string | undefined): boolean {
  const code = neededCallingCode(text, country)
  return !code || loaded.has(code)
}

/** Every region with a calling code, in alphabetical order of its ISO alpha-2 code. */
export const regionCodes = (): string[] => [...DIAL_CODES.keys()].sort()

/** The flag emoji of an ISO alpha-2 code (regional indicator symbols). */
export function flagEmoji(code: string): string {
  return String.fromCodePoint(...[...code.toUpperCase()].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65))
}

export function countryList(locale: string): Country[] {
  const names = regionNames(locale)
  const english = locale.startsWith('en') ? undefined : regionNames('en')
  return [...DIAL_CODES]
    .map(([code, dialCode]) => ({
      code: code as CountryCode,
      name: names?.of(code) ?? code,
      english: english?.of(code),
      dialCode,
      flag: flagEmoji(code),
    }))
    .sort((a, b) => a.name.localeCompare(b.name, locale))
}

function regionNames(locale: string): Intl.DisplayNames | undefined {
  try {
    return new Intl.DisplayNames([locale, 'en'], { type: 'region' })
  } catch {
    return undefined
  }
}

export function isCountry(code: string | null | undefined): code is CountryCode {
  return !!code && DIAL_CODES.has(code.toUpperCase())
}

export interface Formatted {
  text: string
  /** Caret position in `text` after the same number of digits as before. */
  caret: number
  /**
   * Country read from an international number, if any: once the number is whole, the one the
   * server counts it as (a Manx +44 7924 number is IM's); before, libphonenumber-js's guess,
   * or an allowed country that shares its calling code where the project does not allow it.
   */
  country: CountryCode | undefined
}

/**
 * Every Unicode decimal digit (Arabic-Indic, Persian, Devanagari, full-width…) as 0–9, and a
 * full-width plus as +: shoppers type with the keyboard of their language.
 */
export function asciiDigits(text: string): string {
  return text.replace(/[\p{Nd}＋]/gu, (ch) => {
    if (ch === '＋') return '+'
    const code = ch.codePointAt(0)!
    // Unicode keeps each script's digits 0–9 as one run of ten code points.
    let zero = code
    while (zero > code - 50 && /\p{Nd}/u.test(String.fromCodePoint(zero - 1))) zero--
    return String((code - zero) % 10)
  })
}

/**
 * A number in the field, and what follows it: everything from the first letter (of any script),
 * `#`, `~`, `;` or `,` after a digit — libphonenumber's extension labels (`ext.`, `x`, `#`,
 * `;ext=`, `,,`, `доб`, `anexo`) and any other word ("Durchwahl", "poste"). What follows stays
 * apart, as typed: an extension's digits must never join the number (`+43 664 1234567 x 8` would
 * be another valid number). Before the first digit the same characters are dropped ("Tel:", a
 * stray `#`).
 */
const NUMBER_AND_REST = /^(\P{Nd}*\p{Nd}[^\p{L}#＃~～;；,，]*)(.*)$/su

/**
 * The first characters of libphonenumber's extension labels (`ext`, `x`, `#`, `~`, `;`, `,`,
 * `int`, `anexo`, `доб`, and their full-width forms): a label begun is enough, "e" of "ext".
 */
const EXTENSION_LABEL = /^[#＃~～;；,，xｘeｅiｉaд]/iu

/** `text` split where what follows its number starts (see NUMBER_AND_REST); `rest` is '' if none. */
function splitNumber(text: string): { number: string; rest: string } {
  const [, number = text, rest = ''] = NUMBER_AND_REST.exec(text) ?? []
  return { number, rest }
}

/**
 * What is wrong with text after the number: an extension, else words that are no part of a
 * phone number; undefined when nothing follows it.
 */
export function problemAfterNumber(text: string): 'extension' | 'invalid' | undefined {
  const { rest } = splitNumber(text)
  if (rest) return EXTENSION_LABEL.test(rest) ? 'extension' : 'invalid'
}

const DIGIT = /[\d+]/
const countDigits = (text: string) => (text.match(/[\d+]/g) ?? []).length

/** Removes the `n`-th (1-based) digit or `+` of `text`. */
function removeDigit(text: string, n: number): string {
  let seen = 0
  const index = [...text].findIndex((ch) => DIGIT.test(ch) && ++seen === n)
  return index < 0 ? text : text.slice(0, index) + text.slice(index + 1)
}

/**
 * Formats `raw` as the shopper types, keeping the caret after the digit it followed.
 * `inputType` is the InputEvent's: when a delete removed only a space or bracket, the digit
 * next to it goes instead (before the caret for Backspace, after it for Delete), as shoppers
 * expect. A leading `00` becomes `+`, and a bracketed trunk `(0)` after the dial code goes.
 * Text after the number (an extension: see NUMBER_AND_REST) follows it as typed, after one space.
 * `allowed`: the countries the project allows (null: every country).
 */
export function formatInput(
  raw: string,
  caret: number,
  country: CountryCode | undefined,
  inputType = '',
  previous = '',
  allowed: readonly CountryCode[] | null = null,
): Formatted {
  const { number, rest } = splitNumber(raw)
  let text = asciiDigits(number)
  let digitsBefore = countDigits(asciiDigits(number.slice(0, caret)))
  if (/^\s*00/.test(text)) {
    text = text.replace(/^\s*00/, '+')
    digitsBefore = Math.max(0, digitsBefore - 1)
  }
  // "+44 (0)7400…": the national trunk 0 in brackets is not dialled from abroad.
  const trunk = /^(\s*\+\s*\d{1,3}\s*)\(0\)/.exec(text)
  if (trunk) {
    text = text.replace(trunk[0], trunk[1]!)
    if (caret > trunk[0].length - 2) digitsBefore = Math.max(0, digitsBefore - 1)
  }
  // A delete in the text after the number, or of it, took no formatting of the number.
  const onlyFormattingWent =
    inputType.startsWith('delete') &&
    countDigits(raw) === countDigits(previous) &&
    rest === splitNumber(previous).rest
  if (onlyFormattingWent && inputType === 'deleteContentBackward' && digitsBefore > 0) {
    text = removeDigit(text, digitsBefore)
    digitsBefore -= 1
  } else if (onlyFormattingWent && inputType === 'deleteContentForward') {
    text = removeDigit(text, digitsBefore + 1)
  }
  const cleaned = text.replace(/[^\d+]/g, '').replace(/(?!^)\+/g, '')
  const international = cleaned.startsWith('+')
  let formatted = cleaned
  let detected: CountryCode | undefined
  if (ready(cleaned, country)) {
    const formatter = new AsYouType(international ? undefined : country, metadata)
    formatted = formatter.input(cleaned)
    if (international) detected = countryTyped(formatter, allowed, country)
    else if (formatted === cleaned && country && !cleaned.startsWith('0')) {
      formatted = withoutTrunk(cleaned, country) ?? formatted
    }
  }
  let position = 0
  let seen = 0
  while (position < formatted.length && seen < digitsBefore) {
    if (DIGIT.test(formatted[position]!)) seen++
    position++
  }
  if (rest) {
    formatted += ` ${rest}`
    // In what follows the number, the caret keeps its place from the end.
    if (caret > number.trimEnd().length) {
      position = formatted.length - Math.min(rest.length, raw.length - caret)
    }
  }
  return { text: formatted, caret: position, country: detected }
}

/** The country of an international number being typed (see Formatted's `country`). */
function countryTyped(
  formatter: AsYouType,
  allowed: readonly CountryCode[] | null,
  shown: CountryCode | undefined,
): CountryCode | undefined {
  const number = formatter.getNumber()
  if (number?.country && number.isValid()) return place(number, allowed, shown).country
  const country = formatter.getCountry()
  if (!country || !allowed || allowed.includes(country)) return country
  // A number on its way (a Manx "+44 7924 …" for a project that allows only IM): the allowed
  // country sharing its calling code, the one shown first.
  const code = dialCodeOf(country)
  return (
    [shown, ...allowed].find((c) => c && allowed.includes(c) && dialCodeOf(c) === code) ?? country
  )
}

/**
 * A national number typed without its trunk 0 after the dial code the picker shows ("7400 123456"
 * under +44): formatted as the international number is, without the dial code.
 */
function withoutTrunk(digits: string, country: CountryCode): string | undefined {
  const dialCode = dialCodeOf(country)
  if (!dialCode) return undefined
  const formatter = new AsYouType(undefined, metadata)
  const international = formatter.input(`+${dialCode}${digits}`)
  if (formatter.getCountry() !== country) return undefined
  const national = international.slice(dialCode.length + 1).trimStart()
  return countDigits(national) === digits.length ? national : undefined
}

export type PhoneProblem =
  | 'empty'
  | 'extension'
  | 'tooShort'
  | 'tooLong'
  | 'invalidCountry'
  | 'invalid'
  | 'landline'
  | 'notMobile'

export type PhoneCheck =
  | { ok: true; e164: string; country: CountryCode; national: string; international: string }
  | { ok: false; reason: PhoneProblem }

/**
 * Checks a number before any SMS is paid for: possible, valid, and of a type that gets SMS. Its
 * `country` is the one the server counts it as for a project that allows `allowed` (null: every
 * country), `country` (the one shown) first among territories the number cannot tell apart.
 */
export async function checkPhone(
  input: string,
  country: CountryCode | undefined,
  allowed: readonly CountryCode[] | null = null,
): Promise<PhoneCheck> {
  const rest = problemAfterNumber(input)
  if (rest) return { ok: false, reason: rest }
  const text = asciiDigits(input).trim().replace(/^00/, '+')
  if (text.replace(/\D/g, '').length === 0) return { ok: false, reason: 'empty' }
  const international = text.startsWith('+')
  if (!international && !country) return { ok: false, reason: 'invalidCountry' }
  if (international && !callingCodeOfDigits(text.replace(/\D/g, ''))) {
    return { ok: false, reason: 'invalid' }
  }
  await loadFor(text, country)
  const defaultCountry = international ? undefined : country
  const length = validatePhoneNumberLength(text, { defaultCountry }, metadata)
  if (length === 'TOO_SHORT' || length === 'NOT_A_NUMBER') return { ok: false, reason: 'tooShort' }
  if (length === 'TOO_LONG') return { ok: false, reason: 'tooLong' }
  if (length === 'INVALID_COUNTRY') return { ok: false, reason: 'invalidCountry' }
  if (length === 'INVALID_LENGTH') return { ok: false, reason: 'invalid' }
  try {
    const parsed = parsePhoneNumberWithError(text, { defaultCountry }, metadata)
    if (!parsed.isValid() || !parsed.country) return { ok: false, reason: 'invalid' }
    // The country as the server counts it (libphonenumber-js reads national digits by their
    // ranges too, whatever the flag: 07924 under IM's is GB's reading, as +44 7924 is).
    const placed = place(parsed, allowed, country)
    // The server's rule too: only these types can receive a text message.
    const { type } = placed
    if (type === 'FIXED_LINE') return { ok: false, reason: 'landline' }
    if (type !== 'MOBILE' && type !== 'FIXED_LINE_OR_MOBILE') {
      return { ok: false, reason: 'notMobile' }
    }
    return {
      ok: true,
      e164: parsed.number,
      country: placed.country,
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

/** A likely country from the browser's languages ("en-GB", "zh-Hant-TW"), if one names a region. */
export function countryFromLanguages(languages: readonly string[]): CountryCode | undefined {
  for (const language of languages) {
    let region: string | undefined
    try {
      region = new Intl.Locale(language).region
    } catch {
      region = undefined
    }
    if (region && isCountry(region)) return region.toUpperCase() as CountryCode
  }
  return undefined
}
