/**
 * Test numbers for the sandbox: valid mobile numbers of a country, drawn at random around
 * the country's example mobile number. Test-mode keys never reach a real carrier, so these
 * numbers are never actually texted.
 * @module
 */
import { randomInt } from 'node:crypto'
import { type CountryCode, getExampleNumber } from 'libphonenumber-js/max'
import examples from 'libphonenumber-js/mobile/examples'
import { parsePhone } from '../phone'

/**
 * A random valid mobile number of `country` in E.164 that a start of a project allowing
 * `allowed` (null: every country) reads as `country`, or undefined when there is none. A
 * territory whose mobiles are another country's ranges (AX's are FI's, VA's IT's…) has none of
 * its own: a project that allows the territory and not the other country reads them as the
 * territory (see phone/territory.ts), others do not.
 */
export function randomMobileNumber(
  country: string,
  allowed: readonly string[] | null = null,
): string | undefined {
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
    if (readsAs(candidate, country, allowed)) return candidate
  }
  return readsAs(example.number, country, allowed) ? example.number : undefined
}

function readsAs(e164: string, country: string, allowed: readonly string[] | null): boolean {
  try {
    return parsePhone(e164, undefined, allowed).country === country
  } catch {
    return false
  }
}
