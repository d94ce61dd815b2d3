/**
 * Starting and stopping a Textgate server process: storage, signing keys, the outbox
 * dispatcher and the HTTP listener, with a graceful shutdown that lets requests under way
 * finish before the database closes.
 * @module
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import type { Logger } from 'pino'
import { createApp } from './app'
import { sealAfterMigrations } from './audit'
import { sandboxCarrier } from './carriers/sandbox'
import { CarrierError } from './carriers/types'
import type { Config } from './config'
import { reportIntake } from './delivery/reports'
import { createFraud } from './fraud'
import { scheduleCleanUp } from './housekeeping'
import { jsonClientErrors, requestTimeouts } from './http/client-error'
import {
  codeLabel,
  createMetricsRegistry,
  metricsHandler,
  webhookAttempts,
  webhookEndpointsDisabled,
} from './metrics'
import { createDispatcher } from './outbox'
import { routerFromConfig } from './routing'
import { deriveSecrets } from './secrets'
import { migrateToLatest, openStorage, reachDatabase } from './storage'
import { createTokenService } from './tokens'
import { createVerificationService, expireAllPending } from './verifications/service'
import { createWebhookDispatcher } from './webhooks'

export const DEFAULT_WIDGET_PATH = fileURLToPath(
  new URL('../../widget/dist/widget.js', import.meta.url),
)

export interface RunningServer {
  url: string
  port: number
  /** The METRICS_PORT listener's port, when one was asked for. */
  metricsPort?: number
  /** Stops accepting, lets requests under way finish, stops the dispatcher, closes the DB. */
  close(): Promise<void>
}

export interface StartServerOptions {
  logger: Logger
  widgetPath?: string
  /** Bind address; defaults to every interface. */
  hostname?: string
  /** Milliseconds requests under way get to finish on shutdown. */
  shutdownGraceMs?: number
  /** The console's built page (server/console/dist by default). */
  consoleDir?: string
  /** How long a request may take to arrive before it is answered 408 (30 s by default). */
  requestTimeoutMs?: number
}

/** How long an idle keep-alive connection stays open (longer than a proxy's 60 s). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000

/**
 * @example
 * const server = await startServer(loadConfig(process.env), { logger })
 * process.on('SIGTERM', () => server.close())
 */
export async function startServer(
  config: Config,
  {
    logger,
    widgetPath = DEFAULT_WIDGET_PATH,
    hostname,
    shutdownGraceMs = 10_000,
    consoleDir,
    requestTimeoutMs,
  }: StartServerOptions,
): Promise<RunningServer> {
  // PostgreSQL: requests, plus the dispatcher's one transaction at a time and its claim renewals.
  const storage = openStorage(config.databaseUrl, {
    poolSize: 12,
    prepared: config.postgresPrepared,
    walCheckpointer: { onError: (error) => logger.error({ err: error }, error.message) },
    writerThread: config.sqliteWriterThread,
    writerNice: config.sqliteWriterNice,
    onWriterError: (error) => logger.error({ err: error }, error.message),
  })
  await reachDatabase(storage, config.databaseUrl)
  const applied = await migrateToLatest(storage)
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
  const secrets = deriveSecrets(config.secret)
  // At the upgrade to keyed audit chains, the older chains get a keyed row that seals them.
  const sealed = await sealAfterMigrations(storage.db, secrets.auditKey, applied)
  if (sealed.length > 0) logger.info({ chains: sealed }, 'audit chains sealed with a keyed row')
  const tokens = createTokenService({
    db: storage.db,
    encryptionKey: secrets.encryptionKey,
    issuer: config.publicUrl,
  })
  await tokens.ensureSigningKey()

  const sandbox = sandboxCarrier({ db: storage.db, encryptionKey: secrets.encryptionKey })
  // Live keys go through the routing file's routes; test keys never leave the sandbox.
  const router = config.routing
    ? routerFromConfig(config.routing, { logger, publicUrl: config.publicUrl })
    : undefined
  const dispatcher = createDispatcher({
    storage,
    encryptionKey: secrets.encryptionKey,
    logger,
    claimMs: config.outboxClaimMs,
    window: config.outboxWindow,
    carrierFor: (mode) => {
      if (mode === 'test') return sandbox
      if (router) return router
      throw new CarrierError('router', 'no live carrier route is configured', { permanent: true })
    },
  })
  const webhooks = createWebhookDispatcher({
    storage,
    encryptionKey: secrets.encryptionKey,
    logger,
    claimMs: config.webhookClaimMs,
    networks: config.webhookNetworks,
    onAttempt: ({ type, outcome, final }) =>
      webhookAttempts.inc({
        type: codeLabel(type),
        result: outcome.ok ? 'delivered' : final ? 'failed' : 'retrying',
      }),
    onEndpointDisabled: () => webhookEndpointsDisabled.inc(),
  })
  const fraud = createFraud({
    db: storage.db,
    secrets,
    logger,
    redisUrl: config.redisUrl,
    // Spend caps count what the first live route for the number charges, when it names a price.
    routeCost: router
      ? (projectId, phone, country) => router.plan(projectId, phone, country)[0]?.costPerSegment
      : undefined,
  })
  if (config.redisUrl) {
    try {
      await fraud.checkCounters()
    } catch (error) {
      await fraud.close()
      throw new Error(
        `[textgate] [fraud] Redis at REDIS_URL is unreachable: ${(error as Error).message}`,
      )
    }
    logger.info('fraud guard counters in Redis')
  }
  const nudgeDispatcher = () => dispatcher.nudge()
  const verifications = createVerificationService({
    db: storage.db,
    secrets,
    tokens,
    fraud,
    // On the next turn of the event loop: the start's answer is written to its socket first.
    onEnqueued: () => setImmediate(nudgeDispatcher),
    dispatcher,
  })

  let accepting = true
  const metricsRegistry = createMetricsRegistry({
    db: storage.db,
    breakers: () => router?.health() ?? [],
    countersMode: () => fraud.countersMode(),
    quietMoments: storage.quietMoments,
  })
  const app = createApp({
    storage,
    secrets,
    tokens,
    verifications,
    logger,
    widgetPath,
    trustedProxies: config.trustedProxies,
    isAccepting: () => accepting,
    publicUrl: config.publicUrl,
    consoleOrigins: config.consoleOrigins,
    consoleLoopback: config.consoleLoopback,
    carriers: () => router?.adapters() ?? [],
    ...(config.metricsToken
      ? { metrics: { registry: metricsRegistry, token: config.metricsToken } }
      : {}),
    consoleDir,
    router,
    routing: config.routing,
    ...(config.redisUrl ? { countersCheck: () => fraud.checkCounters() } : {}),
    webhookNetworks: config.webhookNetworks,
  })
  // Receipts that arrive on a carrier's own connection (SMPP deliver_sm) move messages forward
  // exactly as HTTP callbacks do.
  // (Those of one moment share a commit: see reportIntake.)
  const takeReport = reportIntake(storage.db)
  router?.onReport((report) => {
    takeReport(report.carrier, report).catch((error: unknown) =>
      logger.warn({ err: error, carrier: report.carrier }, 'could not store a delivery report'),
    )
  })

  const server = await new Promise<Server>((resolve, reject) => {
    const listening = serve(
      {
        fetch: app.fetch,
        port: config.port,
        hostname: hostname ?? config.host,
        serverOptions: requestTimeouts(requestTimeoutMs),
      },
      () => resolve(listening as Server),
    ) as Server
    listening.once('error', reject)
  })
  // Keep idle keep-alive connections longer than the proxies in front do (nginx, load balancers:
  // 60 s), so the server never closes one just as a proxy or client sends on it (Node's 5 s
  // default makes such races, seen as resets and 502s, common under uneven traffic).
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
  // Requests the HTTP parser refuses (headers too large, broken framing) get a JSON error too.
  jsonClientErrors(server)
  // METRICS_PORT: /metrics alone on a port of its own (a private network's), token optional.
  let metricsServer: Server | undefined
  if (config.metricsPort !== undefined) {
    const metricsApp = new Hono()
    metricsApp.get('/metrics', metricsHandler(metricsRegistry, config.metricsToken))
    metricsServer = await new Promise<Server>((resolve, reject) => {
      const listening = serve(
        { fetch: metricsApp.fetch, port: config.metricsPort as number, hostname },
        () => resolve(listening as Server),
      ) as Server
      listening.once('error', reject)
    })
  }
  // Bind to the carriers in the background: the first live text should not wait for it.
  void router?.connect()
  dispatcher.start()
  webhooks.start()
  const stopCleanUp = scheduleCleanUp(
    storage.db,
    logger,
    undefined,
    config.retentionDays * 24 * 60 * 60_000,
  )
  // Codes that ran out become `verification.failed` (expired) events within half a minute, in
  // small batches with the event loop free between them (requests go on meanwhile).
  const expiry = setInterval(() => {
    expireAllPending(storage.db, Date.now()).catch((error: unknown) =>
      logger.warn({ err: error }, 'expiring verifications failed'),
    )
  }, 30_000)
  expiry.unref()
  const port = (server.address() as AddressInfo).port
  const url = `http://localhost:${port}`

  let closing: Promise<void> | undefined
  function close(): Promise<void> {
    closing ??= (async () => {
      accepting = false
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), shutdownGraceMs)
        force.unref()
        server.close(() => {
          clearTimeout(force)
          resolve()
        })
        server.closeIdleConnections()
      })
      metricsServer?.close()
      stopCleanUp()
      clearInterval(expiry)
      await webhooks.stop()
      await dispatcher.stop()
      await router?.close()
      await fraud.close()
      await storage.close()
    })()
    return closing
  }

  const metricsAddress = metricsServer?.address() as AddressInfo | undefined
  return { url, port, close, ...(metricsAddress ? { metricsPort: metricsAddress.port } : {}) }
}
