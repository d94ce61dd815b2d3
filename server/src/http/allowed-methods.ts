/**
 * The methods a path is served with, read from the app's own route table: a known path asked
 * with a method it does not serve is answered 405 with `Allow`, an unknown path 404.
 * @module
 */
import type { Context } from 'hono'
import { RegExpRouter } from 'hono/router/reg-exp-router'
import { SmartRouter } from 'hono/router/smart-router'
import { TrieRouter } from 'hono/router/trie-router'
import type { RouterRoute } from 'hono/types'
import { ApiError, sendError } from './errors'

/** The order methods are listed in an `Allow` header. */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
const rank = (method: string) => {
  const index = ORDER.indexOf(method)
  return index === -1 ? ORDER.length : index
}

export interface AllowedMethodsOptions {
  /** The app's route table (`app.routes`), read at the first call: every route is in by then. */
  routes: () => readonly RouterRoute[]
  /** Whether `path` answers CORS preflights (OPTIONS), which no route of the table declares. */
  preflight?: (path: string) => boolean
}

/**
 * Returns the methods each path is served with: those of its routes (middleware, registered for
 * every method, does not serve a path), HEAD wherever GET is (Hono answers HEAD with the GET
 * route), OPTIONS where preflights are answered. Empty for a path no route matches.
 * @example
 * const methodsOf = allowedMethods({ routes: () => app.routes })
 * methodsOf('/v1/verifications') // ['POST']
 */
export function allowedMethods({ routes, preflight = () => false }: AllowedMethodsOptions) {
  let router: SmartRouter<string> | undefined
  function build(): SmartRouter<string> {
    // Hono's default router, so a pattern matches here exactly the paths it matches in the app.
    const built = new SmartRouter<string>({
      routers: [new RegExpRouter(), new TrieRouter()],
    })
    for (const route of routes()) {
      // Added for every method with its own as the handler: one match finds them all.
      if (route.method !== 'ALL') built.add('ALL', route.path, route.method)
    }
    return built
  }
  return function allowedMethods(path: string): string[] {
    router ??= build()
    const methods = new Set(router.match('GET', path)[0].map(([method]) => method))
    if (methods.size === 0) return []
    if (methods.has('GET')) methods.add('HEAD')
    if (preflight(path)) methods.add('OPTIONS')
    return [...methods].sort((a, b) => rank(a) - rank(b))
  }
}

/**
 * The app's answer when no route took a request: 405 with `Allow` when its path is served with
 * other methods, else 404.
 * @example
 * app.notFound(notFoundOrNotAllowed(allowedMethods({ routes: () => app.routes })))
 */
export function notFoundOrNotAllowed(methodsOf: (path: string) => string[]) {
  return function notFoundOrNotAllowed(c: Context): Response {
    const allow = methodsOf(c.req.path)
    // A served method that still found nothing (an unknown chunk, an id's 404) is not found.
    if (allow.length === 0 || allow.includes(c.req.method)) {
      return sendError(c, new ApiError('not_found'))
    }
    c.header('Allow', allow.join(', '))
    return sendError(
      c,
      new ApiError(
        'method_not_allowed',
        { allow },
        { message: `This path does not accept ${c.req.method}; it accepts ${allow.join(', ')}.` },
      ),
    )
  }
}
