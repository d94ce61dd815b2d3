/**
 * CORS for the widget's routes only. Browsers may read answers of publishable-key routes from
 * the origins a project allows; secret-key routes (store servers, never browsers) get no CORS
 * headers at all, so a page cannot read them even with a key it stole.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono'
import type { Kysely } from 'kysely'
import { answerHeaders, appendAnswerHeader } from '../http/headers'
import type { Database } from '../storage'

const EXPOSED_HEADERS = 'Retry-After, Idempotent-Replayed'
const ORIGINS_TTL_MS = 2_000

/**
 * The routes a browser calls with a publishable key (method and path). A new widget-facing
 * route adds its pattern here; everything else stays closed to other origins.
 */
export const PUBLISHABLE_ROUTES: readonly [method: string, path: RegExp][] = [
  ['POST', /^\/v1\/verifications$/],
  ['POST', /^\/v1\/verifications\/[^/]+\/(check|resend)$/],
  ['GET', /^\/v1\/config$/],
  ['GET', /^\/v1\/sandbox\/(numbers\/random|messages)$/],
]

export function isPublishableRoute(method: string, path: string): boolean {
  return PUBLISHABLE_ROUTES.some(([m, pattern]) => m === method && pattern.test(path))
}

/** True when `path` is a widget route's, whose preflights (OPTIONS) are answered. */
export function answersPreflight(path: string): boolean {
  return PUBLISHABLE_ROUTES.some(([, pattern]) => pattern.test(path))
}

/** Lets a browser on `origin` read this request's answer, whatever it is. */
export function allowOrigin(c: Context, origin: string): void {
  const headers = answerHeaders(c)
  headers['access-control-allow-origin'] = origin
  headers['access-control-expose-headers'] = EXPOSED_HEADERS
  appendAnswerHeader(c, 'Vary', 'Origin')
}

/** Takes back {@link allowOrigin}: no browser may read this answer. */
export function disallowOrigin(c: Context): void {
  const headers = answerHeaders(c)
  delete headers['access-control-allow-origin']
  delete headers['access-control-expose-headers']
}

/** Origins of every project, refreshed every 2 s, or sooner (at most every 200 ms) on a miss. */
interface OriginCache {
  origins: Promise<Set<string>>
  at: number
}
const REFRESH_ON_MISS_MS = 200
const originCaches = new WeakMap<Kysely<Database>, OriginCache>()

function readOrigins(db: Kysely<Database>): OriginCache {
  const entry: OriginCache = {
    at: Date.now(),
    origins: db
      .selectFrom('projects')
      .select('allowed_origins')
      .execute()
      .then((rows) => new Set(rows.flatMap((row) => JSON.parse(row.allowed_origins) as string[]))),
  }
  entry.origins.catch(() => {
    if (originCaches.get(db) === entry) originCaches.delete(db)
  })
  originCaches.set(db, entry)
  return entry
}

/**
 * True when some project allows `origin`. A widget request from an origin none allows is refused
 * before its key is read; from another, it is then held to its own key's origins.
 */
export async function isKnownOrigin(db: Kysely<Database>, origin: string): Promise<boolean> {
  let entry = originCaches.get(db)
  if (!entry || Date.now() - entry.at >= ORIGINS_TTL_MS) entry = readOrigins(db)
  if ((await entry.origins).has(origin)) return true
  if (Date.now() - entry.at < REFRESH_ON_MISS_MS) return false
  return (await readOrigins(db).origins).has(origin)
}

/**
 * Answers OPTIONS on the widget's routes: CORS headers for a preflight of a widget request from
 * any origin, and `Allow` (the methods `allow` lists for the path) either way. The request that
 * follows from an origin no project allows is refused before its key is read, with an answer
 * the page can read (`origin_not_allowed`, see apiKeyAuth), rather than failing in the browser
 * as if the server could not be reached. OPTIONS on any other path is left to routing, which
 * answers it as any method the path does not serve.
 */
export function corsPreflight(allow: (path: string) => string[]): MiddlewareHandler {
  return async function corsPreflight(c, next) {
    if (c.req.method !== 'OPTIONS' || !answersPreflight(c.req.path)) return next()
    c.header('Allow', allow(c.req.path).join(', '))
    const origin = c.req.header('Origin')
    if (!origin) return c.body(null, 204)
    c.header('Vary', 'Origin')
    const method = (c.req.header('Access-Control-Request-Method') ?? '').toUpperCase()
    if (isPublishableRoute(method, c.req.path)) {
      c.header('Access-Control-Allow-Origin', origin)
      c.header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
      c.header('Access-Control-Allow-Headers', 'Authorization, Content-Type, Idempotency-Key')
      c.header('Access-Control-Max-Age', '600')
    }
    return c.body(null, 204)
  }
}
