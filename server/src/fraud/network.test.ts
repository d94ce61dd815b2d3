import ipaddr from 'ipaddr.js'
import { describe, expect, it } from 'vitest'
import { addressGroup } from '../http/client-ip'
import { isCanonicalIpv4, isIpOrCidr, networkOf, normaliseIp } from './network'

describe('addresses as the guard groups them', () => {
  it('normalises every form ipaddr.js reads, and takes canonical IPv4 as it is', () => {
    const cases: [string, string | null][] = [
      ['203.0.113.7', '203.0.113.7'],
      ['0.0.0.0', '0.0.0.0'],
      ['255.255.255.255', '255.255.255.255'],
      ['::ffff:203.0.113.7', '203.0.113.7'],
      ['::FFFF:203.0.113.7', '203.0.113.7'],
      ['::ffff:203.0.113.07', '203.0.113.7'],
      ['::ffff:cb00:7107', '203.0.113.7'],
      ['2001:DB8::1', '2001:db8::1'],
      ['010.0.0.1', '8.0.0.1'],
      ['0x7f.0.0.1', '127.0.0.1'],
      ['256.1.1.1', null],
      ['1.2.3', '1.2.0.3'],
      ['1.2.3.4 ', null],
      ['', null],
      ['shop.example', null],
    ]
    for (const [input, expected] of cases) {
      expect(normaliseIp(input), input).toBe(expected)
    }
    expect(isCanonicalIpv4('203.0.113.7')).toBe(true)
    expect(isCanonicalIpv4('203.0.113.07')).toBe(false)
    expect(isCanonicalIpv4('::1')).toBe(false)
  })

  it('gives the same answers as a full parse for every canonical IPv4 shape', () => {
    // Octets of each width and edge: the fast path must agree with ipaddr.js on all of them.
    const octets = ['0', '9', '10', '99', '100', '199', '200', '249', '250', '255']
    for (const a of octets) {
      for (const b of octets) {
        const ip = `${a}.${b}.${b}.${a}`
        const parsed = ipaddr.process(ip) as ipaddr.IPv4
        expect(normaliseIp(ip)).toBe(parsed.toString())
        expect(addressGroup(ip)).toBe(parsed.toString())
        expect(networkOf(ip)).toBe(`${parsed.octets.slice(0, 3).join('.')}.0/24`)
      }
    }
  })

  it('groups IPv6 by its /48 network and /64 subscriber block', () => {
    expect(networkOf('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1::/48')
    expect(addressGroup('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
  })
})

describe('addresses and ranges an operator lists', () => {
  it('takes addresses and CIDR ranges as written, IPv4 in four decimal octets', () => {
    for (const value of [
      '203.0.113.7',
      '203.0.113.0/24',
      '0.0.0.0/0',
      '10.1.2.3/32',
      '2001:db8::1',
      '2001:db8::/32',
      '::ffff:203.0.113.7',
      '::/0',
    ]) {
      expect([value, isIpOrCidr(value)]).toEqual([value, true])
    }
  })

  it("refuses inet_aton's old forms, which name another address than they seem to", () => {
    for (const value of [
      '010.1.2.3', // 8.1.2.3 to ipaddr.js
      '010.0.0.0/8', // 8.0.0.0/8
      '01.02.03.04',
      '1', // 0.0.0.1
      '3232235777', // 192.168.1.1
      '192.168.1', // 192.168.0.1
      '127.1',
      '0x7f.0.0.1',
      'fe80::1%eth0',
      '1.2.3.4/33',
      '2001:db8::/129',
      '1.2.3.4/8/8',
      '1.2.3.4/',
      '1.2.3.4/+8',
      '',
    ]) {
      expect([value, isIpOrCidr(value)]).toEqual([value, false])
    }
  })
})
