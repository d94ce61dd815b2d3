/**
 * The client's IP address: the socket's peer, or — behind `TRUST_PROXY` proxies — the address
 * those proxies put in X-Forwarded-For. Only as many hops as configured are trusted, so a client
 * cannot pick its own address by sending the header.
 * @module
 */
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'
import { normaliseIp } from '../fraud/network'

export function clientIp(c: Context, trustedHops: number): string | null {
  let peer: string | null = null
  try {
    peer = getConnInfo(c).remote.address ?? null
  } catch {
    peer = null
  }
  if (trustedHops > 0) {
    const forwarded = (c.req.header('X-Forwarded-For') ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
    // The right-most `trustedHops` entries were added by our proxies; the one before is the client.
    const candidate = forwarded[forwarded.length - trustedHops]
    if (candidate) return normaliseIp(candidate) ?? normaliseIp(peer)
  }
  return normaliseIp(peer)
}
