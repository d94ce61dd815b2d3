/**
 * The operator console at /console: the page (a Lit app built from server/console) and its
 * JSON API at /console/api, behind operator sessions, per-project roles and IP allowlists.
 * @module
 */
import { Hono } from 'hono'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { TrustedProxies } from '../http/client-ip'
import type { ServerHosts } from '../http/server-hosts'
import type { Database } from '../storage'
import { withFields } from '../with-fields'
import { authRoutes } from './auth-routes'
import { type ProjectRoutesDeps, projectRoutes } from './project-routes'
import {
  consoleHeaders,
  cookieSettings,
  csrfKey,
  hostGate,
  projectAccess,
  requireOperator,
  sessionGate,
} from './security'
import { consoleAsset, consolePage, DEFAULT_CONSOLE_DIR } from './static'

export interface ConsoleOptions extends Omit<ProjectRoutesDeps, 'db' | 'now'> {
  db: Kysely<Database>
  encryptionKey: Buffer
  publicUrl: string
  /** The host names and origins the console answers at (DNS-rebinding defence). */
  hosts: ServerHosts
  trustedProxies: TrustedProxies
  peerWhenUnknown: string | null
  logger: Logger
  consoleDir?: string
  now?: () => number
}

/**
 * @example
 * app.route('/console', consoleRoutes({ db, encryptionKey, publicUrl, logger, ... }))
 */
export function consoleRoutes(options: ConsoleOptions) {
  const {
    db,
    encryptionKey,
    publicUrl,
    hosts,
    trustedProxies,
    peerWhenUnknown,
    consoleDir = DEFAULT_CONSOLE_DIR,
    now = Date.now,
  } = options
  const cookie = cookieSettings(publicUrl)
  const csrf = csrfKey(encryptionKey)
  const api = new Hono()
  api.use(sessionGate({ db, cookie, csrf, hosts, now }))
  api.route('/', authRoutes({ db, encryptionKey, cookie, csrf, issuer: publicUrl, now }))
  api.use('/projects/:projectId/*', requireOperator(db), projectAccess(db))
  api.route('/projects/:projectId', projectRoutes(withFields(options, { db, now })))

  const app = new Hono()
  app.use(consoleHeaders())
  app.use(hostGate({ hosts, trustedProxies, peerWhenUnknown }))
  app.route('/api', api)
  app.get('/assets/:name', consoleAsset(consoleDir))
  const page = consolePage(consoleDir)
  app.get('/', page)
  // Every other path is the page's (it routes in the browser), but for the API's: a path under
  // /console/api that no API route serves is no path at all, whatever the method.
  app.get('/:page{(?!api(?:/|$)).*}', page)
  return app
}
