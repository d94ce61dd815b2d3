import { describe, expect, it } from 'vitest'
import { maskPhone } from './index'

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
