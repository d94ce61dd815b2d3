/**
 * Where webhooks may go. Live-mode endpoints must be https on a public address, checked when
 * the endpoint is saved and again on every connection (the address the name resolves to at
 * send time is the one connected to, so DNS rebinding cannot reach a private network).
 * Test-mode endpoints may also use loopback (plain http too), for a developer's own machine,
 * on a server that is plainly a development setup ({@link isDevelopmentServer}), and nothing
 * else private: anyone holding a test key must not reach the operator's network.
 *
 * The operator may name networks of their own (TEXTGATE_WEBHOOK_NETWORKS: the store's servers
 * on a private network, a Docker bridge) that endpoints of either mode may reach too: https in
 * live mode, plain http too in test mode, as loopback.
 * @module
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import type { KeyMode } from '../storage'

export class WebhookUrlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WebhookUrlError'
  }
}

/**
 * `address` parsed, an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) read as the IPv4 address it
 * carries; undefined when it is not an address.
 */
function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  return ipaddr.isValid(address) ? ipaddr.process(address) : undefined
}

/** True for an address on the public internet (no private, loopback, link-local, CGNAT …). */
export function isPublicAddress(address: string): boolean {
  const parsed = parseAddress(address)
  // ::a.b.c.d, the deprecated IPv4-compatible form (RFC 4291 §2.5.5.1), which ipaddr.js calls
  // unicast: never a public address of its own.
  if (
    parsed?.kind() === 'ipv6' &&
    (parsed as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0)
  ) {
    return false
  }
  return parsed?.range() === 'unicast'
}

/** Where endpoints may be besides the public internet. */
export interface WebhookNetworks {
  /** The operator's networks (CIDR ranges, TEXTGATE_WEBHOOK_NETWORKS), open to either mode. */
  ranges: readonly (readonly [ipaddr.IPv4 | ipaddr.IPv6, number])[]
  /**
   * Loopback for test-mode endpoints: a developer's own machine. On a development server only
   * ({@link isDevelopmentServer}): on any other loopback is that server's own services (its
   * database, Redis, metrics port), not anyone's development box.
   */
  testLoopback: boolean
}

/**
 * The internet only, for either mode: what the dispatcher, the routes and `sendWebhook`
 * use when given no networks (an embedder building the app from the package). Loopback for
 * test mode is the development server's to open (config: {@link isDevelopmentServer}).
 */
export const NO_WEBHOOK_NETWORKS: WebhookNetworks = Object.freeze({
  ranges: [],
  testLoopback: false,
})

/**
 * Parses a comma-separated list of CIDR ranges (`10.0.0.0/8, fd00::/8`); throws an Error naming
 * the first that is not one.
 * @example
 * parseWebhookRanges('172.16.0.0/12') // [[IPv4 172.16.0.0, 12]]
 */
export function parseWebhookRanges(text: string): WebhookNetworks['ranges'] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      try {
        return ipaddr.parseCIDR(part)
      } catch {
        throw new Error(`"${part}" is not a network in CIDR form (such as 10.0.0.0/8 or fd00::/8)`)
      }
    })
}

/** Whether `address` is in one of `networks` (IPv4-mapped IPv6 read as IPv4). */
export function inWebhookNetworks(address: string, networks: WebhookNetworks): boolean {
  const parsed = networks.ranges.length > 0 ? parseAddress(address) : undefined
  if (!parsed) return false
  return networks.ranges.some(
    ([network, bits]) =>
      network.kind() === parsed.kind() &&
      (parsed as ipaddr.IPv4).match(network as ipaddr.IPv4, bits),
  )
}

export function isLoopbackAddress(address: string): boolean {
  return parseAddress(address)?.range() === 'loopback'
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1')

const isLoopbackHost = (host: string) =>
  host === 'localhost' || host.endsWith('.localhost') || isLoopbackAddress(host)

/**
 * Whether the server is plainly a developer's own: not `NODE_ENV=production`, and its public URL
 * (PUBLIC_URL, unset: `http://localhost:PORT`) on loopback. NODE_ENV alone is not enough: a
 * deployment that forgets it but names a real host in PUBLIC_URL serves the internet, and there
 * loopback is the server's own services.
 * @example
 * isDevelopmentServer('http://localhost:8787', false) // true
 * isDevelopmentServer('https://verify.shop.example', false) // false
 */
export function isDevelopmentServer(publicUrl: string, production: boolean): boolean {
  if (production) return false
  try {
    return isLoopbackHost(hostOf(new URL(publicUrl)).toLowerCase())
  } catch {
    return false
  }
}

/**
 * Checks the shape of an endpoint URL for `mode` and returns it normalised. DNS is checked
 * separately ({@link checkResolvedHost}) and again on every delivery.
 */
export function checkWebhookUrl(
  raw: string,
  mode: KeyMode,
  networks: WebhookNetworks = NO_WEBHOOK_NETWORKS,
): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new WebhookUrlError('the URL is not an absolute URL')
  }
  if (url.username || url.password) throw new WebhookUrlError('the URL must not hold credentials')
  const host = hostOf(url)
  if (url.protocol === 'http:') {
    if (mode === 'test' && plainHttpAllowed(host, networks)) return url.toString()
    throw new WebhookUrlError(
      mode === 'live'
        ? 'live-mode webhook URLs must be https'
        : networks.testLoopback
          ? `plain http is allowed only to loopback (localhost, 127.0.0.1, ::1)${networks.ranges.length > 0 ? ' and TEXTGATE_WEBHOOK_NETWORKS' : ''}`
          : networks.ranges.length > 0
            ? 'plain http is allowed only to TEXTGATE_WEBHOOK_NETWORKS'
            : 'test-mode webhook URLs must be https on this server (loopback is its own: not a development server)',
    )
  }
  if (url.protocol !== 'https:') throw new WebhookUrlError('the URL must be https')
  if (mode === 'live') {
    if (isLoopbackHost(host) && !inWebhookNetworks(host, networks)) {
      throw new WebhookUrlError('live-mode webhooks cannot go to loopback')
    }
    if (isIP(host) && !addressAllowed(host, mode, networks)) {
      throw new WebhookUrlError('live-mode webhooks cannot go to a private or reserved address')
    }
  } else if (isLoopbackHost(host) && !networks.testLoopback && !inWebhookNetworks(host, networks)) {
    throw new WebhookUrlError(
      'webhooks cannot go to loopback on this server (loopback is its own: only a development server, NODE_ENV not production and PUBLIC_URL on localhost, allows it)',
    )
  } else if (isIP(host) && !addressAllowed(host, mode, networks)) {
    throw new WebhookUrlError(
      'test-mode webhooks can go to loopback or a public address, not a private or reserved one',
    )
  }
  return url.toString()
}

/**
 * Whether a test-mode endpoint may use plain http to `host`: loopback (development server) and
 * the operator's networks. A name is resolved on save and at each connection, where its
 * addresses must be the operator's, so any name passes here once the operator named networks.
 */
function plainHttpAllowed(host: string, networks: WebhookNetworks): boolean {
  if (isIP(host)) return addressAllowed(host, 'test', networks, true)
  return (networks.testLoopback && isLoopbackHost(host)) || networks.ranges.length > 0
}

/**
 * Whether `address` may be connected to for an endpoint of `mode` (`plain`: over http, which
 * only loopback and the operator's networks take).
 */
function addressAllowed(
  address: string,
  mode: KeyMode,
  networks: WebhookNetworks,
  plain = false,
): boolean {
  // Live mode reaches only the internet; test mode a developer's own machine too. Not the
  // private network, link-local (cloud metadata) or reserved ranges: test keys are handed to
  // every store's developers, and the delivery log's errors would map that network for them.
  // The operator's own networks are theirs to open, to either mode.
  if (inWebhookNetworks(address, networks)) return true
  if (mode === 'test' && networks.testLoopback && isLoopbackAddress(address)) return true
  return !plain && isPublicAddress(address)
}

/** Resolves `host` and refuses when any address it has is not allowed (checked on save). */
export async function checkResolvedHost(
  rawUrl: string,
  mode: KeyMode,
  networks: WebhookNetworks = NO_WEBHOOK_NETWORKS,
): Promise<void> {
  const url = new URL(rawUrl)
  const host = hostOf(url)
  if (isIP(host)) return
  const plain = plainHttp(url)
  const addresses = await new Promise<LookupAddress[]>((resolve) =>
    dnsLookup(host, { all: true }, (error, found) => resolve(error ? [] : found)),
  )
  if (plain && addresses.length === 0) {
    throw new WebhookUrlError(`${host} does not resolve: plain http needs its addresses known`)
  }
  const bad = addresses.find((a) => !addressAllowed(a.address, mode, networks, plain))
  if (bad) {
    throw new WebhookUrlError(
      plain
        ? `${host} resolves outside loopback and TEXTGATE_WEBHOOK_NETWORKS (plain http)`
        : `${host} resolves to a private or reserved address`,
    )
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void

/**
 * A `lookup` for http.request that resolves the name and refuses to connect when an address
 * is not allowed: the check and the connection use the same answer.
 */
export function guardedLookup(
  mode: KeyMode,
  networks: WebhookNetworks = NO_WEBHOOK_NETWORKS,
  plain = false,
) {
  return function guardedLookup(
    hostname: string,
    options: { all?: boolean },
    callback: LookupCallback,
  ): void {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(error, [])
      const allowed = addresses.filter((a) => addressAllowed(a.address, mode, networks, plain))
      if (allowed.length === 0) {
        const refused = Object.assign(
          new Error(`${hostname} resolves only to private or reserved addresses`),
          { code: 'EADDRNOTALLOWED' },
        )
        return callback(refused, [])
      }
      if (options.all) return callback(null, allowed)
      const first = allowed[0] as LookupAddress
      callback(null, first.address, first.family)
    })
  }
}

/** For IP-literal hosts (no lookup happens): the same rule. */
export function literalAllowed(
  rawUrl: string,
  mode: KeyMode,
  networks: WebhookNetworks = NO_WEBHOOK_NETWORKS,
): boolean {
  const url = new URL(rawUrl)
  const host = hostOf(url)
  return !isIP(host) || addressAllowed(host, mode, networks, plainHttp(url))
}

/** Plain http to a host that is not loopback: only the operator's networks take it. */
export function plainHttp(url: URL): boolean {
  return url.protocol === 'http:' && !isLoopbackHost(hostOf(url))
}
