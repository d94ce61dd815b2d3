/**
 * API key authentication. Publishable keys are accepted only from their project's allowed
 * origins (checked here, server-side, and mirrored in CORS headers); secret keys only where
 * the endpoint is meant for store servers.
 * @module
 */

import type { Context, MiddlewareHandler } from 'hono'
import type { Kysely } from 'kysely'
import { ipAllowed } from '../console/security'
import { ApiError } from '../http/errors'
import { allowedOrigins, findApiKey, type KeyLookup } from '../projects'
import type { Database, KeyKind } from '../storage'

declare module 'hono' {
  interface ContextVariableMap {
    auth: KeyLookup
    /** The client's address (TRUST_PROXY applied), set once per request by the app. */
    clientIp: string | null
  }
}

const EXPOSED_HEADERS = 'Retry-After, Idempotent-Replayed'

/** Lets a browser on `origin` read this response. */
export function allowOrigin(c: Context, origin: string): void {
  c.header('Access-Control-Allow-Origin', origin)
  c.header('Access-Control-Expose-Headers', EXPOSED_HEADERS)
  c.header('Vary', 'Origin', { append: true })
}

/**
 * Answers CORS preflights. The key is not sent with a preflight, so any origin gets one;
 * the real request is then checked against the key's origins.
 */
export function corsPreflight(): MiddlewareHandler {
  return async function corsPreflight(c, next) {
    const origin = c.req.header('Origin')
    if (c.req.method !== 'OPTIONS' || !origin) return next()
    c.header('Access-Control-Allow-Origin', origin)
    c.header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
    c.header('Access-Control-Allow-Headers', 'Authorization, Content-Type, Idempotency-Key')
    c.header('Access-Control-Max-Age', '600')
    c.header('Vary', 'Origin')
    return c.body(null, 204)
  }
}

export interface ApiKeyAuthOptions {
  db: Kysely<Database>
  /** Kinds of key the endpoint takes. */
  kinds: readonly KeyKind[]
  /** Only test-mode keys (the sandbox endpoints). */
  testOnly?: boolean
}

/**
 * Authenticates `Authorization: Bearer <key>` and sets `c.get('auth')`.
 * @example
 * app.post('/v1/tokens/redeem', apiKeyAuth({ db, kinds: ['secret'] }), handler)
 */
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

export function apiKeyAuth({ db, kinds, testOnly = false }: ApiKeyAuthOptions): MiddlewareHandler {
  return async function apiKeyAuth(c, next) {
    const origin = requestOrigin(c)
    // Errors from here carry nothing worth hiding: let the page read them, to help its developer.
    if (c.req.header('Origin')) allowOrigin(c, c.req.header('Origin') as string)
    const header = c.req.header('Authorization') ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    const lookup = match?.[1] ? await findApiKey(db, match[1]) : undefined
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
    // The project's IP allowlist binds its secret keys (store servers have fixed addresses).
    if (lookup.apiKey.kind === 'secret' && !ipAllowed(lookup.project, c.get('clientIp') ?? null)) {
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
