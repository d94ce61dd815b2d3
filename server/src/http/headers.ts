/**
 * Headers every answer gets: `X-Content-Type-Options: nosniff` (a browser takes each body for
 * what its Content-Type says, nothing else), and `Cache-Control: no-store` on JSON answers that
 * set no cache policy of their own (they hold codes' states, tokens and numbers; the JWKS sets
 * its own public caching).
 *
 * Middleware that adds a header to every answer of a request (the request id, CORS) writes it
 * into the request's plain header record ({@link answerHeaders}) before the handler runs, not
 * onto the Response after it. A handler that answers with {@link jsonAnswer} makes its Response
 * with those headers as a plain object, which @hono/node-server writes as it is; a fetch
 * `Headers` (one per answer, each header name and value validated on every set, sorted when
 * read) is a real share of a small request's CPU. Any other answer gets the record's headers
 * set onto it on the way out, as before.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono'

declare module 'hono' {
  interface ContextVariableMap {
    /** Headers for this request's answer, whatever the handler answers (see the module). */
    answerHeaders: Record<string, string>
  }
}

/** Responses made with the request's header record already in them. */
const madeWithHeaders = new WeakSet<Response>()

/** The request's header record (names in lower case): what is set here goes on its answer. */
export function answerHeaders(c: Context): Record<string, string> {
  let headers = c.get('answerHeaders')
  if (!headers) {
    headers = {}
    c.set('answerHeaders', headers)
  }
  return headers
}

/** Adds `value` to a list header of the answer (`Vary`), keeping what is there. */
export function appendAnswerHeader(c: Context, name: string, value: string): void {
  const headers = answerHeaders(c)
  const key = name.toLowerCase()
  const current = headers[key]
  headers[key] = current ? `${current}, ${value}` : value
}

/**
 * A JSON answer carrying the request's header record, made as one plain object (see the
 * module); `Cache-Control: no-store` unless the record sets a cache policy.
 */
export function jsonAnswer(c: Context, body: unknown, status = 200): Response {
  const headers = {
    'cache-control': 'no-store',
    ...answerHeaders(c),
    'content-type': 'application/json',
  }
  const response = new Response(JSON.stringify(body), { status, headers })
  madeWithHeaders.add(response)
  return response
}

export function responseHeaders(): MiddlewareHandler {
  return async function responseHeaders(c, next) {
    const headers = answerHeaders(c)
    headers['x-content-type-options'] = 'nosniff'
    await next()
    if (madeWithHeaders.has(c.res)) return
    for (const [name, value] of Object.entries(headers)) {
      if (name === 'vary') appendResponseHeader(c, name, value)
      else setResponseHeader(c, name, value)
    }
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

function appendResponseHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.append(name, value)
  } catch {
    c.header(name, value, { append: true })
  }
}
