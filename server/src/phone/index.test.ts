import { COUNTRY_CODES, countryCode, notACountry } from '@textgate/shared'
import { getCountries } from 'libphonenumber-js/max'
import { describe, expect, it } from 'vitest'
import { maskPhone, parsePhoneAnyType } from './index'

describe('maskPhone', () => {
  it('keeps the country calling code (1 to 3 digits) and the last two digits', () => {
    expect(maskPhone('+12015550123')).toBe('+1 ••••••••23')
    expect(maskPhone('+447400123456')).toBe('+44 ••••••••56')
    expect(maskPhone('+79161234567')).toBe('+7 ••••••••67')
    expect(maskPhone('+2348031234567')).toBe('+234 ••••••••67')
    expect(maskPhone('+8613812345678')).toBe('+86 •••••••••78')
    expect(maskPhone('+3545512345')).toBe('+354 •••••45')
  })
})

describe('parsePhoneAnyType', () => {
  it('compiles no pattern per parse (the workspace patch of libphonenumber-js keeps them)', () => {
    // libphonenumber-js built a RegExp for every pattern it tried (5 a parse of these numbers,
    // most of the parse's time); the patch in patches/ keeps each one. pnpm keys a patch by the
    // exact version, so a version bump drops it silently: this fails then.
    const numbers = (from: number) =>
      Array.from({ length: 50 }, (_, i) => [
        `+44740${String(from + i).padStart(7, '0')}`,
        `+1202555${String(from + i).padStart(4, '0')}`,
        `+49151${String(from + i).padStart(8, '0')}`,
      ]).flat()
    for (const phone of numbers(0)) parsePhoneAnyType(phone)
    const Native = globalThis.RegExp
    let built = 0
    globalThis.RegExp = new Proxy(Native, {
      construct(target, args) {
        built++
        return Reflect.construct(target, args)
      },
    })
    try {
      const parsed = numbers(1000).map((phone) => parsePhoneAnyType(phone))
      expect(parsed.map((p) => p.type)).toContain('MOBILE')
    } finally {
      globalThis.RegExp = Native
    }
    // One a parse is left (outside the pattern matcher); without the patch, 800 here.
    expect(built).toBeLessThanOrEqual(150)
  })
})

describe('parsePhoneAnyType with digits of other scripts', () => {
  it.each<[string, string | undefined, string]>([
    ['＋４４７４００１２３４５６', undefined, 'full-width, full-width plus'],
    ['٠٠٤٤٧٤٠٠١٢٣٤٥٦', undefined, 'Arabic-Indic, 00 prefix'],
    ['+۴۴ ۷۴۰۰ ۱۲۳۴۵۶', undefined, 'Persian'],
    ['०७४०० १२३४५६', 'GB', 'Devanagari, national'],
  ])('reads %s (country %s: %s) as the widget does', (phone, country) => {
    expect(parsePhoneAnyType(phone, country)).toMatchObject({
      e164: '+447400123456',
      country: 'GB',
    })
  })
})

describe('parsePhoneAnyType with an extension', () => {
  it.each<[string, string | undefined]>([
    ['+1 650 253 0000 ext. 123', undefined],
    ['+1 650 253 0000 ext 123', undefined],
    ['+16502530000;ext=123', undefined],
    ['tel:+1-650-253-0000;ext=123', undefined],
    ['+1 650 253 0000 x123', undefined],
    ['+1 650 253 0000 #123', undefined],
    ['(650) 253-0000 extension 123', 'US'],
  ])('refuses %s (country %s) rather than drop the extension', (phone, country) => {
    expect(() => parsePhoneAnyType(phone, country)).toThrow(
      expect.objectContaining({
        code: 'invalid_phone',
        details: { reason: 'extension' },
        message: 'Text messages cannot reach a phone extension: enter the number without it.',
      }),
    )
  })

  it('still reads the number alone', () => {
    expect(parsePhoneAnyType('+1 650 253 0000').e164).toBe('+16502530000')
  })

  it("reads a territory's own ranges as the territory, and shared ones as the territory where the project allows it and not the main country", () => {
    const read = (phone: string, country?: string, allowed?: string[] | null) => {
      const { country: as, type } = parsePhoneAnyType(phone, country, allowed)
      return `${as} ${type}`
    }
    // Sure's Manx 07924 is in GB's ranges too (libphonenumber-js alone reads it as GB's): it
    // is IM's whatever the project allows or the caller names (phone/territory.ts).
    expect(read('+447924123456')).toBe('IM MOBILE')
    expect(read('+447924123456', 'GB', null)).toBe('IM MOBILE')
    expect(read('+447924123456', 'GB', ['GB', 'IM'])).toBe('IM MOBILE')
    expect(read('+447924123456', undefined, ['IM'])).toBe('IM MOBILE')
    expect(read('07924 123456', 'IM', ['IM'])).toBe('IM MOBILE')
    expect(read('07924 123456', 'GB')).toBe('IM MOBILE')
    expect(read('+447924123456', 'GB', ['FR', 'IM'])).toBe('IM MOBILE')
    // Nor does a project that allows GB and not IM count it as GB's (as for 07624, IM's alone).
    expect(read('+447924123456', 'GB', ['GB'])).toBe('IM MOBILE')
    expect(read('+447624123456', 'GB', ['GB'])).toBe('IM MOBILE')
    // The caller's country first among the territories that hold the number.
    expect(read('+393123456789', undefined, ['VA'])).toBe('VA MOBILE')
    expect(read('+358412345678', undefined, ['AX'])).toBe('AX MOBILE')
    expect(read('+61412345678', 'CX', ['CC', 'CX'])).toBe('CX MOBILE')
    expect(read('+61412345678', undefined, ['CC', 'CX'])).toBe('CC MOBILE')
    // Not in the territory's ranges (GB's own, a US number), or of another calling code: as read.
    expect(read('+447400123456', 'IM', ['IM'])).toBe('GB MOBILE')
    expect(read('+12015550123', 'PR', ['PR', 'CA'])).toBe('US FIXED_LINE_OR_MOBILE')
    expect(read('+33612345678', 'IM', ['IM'])).toBe('FR MOBILE')
  })
})

describe('the countries operators and callers may name (shared/countries.ts)', () => {
  it('are exactly the countries libphonenumber-js parses numbers for', () => {
    // When libphonenumber-js adds or drops a country, copy its list into shared/src/countries.ts.
    expect([...COUNTRY_CODES].sort()).toEqual([...getCountries()].sort())
    for (const country of getCountries()) expect(countryCode(country.toLowerCase())).toBe(country)
  })

  it('refuse two letters that name no country, naming them, and GB for UK', () => {
    for (const value of ['XX', 'ZZ', 'EU', 'UK', 'gbr', '', 'G'])
      expect(countryCode(value)).toBe(undefined)
    expect(notACountry('UK')).toBe(
      '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)',
    )
    expect(notACountry('uk')).toContain('the United Kingdom is GB')
    expect(notACountry('XX')).toBe('"XX" is not an ISO 3166-1 alpha-2 country code (such as GB)')
    expect(notACountry('Great Britain and N.I.')).toBe(
      '"Great Britai…" is not an ISO 3166-1 alpha-2 country code (such as GB)',
    )
  })
})

describe('parsePhoneAnyType with wide spaces and invisible marks', () => {
  // The widget keeps only the digits of what is typed or pasted; libphonenumber-js alone takes
  // these for the end of the number ("not a number").
  it.each<[string, string | undefined, string]>([
    ['+44\u20097400\u2009123456', undefined, 'thin spaces'],
    ['+44\u202f7400\u202f123456', undefined, 'narrow no-break spaces (French formatting)'],
    ['+44\u20077400\u2007123456', undefined, 'figure spaces'],
    ['+44\u200e7400\u200e123456', undefined, 'left-to-right marks'],
    ['\u200f+44 7400 123456\u200f', undefined, 'right-to-left marks around it'],
    ['+44\u061c7400\u2068123456\u2069', undefined, 'Arabic letter mark, isolates'],
    ['\u200e0044 7400 123456', undefined, 'a mark before the 00 prefix'],
    ['07400\ufeff123456', 'GB', 'a BOM inside a national number'],
  ])('reads %s (country %s: %s) as the widget does', (phone, country) => {
    expect(parsePhoneAnyType(phone, country)).toMatchObject({
      e164: '+447400123456',
      country: 'GB',
    })
  })
})
