import { getCountries } from 'libphonenumber-js/max'
import { describe, expect, it } from 'vitest'
import { parsePhone } from '../phone'
import { randomMobileNumber } from './numbers'

describe('sandbox test numbers', () => {
  it('are, for every country, a mobile number a start reads as that country, or none', () => {
    const wrong: string[] = []
    const none: string[] = []
    for (const country of getCountries()) {
      for (let draw = 0; draw < 3; draw++) {
        const phone = randomMobileNumber(country)
        if (!phone) {
          none.push(country)
          break
        }
        const read = parsePhone(phone).country
        if (read !== country) wrong.push(`${country}: ${phone} reads as ${read}`)
      }
    }
    expect(wrong).toEqual([])
    // Territories whose mobiles are a larger neighbour's ranges, and read as its; IM's 07924
    // numbers, which GB's ranges hold too, are IM's (phone/territory.ts).
    expect(none).toEqual(expect.arrayContaining(['AX', 'VA']))
    expect(none).not.toContain('IM')
    expect(none.length).toBeLessThan(20)
  })

  it("are, for a project that allows only a territory sharing another's numbering, the territory's", () => {
    // libphonenumber-js reads these as GB's, IT's, FI's, AU's and NO's; the server reads a
    // territory's own ranges as the territory, and a project that allows only the territory
    // the ranges it shares with its neighbour too.
    for (const country of ['IM', 'JE', 'GG', 'VA', 'AX', 'CC', 'CX', 'SJ']) {
      for (let draw = 0; draw < 3; draw++) {
        const phone = randomMobileNumber(country, [country])
        expect(phone, country).toBeDefined()
        expect(parsePhone(phone!, undefined, [country]).country, `${country}: ${phone}`).toBe(
          country,
        )
      }
    }
  })
})
