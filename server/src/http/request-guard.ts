/**
 * Refuses, before any route runs, what no Textgate URL ever holds: control characters (NUL among
 * them, which PostgreSQL refuses in text) or broken percent-escapes in the path or the query.
 * Every route, present or future, is covered; routes still check their ids' format themselves.
 * @module
 */
import type { MiddlewareHandler } from 'hono'
import { ApiError } from './errors'

const CONTROL_CHARACTERS = /[\p{Cc}]/u
/** What decoding could change or refuse: a percent-escape or a control character. */
const NEEDS_DECODING = /[%\p{Cc}]/u

function decodes(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    return undefined
  }
}

export function requestGuard(): MiddlewareHandler {
  return async function requestGuard(c, next) {
    // Most URLs hold neither: nothing to decode, nothing to refuse, no URL to parse.
    if (!NEEDS_DECODING.test(c.req.url)) return next()
    const url = new URL(c.req.url)
    const path = decodes(url.pathname)
    if (path === undefined || CONTROL_CHARACTERS.test(path)) throw new ApiError('not_found')
    const query = decodes(url.search)
    if (query === undefined || CONTROL_CHARACTERS.test(query)) {
      throw new ApiError('invalid_request', {
        issues: [{ path: 'query', message: 'the query string holds control characters' }],
      })
    }
    await next()
  }
}
