/**
 * The body limit, decided from the headers whenever they say the size. Hono's `bodyLimit` looks
 * at `c.req.raw.body` first, which under @hono/node-server turns the lightweight request into a
 * full fetch Request over a web stream (a large share of a small request's CPU) even when a
 * Content-Length settles it; the body is then read the slow way too. Here a Content-Length is
 * checked as a number, a request with neither Content-Length nor Transfer-Encoding has no body
 * (RFC 9112 §6.3), and only a chunked body is counted as it streams, by Hono's middleware.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit as streamingBodyLimit } from 'hono/body-limit'

export function bodyLimit(options: {
  maxSize: number
  onError: (c: Context) => Response | Promise<Response>
}): MiddlewareHandler {
  const streaming = streamingBodyLimit(options)
  return async function bodyLimit(c, next) {
    // Only a request off a Node socket has headers that say its framing (a fetch Request made
    // in-process, e.g. by `app.request()`, has no Content-Length until it is sent).
    if (!(c.env as { incoming?: unknown } | undefined)?.incoming) return streaming(c, next)
    const length = c.req.header('content-length')
    const chunked = c.req.header('transfer-encoding') !== undefined
    if (!chunked) {
      if (length === undefined) return next()
      // Node's parser refused a malformed Content-Length before we got here.
      return Number(length) > options.maxSize ? options.onError(c) : next()
    }
    return streaming(c, next)
  }
}
