import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { StartVerificationRequest } from './schemas'

const start = (signals: unknown) =>
  v.safeParse(StartVerificationRequest, {
    phone: '+447400123456',
    consent: { accepted: true },
    signals,
  })

describe('caller signals in the start body', () => {
  it('accepts every field, and none', () => {
    expect(start(undefined).success).toBe(true)
    expect(start({}).success).toBe(true)
    const full = start({
      deviceId: 'aB3_-9xYzaB3_-9xYz',
      shownMs: 5400,
      entry: 'mixed',
      keys: 11,
      focuses: 1,
      visible: true,
      webdriver: false,
    })
    expect(full.success).toBe(true)
  })

  it.each([
    ['a short deviceId', { deviceId: 'short' }],
    ['a deviceId with other characters', { deviceId: 'aaaaaaaaaaaaaaaa/aaa' }],
    ['a 65-character deviceId', { deviceId: 'a'.repeat(65) }],
    ['a negative shownMs', { shownMs: -1 }],
    ['a fractional key count', { keys: 1.5 }],
    ['an unknown entry', { entry: 'dictated' }],
    ['visible as a string', { visible: 'yes' }],
    ['an unknown field', { mouse: 3 }],
    ['signals that are not an object', 'lots'],
  ])('refuses %s', (_, signals) => {
    expect(start(signals).success).toBe(false)
  })
})
