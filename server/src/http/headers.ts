/**
 * Headers every answer gets: `X-Content-Type-Options: nosniff` (a browser takes each body for
 * what its Content-Type says, nothing else), and `Cache-Control: no-store` on JSON answers that
 * set no cache policy of their own (they hold codes' states, tokens and numbers; the JWKS sets
 * its own public caching).
 * @module
 */
import type { MiddlewareHandler } from 'hono'

export function responseHeaders(): MiddlewareHandler {
  return async function responseHeaders(c, next) {
    await next()
    c.header('X-Content-Type-Options', 'nosniff')
    const type = c.res.headers.get('Content-Type') ?? ''
    if (/\bjson\b/i.test(type) && !c.res.headers.has('Cache-Control')) {
      c.header('Cache-Control', 'no-store')
    }
  }
}
