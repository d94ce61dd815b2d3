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
})
