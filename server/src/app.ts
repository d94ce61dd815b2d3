/**
 * The Hono app: every route of the public contract, assembled from the units that own them.
 * @module
 */

import { getConnInfo } from '@hono/node-server/conninfo'
import { RedeemTokenRequest } from '@textgate/shared'
import { type Context, Hono } from 'hono'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { auditTrail } from './audit'
import {
  allowOrigin,
  answersPreflight,
  apiKeyAuth,
  corsPreflight,
  isKnownOrigin,
  isPublishableRoute,
} from './auth'
import type { CarrierAdapter } from './carriers/types'
import { consoleRoutes } from './console'
import { carrierReportRoutes } from './delivery/reports'
import { CountersUnavailableError } from './fraud/counters'
import { fraudRoutes } from './fraud/routes'
import { healthRoutes } from './health'
import { allowedMethods, notFoundOrNotAllowed } from './http/allowed-methods'
import { readJson } from './http/body'
import { bodyLimit } from './http/body-limit'
import { clientIp, NO_TRUSTED_PROXIES, type TrustedProxies } from './http/client-ip'
import { ApiError, sendError } from './http/errors'
import { responseHeaders } from './http/headers'
import { requestGuard } from './http/request-guard'
import { requestId, requestLog } from './http/request-id'
import { serverHosts } from './http/server-hosts'
import { keyRoutes } from './keys/routes'
import { httpMetrics, metricsHandler } from './metrics'
import { openApiRoutes } from './openapi/routes'
import { erasureRoutes } from './privacy/routes'
import type { Router, RoutingConfig } from './routing'
import { sandboxRoutes } from './sandbox/routes'
import type { Secrets } from './secrets'
import type { Storage } from './storage'
import { JWKS_MAX_AGE_SECONDS, type TokenService } from './tokens'
import { verificationRoutes } from './verifications/routes'
import type { VerificationService } from './verifications/service'
import { webhookRoutes } from './webhooks/routes'
import { isDevelopmentServer, type WebhookNetworks } from './webhooks/url-policy'
import { widgetChunks, widgetFile, widgetLicenses } from './widget-assets'
import { widgetConfigRoutes } from './widget-config/routes'

export interface AppDeps {
  storage: Storage
  secrets: Secrets
  tokens: TokenService
  verifications: VerificationService
  logger: Logger
  widgetPath: string
  /** Proxies whose X-Forwarded-For is trusted for the client's address (TRUST_PROXY). */
  trustedProxies?: TrustedProxies
  /** The peer assumed for requests without a socket (in-process tests); default none. */
  peerWhenUnknown?: string | null
  now?: () => number
  /** False once shutdown began: health checks then fail so load balancers move away. */
  isAccepting?: () => boolean
  /** Live carrier adapters whose delivery reports /v1/carriers/{id}/reports accepts. */
  carriers?: () => Iterable<CarrierAdapter>
  /** The public URL carriers call back (signatures over the URL are checked against it). */
  publicUrl?: string
  /** More origins than PUBLIC_URL's the console is reached at (TEXTGATE_CONSOLE_ORIGINS). */
  consoleOrigins?: readonly string[]
  /**
   * Whether the console also answers at localhost, 127.0.0.1 and [::1] on the port a request
   * came in on (the server's config: PUBLIC_URL unset, or outside production). Default: only
   * when `publicUrl` is unset or itself on loopback, as a development server's is (an app whose
   * production setting it does not know is given no more than production's).
   */
  consoleLoopback?: boolean
  /** Serves GET /metrics from `registry`, to `Authorization: Bearer <token>` only. */
  metrics?: { registry: Registry; token: string }
  /** Whether a request came through a trusted proxy (its X-Request-Id is then kept). */
  fromTrustedProxy?: (c: Context) => boolean
  /** The console's built page (server/console/dist by default). */
  consoleDir?: string
  /** The live router and its routing file, for the console's routing view. */
  router?: Router
  routing?: RoutingConfig
  /**
   * One round trip to the fraud guard's counters when they live outside the database (Redis):
   * readiness reports them; throws when they cannot be reached.
   */
  countersCheck?: () => Promise<void>
  /** The operator's networks webhook endpoints may be in besides the internet. */
  webhookNetworks?: WebhookNetworks
}

const MAX_BODY_BYTES = 16 * 1024

export function createApp({
  storage,
  secrets,
  tokens,
  verifications,
  logger,
  widgetPath,
  trustedProxies = NO_TRUSTED_PROXIES,
  peerWhenUnknown = null,
  now = Date.now,
  isAccepting = () => true,
  carriers = () => [],
  publicUrl,
  consoleOrigins = [],
  consoleLoopback = publicUrl === undefined || isDevelopmentServer(publicUrl, false),
  metrics,
  // Only a request whose peer is a trusted proxy may name its own request id.
  fromTrustedProxy = (c) => {
    try {
      const peer = getConnInfo(c).remote.address
      return peer !== undefined && trustedProxies.has(peer)
    } catch {
      return false
    }
  },
  consoleDir,
  router,
  routing,
  countersCheck,
  webhookNetworks,
}: AppDeps) {
  const { db } = storage
  const app = new Hono()
  const methodsOf = allowedMethods({ routes: () => app.routes, preflight: answersPreflight })

  // Outermost: puts the request's header record (request id, CORS, nosniff) on every answer.
  app.use(responseHeaders())
  app.use(requestId({ fromTrustedProxy }))
  app.use(httpMetrics())
  app.use(async function logRequest(c, next) {
    const started = performance.now()
    await next()
    // The path only: queries can hold phone numbers, and headers hold keys.
    if (logger.isLevelEnabled('debug')) {
      requestLog(c, logger).debug(
        {
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          ms: Math.round(performance.now() - started),
        },
        'request',
      )
    }
  })
  app.use(requestGuard())
  const apiBodyLimit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError('payload_too_large', { limitBytes: MAX_BODY_BYTES })
    },
  })
  // Carrier callbacks come in batches larger than any API request: their route sets its own.
  app.use('/v1/*', (c, next) =>
    c.req.path.startsWith('/v1/carriers/') ? next() : apiBodyLimit(c, next),
  )
  app.use('/v1/*', corsPreflight(methodsOf))
  app.use('*', async function clientAddress(c, next) {
    c.set('clientIp', clientIp(c, trustedProxies, peerWhenUnknown))
    await next()
  })
  // Every secret-key write and every operator action, whatever the route.
  const audit = auditTrail({ db, auditKey: secrets.auditKey, logger, now })
  app.use('/v1/*', audit)
  app.use('/console/api/*', audit)

  app.route('/', healthRoutes({ db, logger, isAccepting, now, countersCheck }))
  if (metrics) app.get('/metrics', metricsHandler(metrics.registry, metrics.token))
  app.route(
    '/',
    openApiRoutes({
      serverUrl: publicUrl,
      internalRoutes: () =>
        app.routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/console')),
    }),
  )
  app.get('/.well-known/jwks.json', async (c) => {
    c.header('Access-Control-Allow-Origin', '*')
    // A rotation publishes the next key this long (and a margin) before it signs.
    c.header('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
    return c.json(await tokens.jwks())
  })
  app.get('/widget.js', widgetFile(widgetPath))
  app.get('/widget.licenses.txt', widgetLicenses(widgetPath))
  app.get('/chunks/:name', widgetChunks(widgetPath))

  app.route(
    '/v1/verifications',
    verificationRoutes(db, verifications, (c) => c.get('clientIp')),
  )
  app.route('/v1/config', widgetConfigRoutes(db))
  app.route('/v1/fraud', fraudRoutes(db, now))
  app.route('/v1/keys', keyRoutes(db, logger, now))
  app.route('/v1/erasures', erasureRoutes(storage, now))
  app.route('/v1/sandbox', sandboxRoutes(db, secrets.encryptionKey))
  app.route('/v1/webhooks', webhookRoutes(db, secrets.encryptionKey, now, webhookNetworks))
  app.route('/v1/carriers', carrierReportRoutes({ db, carriers, logger, publicUrl, now }))
  app.post('/v1/tokens/redeem', apiKeyAuth({ db, kinds: ['secret'] }), async (c) => {
    const { token } = await readJson(c, RedeemTokenRequest)
    const { project, apiKey } = c.get('auth')
    return c.json(await tokens.redeem(token, project.id, apiKey.mode))
  })

  const consolePublicUrl = publicUrl ?? 'http://localhost:8787'
  app.route(
    '/console',
    consoleRoutes({
      db,
      encryptionKey: secrets.encryptionKey,
      auditKey: secrets.auditKey,
      publicUrl: consolePublicUrl,
      hosts: serverHosts({
        publicUrl: consolePublicUrl,
        extraOrigins: consoleOrigins,
        loopback: consoleLoopback,
      }),
      trustedProxies,
      peerWhenUnknown,
      logger,
      consoleDir,
      now,
      tokens,
      verifications,
      router,
      routing,
    }),
  )

  app.notFound(notFoundOrNotAllowed(methodsOf))
  app.onError(async (error, c) => {
    if (error instanceof ApiError) {
      // A widget route's refusal before its key was read (a body too large, a query the guard
      // refuses) is readable from origins some project allows, as the key's own errors are: the
      // page's developer sees the JSON error, not a CORS failure. Once the key is read, CORS is
      // its decision (none for a secret key).
      const origin = c.req.header('Origin')
      if (
        origin &&
        !c.get('keyChecked') &&
        isPublishableRoute(c.req.method, c.req.path) &&
        (await isKnownOrigin(db, origin))
      ) {
        allowOrigin(c, origin)
      }
      return sendError(c, error)
    }
    // Not let through uncounted: refused for now (the outage is logged once, by the Redis client;
    // each refusal is in the request log as a 503).
    if (error instanceof CountersUnavailableError) {
      return sendError(
        c,
        new ApiError(
          'service_unavailable',
          {},
          {
            message: 'The fraud checks cannot run right now. Try again in a moment.',
            retryAfterSeconds: 1,
          },
        ),
      )
    }
    requestLog(c, logger).error(
      { err: error, method: c.req.method, path: c.req.path },
      'unhandled error',
    )
    return sendError(c, new ApiError('internal_error'))
  })
  return app
}
