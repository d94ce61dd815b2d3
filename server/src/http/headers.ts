/**
 * Headers every answer gets: `X-Content-Type-Options: nosniff` (a browser takes each body for
 * what its Content-Type says, nothing else), and `Cache-Control: no-store` on JSON answers that
 * set no cache policy of their own (they hold codes' states, tokens and numbers; the JWKS sets
 * its own public caching).
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono'

export function responseHeaders(): MiddlewareHandler {
  return async function responseHeaders(c, next) {
    await next()
    setResponseHeader(c, 'X-Content-Type-Options', 'nosniff')
    const type = c.res.headers.get('Content-Type') ?? ''
    if (/\bjson\b/i.test(type) && !c.res.headers.has('Cache-Control')) {
      setResponseHeader(c, 'Cache-Control', 'no-store')
    }
  }
}

/**
 * Sets a header on the answer a handler already made. Hono's `c.header()` then rebuilds the
 * response (under @hono/node-server, a full fetch Response each call: a real share of a small
 * request's CPU); the answer's own headers are set in place instead, unless they are immutable
 * (a Response that came from fetch), where Hono's way copies it.
 */
export function setResponseHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value)
  } catch {
    c.header(name, value)
  }
}
