/**
 * Which host names the server answers to for its cookie-authenticated routes (the console), the
 * defence against DNS rebinding: a page at `evil.example`, whose name the attacker points at this
 * server's address, is same-origin with itself in the browser, so neither CORS nor the `Origin`
 * check stops its requests; only the `Host` it sends (`evil.example`) gives it away. So the
 * console answers only requests whose `Host` is one of the server's own, and its CSRF check
 * compares `Origin` with that same set, never with whatever `Host` a request carries.
 *
 * The set: `PUBLIC_URL`'s host; the origins listed in `TEXTGATE_CONSOLE_ORIGINS`; and, when
 * `PUBLIC_URL` is the default or outside production, `localhost`, `127.0.0.1` and `[::1]` with
 * the port the request arrived on. Behind a proxy the request's host is the proxy's
 * `X-Forwarded-Host` (its last entry: the one the proxy nearest to us wrote) when the peer is a
 * trusted proxy (TRUST_PROXY), else its `Host`.
 * @module
 */
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'
import { normaliseIp } from '../fraud/network'
import type { TrustedProxies } from './client-ip'

export interface ServerHostsOptions {
  /** PUBLIC_URL (normalised). */
  publicUrl: string
  /** TEXTGATE_CONSOLE_ORIGINS: more origins the console is reached at. */
  extraOrigins?: readonly string[]
  /** Loopback names with the request's own port (PUBLIC_URL unset, or outside production). */
  loopback: boolean
}

export interface ServerHosts {
  /** Origins (scheme://host[:port], lower case) the set holds, loopback ones aside. */
  readonly origins: readonly string[]
  /** Whether loopback names on the request's port are the server's too. */
  readonly loopback: boolean
  /** True when `host` (a Host header's value) is one of the server's for a request on `port`. */
  hostAllowed(host: string, port: number | undefined): boolean
  /** True when `origin` (an Origin header's value) is one of the server's for `port`. */
  originAllowed(origin: string, port: number | undefined): boolean
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']

/** The origin of `url` as WHATWG URL writes it: lower-case host, default port dropped. */
function originOf(url: string): string {
  return new URL(url).origin
}

/**
 * @example
 * const hosts = serverHosts({ publicUrl: 'https://verify.example', loopback: false })
 * hosts.hostAllowed('verify.example', 8787) // true
 * hosts.hostAllowed('evil.example', 8787) // false
 */
export function serverHosts({
  publicUrl,
  extraOrigins = [],
  loopback,
}: ServerHostsOptions): ServerHosts {
  const origins = [...new Set([publicUrl, ...extraOrigins].map(originOf))]
  const hosts = new Set<string>()
  for (const origin of origins) {
    const url = new URL(origin)
    hosts.add(url.host)
    // A client may write the default port out (`Host: verify.example:443`).
    if (url.port === '') hosts.add(`${url.hostname}:${url.protocol === 'https:' ? 443 : 80}`)
  }
  const originSet = new Set(origins)
  return {
    origins,
    loopback,
    hostAllowed(host, port) {
      const name = host.trim().toLowerCase()
      if (hosts.has(name)) return true
      return loopback && port !== undefined && LOOPBACK_NAMES.some((n) => name === `${n}:${port}`)
    },
    originAllowed(origin, port) {
      if (originSet.has(origin)) return true
      return (
        loopback &&
        port !== undefined &&
        LOOPBACK_NAMES.some((n) => origin === `http://${n}:${port}`)
      )
    },
  }
}

/** The port the request's connection was accepted on (undefined without a socket). */
export function localPort(c: Context): number | undefined {
  try {
    const env = c.env as { incoming?: { socket?: { localPort?: number } } } | undefined
    return env?.incoming?.socket?.localPort
  } catch {
    return undefined
  }
}

/**
 * The host the client asked for: the last `X-Forwarded-Host` entry when the peer is a trusted
 * proxy and sent one, else `Host`. Undefined when there is none.
 */
export function requestedHost(
  c: Context,
  trusted: TrustedProxies,
  peerWhenUnknown: string | null,
): string | undefined {
  const forwarded = c.req.header('X-Forwarded-Host')
  if (forwarded && trusted.ranges.length > 0) {
    let peer: string | null
    try {
      peer = getConnInfo(c).remote.address ?? peerWhenUnknown
    } catch {
      peer = peerWhenUnknown
    }
    const address = normaliseIp(peer)
    if (address && trusted.has(address)) {
      const last = forwarded.split(',').pop()?.trim()
      if (last) return last
    }
  }
  const host = c.req.header('Host')
  if (host) return host
  // An in-process request (`app.request`, tests) has no socket and no Host: its URL's host.
  return localPort(c) === undefined ? new URL(c.req.url).host : undefined
}
