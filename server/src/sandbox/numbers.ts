/**
 * Test numbers for the sandbox: valid mobile numbers of a country, drawn at random around
 * the country's example mobile number. Test-mode keys never reach a real carrier, so these
 * numbers are never actually texted.
 * @module
 */
import { randomInt } from 'node:crypto'
import {
  type CountryCode,
  getExampleNumber,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/max'
import examples from 'libphonenumber-js/mobile/examples'
import { SMS_CAPABLE_TYPES } from '../phone'

/**
 * A random valid mobile number of `country` in E.164, or undefined when there is none that
 * reads as `country`: a territory that shares another's numbering plan (AX and FI, IM and GB, VA
 * and IT…) has numbers libphonenumber-js reads as the other's, which a start then counts as
 * that country (refused by a project that allows only the territory).
 */
export function randomMobileNumber(country: string): string | undefined {
  const example = getExampleNumber(country as CountryCode, examples)
  if (!example) return undefined
  const national = example.nationalNumber
  // Vary the last digits, fewer for short numbering plans and more tries for longer spans,
  // so the number stays valid and test numbers rarely share a range (the fraud guard counts
  // starts per number prefix).
  for (let attempt = 0; attempt < 60; attempt++) {
    const vary = Math.max(1, Math.min(attempt < 40 ? 6 : 4, national.length - 3))
    let tail = ''
    for (let i = 0; i < vary; i++) tail += String(randomInt(0, 10))
    const candidate = `+${example.countryCallingCode}${national.slice(0, national.length - vary)}${tail}`
    if (readsAs(candidate, country)) return candidate
  }
  return readsAs(example.number, country) ? example.number : undefined
}

function readsAs(e164: string, country: string): boolean {
  try {
    const parsed = parsePhoneNumberWithError(e164)
    const type = parsed.getType()
    return parsed.isValid() && parsed.country === country && !!type && SMS_CAPABLE_TYPES.has(type)
  } catch {
    return false
  }
}
