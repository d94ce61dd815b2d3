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
    // Territories that share a plan with a larger neighbour, whose numbers read as its.
    expect(none).toEqual(expect.arrayContaining(['AX', 'IM', 'VA']))
    expect(none.length).toBeLessThan(20)
  })

  it("are, for a project that allows only a territory sharing another's numbering, the territory's", () => {
    // libphonenumber-js reads these as GB's, IT's, FI's, AU's and NO's; a project that allows
    // only the territory reads the territory's own ranges as the territory.
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
