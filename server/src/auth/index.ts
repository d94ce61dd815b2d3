/**
 * API key authentication. Publishable keys are accepted only from their project's allowed
 * origins (checked here, server-side, and mirrored in CORS headers, which only these answers
 * get); secret keys only where the endpoint is meant for store servers.
 * @module
 */

import type { Context, MiddlewareHandler } from 'hono'
import type { Kysely } from 'kysely'
import { ipAllowed } from '../console/security'
import { ApiError } from '../http/errors'
import { keyCacheFor } from '../keys/cache'
import { allowedOrigins, type KeyLookup } from '../projects'
import type { Database, KeyKind } from '../storage'
import { allowOrigin, disallowOrigin, isKnownOrigin } from './cors'

declare module 'hono' {
  interface ContextVariableMap {
    auth: KeyLookup
    /** Set once apiKeyAuth began: CORS for this answer is then its decision. */
    keyChecked: boolean
    /** The client's address (TRUST_PROXY applied), set once per request by the app. */
    clientIp: string | null
  }
}

export {
  allowOrigin,
  answersPreflight,
  corsPreflight,
  isKnownOrigin,
  isPublishableRoute,
} from './cors'

export interface ApiKeyAuthOptions {
  db: Kysely<Database>
  /** Kinds of key the endpoint takes. */
  kinds: readonly KeyKind[]
  /** Only test-mode keys (the sandbox endpoints). */
  testOnly?: boolean
}

/**
 * The page's origin for the publishable-key check. Browsers send no `Origin` with a same-origin
 * GET (a store serving Textgate under its own origin, behind a proxy): for GET only, the origin
 * of `Referer` stands in (the widget sends its GETs with the `origin` referrer policy).
 */
function requestOrigin(c: Context): string | undefined {
  const origin = c.req.header('Origin')
  if (origin || c.req.method !== 'GET') return origin
  const referer = c.req.header('Referer')
  if (!referer) return undefined
  try {
    const { origin: fromReferer } = new URL(referer)
    return fromReferer === 'null' ? undefined : fromReferer
  } catch {
    return undefined
  }
}

/**
 * Authenticates `Authorization: Bearer <key>` and sets `c.get('auth')`.
 * @example
 * app.post('/v1/tokens/redeem', apiKeyAuth({ db, kinds: ['secret'] }), handler)
 */
export function apiKeyAuth({ db, kinds, testOnly = false }: ApiKeyAuthOptions): MiddlewareHandler {
  return async function apiKeyAuth(c, next) {
    c.set('keyChecked', true)
    const origin = requestOrigin(c)
    const sent = c.req.header('Origin')
    // A widget route's errors help the page's developer: readable from any origin, so a page
    // the project does not list reads "origin_not_allowed" instead of a network failure (the
    // key's own origins are checked below). From an origin no project allows the request goes
    // no further: its key is never read, so the answer is the same for every key (no oracle),
    // nothing runs, and a secret key a page holds cannot be used through a visitor's browser
    // (past the project's IP allowlist). The server's own pages (/docs' "Try it out") call it
    // same-origin, as before. Secret-key routes never get CORS headers.
    if (sent && kinds.includes('publishable')) {
      allowOrigin(c, sent)
      const sameOrigin = c.req.header('Sec-Fetch-Site') === 'same-origin'
      if (!sameOrigin && !(await isKnownOrigin(db, sent))) {
        throw new ApiError('origin_not_allowed', { origin: sent })
      }
    }
    const header = c.req.header('Authorization') ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    const lookup = match?.[1] ? await keyCacheFor(db).find(match[1]) : undefined
    if (!lookup) {
      c.header('WWW-Authenticate', 'Bearer')
      throw new ApiError('invalid_api_key')
    }
    if (!kinds.includes(lookup.apiKey.kind)) {
      throw new ApiError('wrong_key_type', { expected: kinds, got: lookup.apiKey.kind })
    }
    if (testOnly && lookup.apiKey.mode !== 'test') {
      throw new ApiError('wrong_key_type', { expected: 'test-mode key', got: 'live-mode key' })
    }
    if (lookup.apiKey.kind === 'secret') {
      // A secret key's answer is never for a browser, even on a route the widget also uses.
      disallowOrigin(c)
      // The project's IP allowlist binds its secret keys (store servers have fixed addresses).
      if (!ipAllowed(lookup.project, c.get('clientIp') ?? null))
        throw new ApiError('ip_not_allowed')
    }
    if (lookup.apiKey.kind === 'publishable') {
      if (!origin || !allowedOrigins(lookup.project).includes(origin)) {
        throw new ApiError('origin_not_allowed', { origin: origin ?? null })
      }
    }
    c.set('auth', lookup)
    await next()
  }
}
