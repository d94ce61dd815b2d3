import { describe, expect, it } from 'vitest'
import { maskIp } from './pages/verifications'

describe('maskIp (addresses for roles that do not read them in full)', () => {
  it('hides the last byte of an IPv4 address', () => {
    expect(maskIp('203.0.113.77')).toBe('203.0.113.x')
  })

  it('shows an IPv6 address as its /64 network, however its zero groups were written', () => {
    expect(maskIp('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3:8d3:…')
    // Written with "::", the first four groups of the text were the whole address.
    for (const ip of ['2001:db8::1234', '2600:1700::5', '::1', '2001:db8:1::ab:1']) {
      const masked = maskIp(ip)!
      expect(masked.endsWith(':…')).toBe(true)
      expect(masked.split(':')).toHaveLength(5)
    }
    expect(maskIp('2001:db8::1234')).toBe('2001:db8:0:0:…')
    expect(maskIp('2001:db8:1::ab:1')).toBe('2001:db8:1:0:…')
  })

  it('keeps an absent address absent and shows nothing of one it cannot read', () => {
    expect(maskIp(null)).toBe(null)
    expect(maskIp('not-an-address')).toBe('…')
  })
})
