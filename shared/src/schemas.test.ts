import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import {
  isCanonicalCompactJws,
  ResendVerificationRequest,
  StartVerificationRequest,
} from './schemas'

const start = (locale: unknown) =>
  v.safeParse(StartVerificationRequest, {
    phone: '+447400123456',
    consent: { accepted: true },
    locale,
  })

describe('locale', () => {
  it.each([
    'fr',
    'pt-BR',
    'zh-Hant-TW',
    'EN-us',
    'ar-EG-u-nu-arab',
    'en-US-u-hc-h23',
    'de-DE-x-shop',
  ])('takes the BCP 47 tag %s', (locale) => {
    expect(start(locale).success).toBe(true)
    expect(v.safeParse(ResendVerificationRequest, { locale }).success).toBe(true)
  })

  it.each([
    ['en_US', 'en_US', 'locale must be BCP 47'],
    ['x-klingon', 'x-klingon', 'locale must be BCP 47'],
    ['an empty one', '', 'locale must be BCP 47'],
    ['15,000 characters', `en${'-abcdefgh'.repeat(1500)}`, 'locale must be at most 64 characters'],
  ])('refuses %s (it is kept with the verification)', (_, locale, message) => {
    const result = start(locale)
    expect(result.success).toBe(false)
    expect(result.issues?.[0]?.message).toBe(message)
  })
})

describe('isCanonicalCompactJws', () => {
  it('takes three canonical base64url segments and nothing else', () => {
    // Lengths 2, 3 and 4 mod 4; the last characters' unused bits are zero.
    expect(isCanonicalCompactJws('eyJhIjoxfQ.eyJiIjoyMn0.AAAA')).toBe(true)
    expect(isCanonicalCompactJws('AQ.AAE.AAAA')).toBe(true)
    for (const bad of [
      'AR.AAE.AAAA', // 4 unused bits, one set
      'AQ.AAF.AAAA', // 2 unused bits, one set
      'AQ==.AAE.AAAA',
      'AQ.AAE.AA+/',
      'AQ.AAE.AA AA',
      'AQ.AAE.AAAAA', // 1 mod 4: no byte string spells so
      'AQ.AAE.',
      'AQ.AAE',
      'AQ.AAE.AAAA.AAAA',
      ' AQ.AAE.AAAA',
    ]) {
      expect([bad, isCanonicalCompactJws(bad)]).toEqual([bad, false])
    }
  })
})
