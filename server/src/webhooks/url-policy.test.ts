import { describe, expect, it } from 'vitest'
import {
  inWebhookNetworks,
  isLoopbackAddress,
  isPublicAddress,
  parseWebhookRanges,
} from './url-policy'

describe('webhook address rules', () => {
  const networks = { ranges: parseWebhookRanges('10.0.0.0/8, fd00::/8'), testLoopback: false }

  it('reads an IPv4-mapped IPv6 address as the IPv4 address it carries', () => {
    expect(isPublicAddress('::ffff:8.8.8.8')).toBe(true)
    expect(isPublicAddress('::ffff:10.0.0.1')).toBe(false)
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true)
    expect(inWebhookNetworks('::ffff:10.1.2.3', networks)).toBe(true)
    expect(inWebhookNetworks('::ffff:11.1.2.3', networks)).toBe(false)
  })

  it('never takes the deprecated IPv4-compatible form, or a non-address, as public', () => {
    // As URLs and DNS answers write it (ipaddr.js itself reads `::8.8.8.8` as IPv4-mapped).
    expect(isPublicAddress('::808:808')).toBe(false)
    expect(isPublicAddress('::a9fe:a9fe')).toBe(false)
    expect(isPublicAddress('example.com')).toBe(false)
    expect(isLoopbackAddress('localhost')).toBe(false)
    expect(inWebhookNetworks('not-an-address', networks)).toBe(false)
  })

  it('matches ranges of the same family only', () => {
    expect(inWebhookNetworks('fd12::1', networks)).toBe(true)
    expect(inWebhookNetworks('fe80::1', networks)).toBe(false)
    expect(inWebhookNetworks('10.0.0.1', { ranges: [], testLoopback: true })).toBe(false)
  })
})
