import { describe, expect, it } from 'vitest'
import { countryFrom, parseAsk } from './ask'

describe('the plain-language box', () => {
  it.each([
    ['give me a random UK number', { kind: 'random_number', country: 'GB' }],
    ['Give me a random France number', { kind: 'random_number', country: 'FR' }],
    ['get a random number for Nigeria?', { kind: 'random_number', country: 'NG' }],
    ['give me a random de number', { kind: 'random_number', country: 'DE' }],
    ['send a test code to +44 7400 123456', { kind: 'send_code', phone: '+447400123456' }],
    ['please send a code to +1 (415) 555-0100.', { kind: 'send_code', phone: '+14155550100' }],
    [
      'show the last 5 messages to +44 7400 123456',
      { kind: 'last_messages', phone: '+447400123456', count: 5 },
    ],
    [
      'show the last three texts to +447400123456',
      { kind: 'last_messages', phone: '+447400123456', count: 3 },
    ],
    [
      'show the last messages to +447400123456',
      { kind: 'last_messages', phone: '+447400123456', count: 5 },
    ],
    ['why was +234 803 000 0000 blocked?', { kind: 'why_blocked', phone: '+2348030000000' }],
    ['Why is +2348030000000 challenged', { kind: 'why_blocked', phone: '+2348030000000' }],
  ])('understands “%s”', (text, intent) => {
    expect(parseAsk(text)).toEqual(intent)
  })

  it.each([
    'give me a random Narnia number',
    'send money to +44 7400 123456',
    'drop table verifications',
    '',
    'show the last 5 messages',
  ])('says it does not understand “%s”', (text) => {
    expect(parseAsk(text)).toEqual({ kind: 'unknown' })
  })

  it('knows countries by English name, ISO code and common alias', () => {
    expect(countryFrom('United Kingdom')).toBe('GB')
    expect(countryFrom('usa')).toBe('US')
    expect(countryFrom('Brazil')).toBe('BR')
    expect(countryFrom('br')).toBe('BR')
  })
})
