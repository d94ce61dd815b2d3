/**
 * Addresses and number ranges as the guard groups them: an IPv4 /24 or IPv6 /48 network
 * (one customer's allocation, roughly), and a phone number without its last digits.
 * @module
 */
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import { callingCodeOf } from '../phone'

/**
 * An IPv4 address already in its normal form (four decimal octets, no leading zeros): most
 * addresses a server meets. Those are their own normal form, so every request need not parse
 * its address three times; anything else (IPv6, `010.1.1.1`, `0x7f.1`) goes through ipaddr.js.
 */
const CANONICAL_IPV4 =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/
export const isCanonicalIpv4 = (ip: string) => CANONICAL_IPV4.test(ip)

/** Normalised address text (IPv4-mapped IPv6 becomes IPv4), or null when not an address. */
export function normaliseIp(ip: string | null | undefined): string | null {
  if (!ip) return null
  if (isCanonicalIpv4(ip)) return ip
  // A dual-stack socket's IPv4 peer (`::ffff:127.0.0.1`): its IPv4 address.
  if (ip.startsWith('::ffff:') && isCanonicalIpv4(ip.slice(7))) return ip.slice(7)
  if (!ipaddr.isValid(ip)) return null
  const parsed = ipaddr.process(ip)
  return parsed.toString()
}

/** `203.0.113.0/24` or `2001:db8:1::/48`. */
export function networkOf(ip: string): string {
  if (isCanonicalIpv4(ip)) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`
  const parsed = ipaddr.process(ip)
  if (parsed.kind() === 'ipv4') {
    const [a, b, c] = (parsed as ipaddr.IPv4).octets
    return `${a}.${b}.${c}.0/24`
  }
  const parts = (parsed as ipaddr.IPv6).parts
  return `${parts
    .slice(0, 3)
    .map((p) => p.toString(16))
    .join(':')}::/48`
}

/** Does `ip` fall in `range` (an address or CIDR)? Invalid input never matches. */
export function ipMatches(ip: string, range: string): boolean {
  try {
    const address = ipaddr.process(ip)
    if (!range.includes('/')) return address.toString() === ipaddr.process(range).toString()
    const [network, bits] = ipaddr.parseCIDR(range)
    const comparable =
      address.kind() === network.kind()
        ? address
        : address.kind() === 'ipv4'
          ? (address as ipaddr.IPv4).toIPv4MappedAddress()
          : null
    return comparable?.match([network, bits]) ?? false
  } catch {
    return false
  }
}

/**
 * An address or CIDR range as an operator writes one for a list: IPv4 as four decimal octets
 * (net.isIP's rule), IPv6 without a zone. ipaddr.js alone also reads inet_aton's old forms,
 * where `010.1.2.3` is 8.1.2.3 (octal), `1` is 0.0.0.1 and `192.168.1` is 192.168.0.1: an entry
 * written for 10.1.2.3 would block, or allow, another network.
 * @example
 * isIpOrCidr('203.0.113.0/24') // true
 * isIpOrCidr('010.1.2.3') // false
 */
export function isIpOrCidr(value: string): boolean {
  const [address = '', bits, ...rest] = value.split('/')
  const version = address.includes('%') ? 0 : isIP(address)
  if (version === 0 || rest.length > 0) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128)
}

/** How many digits the number has after its country calling code: `+447400123456` → 10. */
export function nationalDigitsOf(e164: string): number {
  const digits = e164.slice(1)
  return digits.length - callingCodeOf(digits).length
}

/** `+447400123456` without its last `digits` digits: `+447400123`. */
export function prefixOf(e164: string, digits: number): string {
  return e164.slice(0, Math.max(2, e164.length - digits))
}
