import { mobilePattern } from '@textgate/shared/territory'
import { type CountryCode, getCountries, getExampleNumber } from 'libphonenumber-js/max'
import maxMetadata from 'libphonenumber-js/max/metadata'
import examples from 'libphonenumber-js/mobile/examples'
import { describe, expect, it } from 'vitest'
import { priorOf, UNLISTED } from '../fraud/destinations/prior'
import { parsePhoneAnyType } from './index'
import { countryOfNumber, leadingDigits, sharedMobileBlocks } from './territory'

describe('countryOfNumber: the territory a number belongs to', () => {
  it.each<[string, string | undefined, string]>([
    // +44: GB with the Crown Dependencies.
    ['+447924123456', 'IM', "Sure's Manx mobiles, which GB's ranges hold too"],
    ['+447524123456', 'IM', 'Manx mobiles GB does not hold'],
    ['+447624123456', 'IM', "Manx Telecom's mobiles"],
    ['+441624812345', 'IM', 'a Douglas line'],
    ['+447797123456', 'JE', 'a Jersey mobile'],
    ['+441534123456', 'JE', 'a St Helier line'],
    ['+447781123456', 'GG', 'a Guernsey mobile'],
    ['+441481256789', 'GG', 'a St Peter Port line'],
    ['+447400123456', 'GB', "a mobile of GB's own"],
    ['+442071838750', 'GB', 'a London line'],
    // +358: Åland's lines are its own; its mobiles are Finland's ranges (no telling them apart).
    ['+35818123456', 'AX', 'a Mariehamn line'],
    ['+358412345678', 'FI', 'a mobile, Finnish or Ålandic'],
    // +39: the Vatican's lines are its own; its mobiles are Italy's.
    ['+390669812345', 'VA', 'a Vatican line'],
    ['+393123456789', 'IT', 'a mobile, Italian or Vatican'],
    // +1: NANP countries by area code.
    ['+18762101234', 'JM', 'a Jamaican mobile'],
    ['+12423591234', 'BS', 'a Bahamian mobile'],
    ['+17875551234', 'PR', 'a Puerto Rican number'],
    ['+12015550123', 'US', 'a US number'],
    ['+14165550123', 'CA', 'a Toronto number'],
    // +262: Réunion and Mayotte.
    ['+262692123456', 'RE', 'a Réunion mobile'],
    ['+262262161234', 'RE', 'a Réunion line'],
    ['+262639012345', 'YT', 'a Mayotte mobile'],
    ['+262269601234', 'YT', 'a Mayotte line'],
    // +7: Kazakhstan shares Russia's code.
    ['+77012345678', 'KZ', 'a Kazakh mobile'],
    ['+79123456789', 'RU', 'a Russian mobile'],
    // Not a number any country's ranges hold.
    ['+262639812345', undefined, 'no range'],
    ['+4412', undefined, 'too short'],
  ])('%s is %s (%s)', (e164, country) => {
    expect(countryOfNumber(e164)).toBe(country)
  })

  it("reads every country's example mobile as that country, unless its mobiles are its main country's", () => {
    // These territories have no mobile ranges of their own in the metadata: a number alone
    // cannot tell them from the main country of their calling code, whose they stay.
    const shared: Record<string, string> = {
      AX: 'FI',
      VA: 'IT',
      SJ: 'NO',
      CC: 'AU',
      CX: 'AU',
      EH: 'MA',
      BL: 'GP',
      MF: 'GP',
    }
    const read = getCountries().flatMap((country) => {
      const example = getExampleNumber(country as CountryCode, examples)
      return example ? [[country, countryOfNumber(example.number)] as const] : []
    })
    expect(read.length).toBeGreaterThan(200)
    for (const [country, as] of read) expect(as, country).toBe(shared[country] ?? country)
  })

  it('is the country a start counts, for any project that allows it', () => {
    for (const e164 of ['+447924123456', '+447797123456', '+18762101234', '+262639012345']) {
      const country = countryOfNumber(e164)!
      expect(parsePhoneAnyType(e164).country).toBe(country)
      expect(parsePhoneAnyType(e164, 'GB', [country]).country).toBe(country)
    }
  })
})

describe("sharedMobileBlocks: territories in their main country's mobile blocks", () => {
  it('are the Crown Dependencies beside GB and Mayotte beside Réunion, nothing else', () => {
    const listed = [...sharedMobileBlocks()].map(
      ([main, { callingCode, territories }]) =>
        [main, callingCode, territories.map((t) => t.country)] as const,
    )
    expect(listed).toEqual([
      ['GB', '44', ['GG', 'IM', 'JE']],
      ['RE', '262', ['YT']],
    ])
  })

  it("reads every country's mobile pattern", () => {
    const patterns = getCountries().flatMap((country) => mobilePattern(maxMetadata, country) ?? [])
    expect(patterns.length).toBeGreaterThan(200)
    for (const pattern of patterns)
      expect(leadingDigits(pattern, 2).size, pattern).toBeGreaterThan(0)
    expect(leadingDigits('7(?:4576|[59]24\\d)\\d{5}', 2)).toEqual(new Set(['74', '75', '79']))
    expect(leadingDigits('(?:4[0-8]|50)\\d{4,8}', 3).size).toBe(100)
    expect(leadingDigits('1?2\\d{3}', 2)).toEqual(
      new Set(['12', ...[...'0123456789'].map((d) => `2${d}`)]),
    )
  })
})

describe("a territory's entries", () => {
  it("are its own: it does not inherit its main country's destination prior", () => {
    // GB is low risk at $0.04; its territories are unlisted (medium) until given entries.
    expect(priorOf('GB').risk).toBe('low')
    for (const territory of ['IM', 'JE', 'GG', 'AX', 'VA']) {
      expect(priorOf(countryOfNumber(territoryNumbers[territory]!)!), territory).toBe(UNLISTED)
    }
    expect(priorOf('IM', { IM: { risk: 'low' } })).toEqual({ risk: 'low', cost: UNLISTED.cost })
  })
})

const territoryNumbers: Record<string, string> = {
  IM: '+447924123456',
  JE: '+447797123456',
  GG: '+447781123456',
  AX: '+35818123456',
  VA: '+390669812345',
}
