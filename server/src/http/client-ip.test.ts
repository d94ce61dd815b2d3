/**
 * The client's address over real sockets: forwarded headers count only from trusted proxy
 * addresses, per-address limits group IPv6 by /64, and HOST decides where the server listens.
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import ipaddr from 'ipaddr.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { loadConfig } from '../config'
import { addressGroup, clientIp, type TrustedProxies, trustedProxies } from './client-ip'

/** A real server on 127.0.0.1 answering with the client address it sees. */
async function echoServer(trusted: TrustedProxies) {
  const app = new Hono().get('/ip', (c) => c.text(clientIp(c, trusted) ?? 'none'))
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    ask: (xff?: string) =>
      fetch(`http://127.0.0.1:${port}/ip`, {
        headers: xff === undefined ? {} : { 'X-Forwarded-For': xff },
      }).then((r) => r.text()),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe('client addresses behind trusted proxies', () => {
  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const server = await echoServer(trustedProxies('10.0.0.0/8'))
    try {
      expect(await server.ask('203.0.113.9')).toBe('127.0.0.1')
      expect(await server.ask()).toBe('127.0.0.1')
    } finally {
      await server.close()
    }
  })

  it('walks the trusted hops right to left and stops at the first untrusted address', async () => {
    const server = await echoServer(trustedProxies('loopback, 10.0.0.0/8'))
    try {
      expect(await server.ask('203.0.113.9')).toBe('203.0.113.9')
      // The client wrote the first entry itself; our proxies added the last two.
      expect(await server.ask('198.51.100.1, 203.0.113.9, 10.1.2.3')).toBe('203.0.113.9')
      expect(await server.ask('not-an-ip, 10.1.2.3')).toBe('10.1.2.3')
      expect(await server.ask()).toBe('127.0.0.1')
    } finally {
      await server.close()
    }
  })

  it('parses TRUST_PROXY: addresses, ranges, names, the old forms; names what is wrong', () => {
    expect(trustedProxies('false').ranges).toEqual([])
    expect(trustedProxies('::1, 192.168.1.7').ranges).toEqual(['::1/128', '192.168.1.7/32'])
    expect(trustedProxies('true').has('10.9.9.9')).toBe(true)
    expect(trustedProxies('2').has('203.0.113.1')).toBe(false)
    expect(trustedProxies('private').has('::ffff:192.168.0.1')).toBe(true)
    expect(() => trustedProxies('loopback, 10.0.0.0/33, proxy.local')).toThrow(
      /"10\.0\.0\.0\/33", "proxy\.local" is not an address/,
    )
    // ipaddr.js alone reads these as 8.0.0.0/8 (octal) and 127.0.0.1: a proxy range of another network.
    expect(() => trustedProxies('010.0.0.0/8, 127.1')).toThrow(
      /"010\.0\.0\.0\/8", "127\.1" is not an address/,
    )
    const secret = 'config-test-secret-0123456789-0123456789'
    const config = loadConfig({
      TRUST_PROXY: '10.0.0.0/8',
      HOST: '127.0.0.1',
      TEXTGATE_SECRET: secret,
    })
    expect(config.trustedProxies.has('10.2.3.4')).toBe(true)
    expect(config.host).toBe('127.0.0.1')
    expect(() => loadConfig({ HOST: 'not a host!', TEXTGATE_SECRET: secret })).toThrow(
      /HOST must be/,
    )
  })

  it('answers for IPv4 addresses as ipaddr.js matches them, mapped IPv6 ranges included', () => {
    // The IPv4 fast path against ipaddr.js's own matching, over ranges of every width and both
    // families, and addresses at and around their edges.
    const lists = [
      '10.0.0.0/8, 192.168.1.7',
      '172.16.0.0/12, 0.0.0.0/32',
      '203.0.113.128/25',
      '0.0.0.0/0',
      '::ffff:10.0.0.0/104',
      '::ffff:0:0/96',
      '::/0',
      '::/80, 2001:db8::/32',
      'fc00::/7',
      '255.255.255.255/32, 127.0.0.0/8',
    ]
    const addresses = [
      '10.0.0.0',
      '10.255.255.255',
      '11.0.0.0',
      '9.255.255.255',
      '192.168.1.7',
      '192.168.1.8',
      '172.15.255.255',
      '172.16.0.1',
      '172.31.255.255',
      '172.32.0.0',
      '0.0.0.0',
      '203.0.113.127',
      '203.0.113.128',
      '203.0.113.255',
      '255.255.255.255',
      '127.0.0.1',
      '128.0.0.1',
    ]
    for (const list of lists) {
      const trusted = trustedProxies(list)
      const ranges = trusted.ranges.map((range) => ipaddr.parseCIDR(range))
      for (const ip of addresses) {
        const address = ipaddr.parse(ip) as ipaddr.IPv4
        const expected = ranges.some(([network, bits]) =>
          network.kind() === 'ipv4'
            ? address.match(network, bits)
            : address.toIPv4MappedAddress().match(network, bits),
        )
        expect(trusted.has(ip), `${ip} in ${list}`).toBe(expected)
      }
    }
  })

  it('groups IPv6 addresses by /64 and leaves IPv4 as it is', () => {
    expect(addressGroup('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64')
    expect(addressGroup('2001:db8:1:2::1')).toBe(addressGroup('2001:db8:1:2:ffff::9'))
    expect(addressGroup('2001:db8:1:3::1')).not.toBe(addressGroup('2001:db8:1:2::1'))
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7')
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7')
  })
})

for (const dialect of DIALECTS) {
  describe(`per-address limits (${dialect})`, () => {
    let h: Harness
    let pk: string

    beforeAll(async () => {
      h = await createHarness(dialect)
      const created = await h.project({
        name: 'Limits',
        fraudSettings: {
          velocity: { rules: [{ scope: 'ip', window: '1h', blockAt: 3 }] },
          conversion: { mode: 'off' },
        },
      })
      pk = created.publishableKey
    })
    afterAll(() => h.dispose())

    const start = (ip: string, n: number) =>
      h.call('POST', '/v1/verifications', {
        key: pk,
        headers: { 'X-Forwarded-For': ip },
        body: { phone: `+4474001${String(23000 + n)}`, consent: { accepted: true } },
      })

    it('counts every address of one IPv6 /64 as one client', async () => {
      const statuses: number[] = []
      for (let i = 0; i < 4; i++) statuses.push((await start(`2001:db8:7:7:${i + 1}::1`, i)).status)
      expect(statuses.slice(0, 3)).toEqual([201, 201, 201])
      expect(statuses[3]).toBe(429)
      // Another /64 is another client.
      expect((await start('2001:db8:7:8::1', 10)).status).toBe(201)
    })
  })
}
