/**
 * The client's IP address. Forwarded headers are honoured only from proxies the operator trusts
 * by address (TRUST_PROXY: a list of addresses and CIDR ranges): starting at the socket's peer,
 * each trusted hop hands over to the address it forwarded for (X-Forwarded-For, right to left),
 * and the first untrusted address is the client. A client that reaches the port directly is its
 * socket address, whatever headers it sends.
 * @module
 */
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'
import ipaddr from 'ipaddr.js'
import { BoundedCache } from '../bounded-cache'
import { isCanonicalIpv4, isIpOrCidr, normaliseIp } from '../fraud/network'

/** Named ranges TRUST_PROXY accepts beside addresses and CIDRs. */
export const PROXY_RANGE_NAMES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', '169.254.0.0/16'],
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

export interface TrustedProxies {
  /** As configured, normalised (`10.0.0.0/8`, `::1/128`). */
  readonly ranges: readonly string[]
  has(ip: string): boolean
}

/**
 * Parses a TRUST_PROXY value: `false`/empty (trust no one), or a comma-separated list of
 * addresses, CIDR ranges and the names `loopback` and `private`. `true` and hop counts (the old
 * form) mean `loopback,private`. Throws naming each entry that is none of these.
 * @example
 * trustedProxies('loopback, 10.1.0.0/16').has('10.1.2.3') // true
 */
export function trustedProxies(value: string | undefined): TrustedProxies {
  const text = (value ?? '').trim()
  const entries =
    text === '' || text === 'false'
      ? []
      : text === 'true' || /^\d{1,2}$/.test(text)
        ? ['loopback', 'private']
        : text.split(',').map((entry) => entry.trim())
  const ranges: string[] = []
  const bad: string[] = []
  for (const entry of entries) {
    for (const item of PROXY_RANGE_NAMES[entry] ?? [entry]) {
      // Written out (`010.0.0.0/8` would be 8.0.0.0/8 to ipaddr.js: see isIpOrCidr).
      if (!isIpOrCidr(item)) {
        bad.push(entry)
      } else if (ipaddr.isValidCIDR(item)) {
        const [address, bits] = ipaddr.parseCIDR(item)
        ranges.push(`${address.toString()}/${bits}`)
      } else if (ipaddr.isValid(item)) {
        const address = ipaddr.process(item)
        ranges.push(`${address.toString()}/${address.kind() === 'ipv4' ? 32 : 128}`)
      } else {
        bad.push(entry)
      }
    }
  }
  if (bad.length > 0) {
    throw new Error(
      `TRUST_PROXY: ${bad.map((b) => `"${b}"`).join(', ')} is not an address, a CIDR range, loopback or private`,
    )
  }
  const parsed: Range[] = ranges.map((range) => ipaddr.parseCIDR(range))
  // A canonical IPv4 address is matched as a 32-bit number against the IPv4 ranges and the
  // IPv4-mapped IPv6 ones (`::ffff:10.0.0.0/104`): the hop a proxy forwarded for is a new address
  // on most requests, and parsing each into an object cost more than the rest of this function.
  const ipv4Ranges = parsed.flatMap(([network, bits]): [number, number][] => {
    if (network.kind() === 'ipv4') return [[ipv4Number(network.toString()), bits]]
    const v6 = network as ipaddr.IPv6
    // A range wider than the mapped block (`::/0`) holds every IPv4 address or none.
    if (bits < 96) return MAPPED_BLOCK.match(v6, bits) ? [[0, 0]] : []
    if (!v6.isIPv4MappedAddress()) return []
    return [[ipv4Number(v6.toIPv4Address().toString()), bits - 96]]
  })
  const ipv4Matches = (ip: string) => {
    const address = ipv4Number(ip)
    return ipv4Ranges.some(
      ([network, bits]) => bits === 0 || (address ^ network) >>> (32 - bits) === 0,
    )
  }
  // Every request asks about its peer (the proxy, most of the time the same few addresses):
  // the answers are kept, the oldest dropped past the bound.
  const answers = new BoundedCache<string, boolean>(TRUST_ANSWERS_KEPT)
  return {
    ranges,
    has: (ip) => (isCanonicalIpv4(ip) ? ipv4Matches(ip) : answers.getOrSet(ip, matches)),
  }

  function matches(ip: string): boolean {
    if (!ipaddr.isValid(ip)) return false
    const address = ipaddr.process(ip)
    return parsed.some(([network, bits]) => {
      if (address.kind() === network.kind()) return address.match(network, bits)
      // An IPv4 peer against an IPv6 range written for mapped addresses, and the reverse.
      if (address.kind() === 'ipv4' && network.kind() === 'ipv6') {
        return (address as ipaddr.IPv4).toIPv4MappedAddress().match(network, bits)
      }
      return false
    })
  }
}

/** `::ffff:0.0.0.0`, where IPv4-mapped IPv6 addresses begin. */
const MAPPED_BLOCK = new ipaddr.IPv6([0, 0, 0, 0, 0, 0xffff, 0, 0])

/** A canonical dotted IPv4 address as an unsigned 32-bit number. */
function ipv4Number(ip: string): number {
  let value = 0
  for (const part of ip.split('.')) value = value * 256 + Number(part)
  return value >>> 0
}

/** Answers of `TrustedProxies.has` kept per list. */
const TRUST_ANSWERS_KEPT = 1024

export const NO_TRUSTED_PROXIES = trustedProxies('false')

/**
 * @param peerWhenUnknown the peer to assume when the request came without a socket (an
 * in-process `app.request` in tests).
 */
export function clientIp(
  c: Context,
  trusted: TrustedProxies,
  peerWhenUnknown: string | null = null,
): string | null {
  let peer: string | null
  try {
    peer = getConnInfo(c).remote.address ?? peerWhenUnknown
  } catch {
    peer = peerWhenUnknown
  }
  let current = normaliseIp(peer)
  if (!current || trusted.ranges.length === 0 || !trusted.has(current)) return current
  const forwarded = (c.req.header('X-Forwarded-For') ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
  // Right to left: each address was added by the hop after it; stop at the first we do not trust.
  while (current && trusted.has(current)) {
    const next = forwarded.pop()
    if (next === undefined) return current
    const address = normaliseIp(next)
    // A malformed entry from a trusted proxy: the last address we could believe.
    if (!address) return current
    current = address
  }
  return current
}

/**
 * The key per-address limits count under: an IPv4 address as it is, an IPv6 address by its /64
 * (one subscriber's network: a client with IPv6 picks any address in it at no cost).
 * @example
 * addressGroup('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 */
export function addressGroup(ip: string): string {
  if (isCanonicalIpv4(ip)) return ip
  const parsed = ipaddr.process(ip)
  if (parsed.kind() === 'ipv4') return parsed.toString()
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4)
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`
}
