/**
 * A whole Textgate app on a fresh database, with a clock the test moves, for HTTP-level tests.
 * Requests go through the real Hono app (`app.request`), as a browser's would.
 * @module
 */
import { type Logger, pino } from 'pino'
import { createApp } from '../src/app'
import { sandboxCarrier } from '../src/carriers/sandbox'
import type { CarrierAdapter } from '../src/carriers/types'
import { createFraud } from '../src/fraud'
import { trustedProxies } from '../src/http/client-ip'
import { createMetricsRegistry } from '../src/metrics'
import { setPasswordCostForTests } from '../src/operators/passwords'
import { createDispatcher } from '../src/outbox'
import { type CreateProjectInput, createApiKey, createProject } from '../src/projects'
import type { Router, RoutingConfig } from '../src/routing'
import { deriveSecrets } from '../src/secrets'
import type { DialectName } from '../src/storage'
import { createTokenService } from '../src/tokens'
import { createVerificationService } from '../src/verifications/service'
import { createWebhookDispatcher } from '../src/webhooks'
import type { WebhookNetworks } from '../src/webhooks/url-policy'
import { checkResponse } from './openapi-contract'
import { createTestStorage } from './storage'

export const ORIGIN = 'https://shop.example'
export const ISSUER = 'https://verify.example'
export const METRICS_TOKEN = 'metrics-token-for-tests-0123456789'

/**
 * scrypt at 1 MiB instead of production's 32 MiB (x3): the console suites create and log in
 * operators hundreds of times. Production's cost is checked by operators/passwords.test.ts, and
 * the process and browser suites log in to real servers at that cost.
 */
export const TEST_PASSWORD_COST = { N: 2 ** 10, r: 8, p: 1 }

export interface HarnessOptions {
  /** A carrier for live-mode keys (test-mode keys always use the sandbox). */
  liveCarrier?: CarrierAdapter
  /** The public URL carriers call back, for URL-signing carriers. */
  publicUrl?: string
  /** A built widget.js to serve (default: none, /widget.js answers 404). */
  widgetPath?: string
  /** Where the app logs (default: silent). */
  logger?: Logger
  /** SQLite only: a database file instead of memory (the erasure test reads its bytes). */
  sqliteFile?: string | undefined
  /** SQLite in a file only: the hot path's writes through a writer thread, as the server's. */
  writerThread?: boolean
  /** A live router and its routing file, for the console's Messaging page. */
  router?: Router
  routing?: RoutingConfig
  /**
   * Where webhook endpoints may be, for the app and the dispatcher (default: a development
   * server's, loopback open to test mode, as `pnpm start` has it); `'library default'` passes
   * none, as an embedder who leaves it out does.
   */
  webhookNetworks?: WebhookNetworks | 'library default'
}

/** A development server's webhook networks (`pnpm start`): test mode may post to loopback. */
export const DEVELOPMENT_WEBHOOK_NETWORKS: WebhookNetworks = { ranges: [], testLoopback: true }

export async function createHarness(dialect: DialectName, options: HarnessOptions = {}) {
  setPasswordCostForTests(TEST_PASSWORD_COST)
  const storage = await createTestStorage(dialect, {
    sqliteFile: options.sqliteFile,
    writerThread: options.writerThread ?? false,
  })
  const secrets = deriveSecrets('test-secret-that-is-at-least-32-bytes-long')
  let nowMs = Date.parse('2026-11-25T12:00:00Z')
  const now = () => nowMs
  const webhookNetworks =
    options.webhookNetworks === 'library default'
      ? undefined
      : (options.webhookNetworks ?? DEVELOPMENT_WEBHOOK_NETWORKS)
  const logger = options.logger ?? pino({ level: 'silent' })
  const tokens = createTokenService({
    db: storage.db,
    encryptionKey: secrets.encryptionKey,
    issuer: ISSUER,
    now,
  })
  await tokens.ensureSigningKey()
  const sandbox = sandboxCarrier({ db: storage.db, encryptionKey: secrets.encryptionKey, now })
  const dispatcher = createDispatcher({
    storage,
    encryptionKey: secrets.encryptionKey,
    logger,
    now,
    carrierFor: (mode) => (mode === 'live' && options.liveCarrier ? options.liveCarrier : sandbox),
  })
  // Scheduled on the test's clock, signed with the real time: receivers check it against theirs.
  const webhooks = createWebhookDispatcher({
    storage,
    encryptionKey: secrets.encryptionKey,
    logger,
    now,
    timeoutMs: 5_000,
    ...(webhookNetworks ? { networks: webhookNetworks } : {}),
  })
  const fraud = createFraud({ db: storage.db, secrets, logger, now })
  const verifications = createVerificationService({ db: storage.db, secrets, tokens, fraud, now })
  const app = createApp({
    storage,
    secrets,
    tokens,
    verifications,
    logger,
    widgetPath: options.widgetPath ?? '/nonexistent/widget.js',
    // In-process requests have no socket: they count as coming from a local proxy, so tests
    // give each simulated client its own address with X-Forwarded-For.
    trustedProxies: trustedProxies('loopback'),
    peerWhenUnknown: '127.0.0.1',
    carriers: () => (options.liveCarrier ? [options.liveCarrier] : []),
    publicUrl: options.publicUrl,
    // The console's test requests go to http://textgate.test (testing/console.ts).
    consoleOrigins: ['http://textgate.test'],
    now,
    metrics: {
      registry: createMetricsRegistry({
        db: storage.db,
        now,
        countersMode: () => fraud.countersMode(),
        quietMoments: storage.quietMoments,
      }),
      token: METRICS_TOKEN,
    },
    ...(options.router ? { router: options.router } : {}),
    ...(options.routing ? { routing: options.routing } : {}),
    ...(webhookNetworks ? { webhookNetworks } : {}),
  })

  /**
   * A project. Velocity, conversion, destination and caller checks are off unless `fraudSettings` is given: suites
   * of the core start many verifications for one number, and the guard has its own suite.
   */
  async function project(input: Partial<CreateProjectInput> = {}) {
    return createProject(storage.db, {
      name: 'Shop',
      origins: [ORIGIN],
      fraudSettings: {
        velocity: { mode: 'off' },
        conversion: { mode: 'off' },
        destinations: { mode: 'off' },
        callers: { mode: 'off' },
      },
      ...input,
    })
  }

  /** A project (as {@link project}) with a live publishable key `pk` and a live secret key `sk`. */
  async function liveProject(input: Partial<CreateProjectInput> = {}) {
    const created = await project(input)
    const pk = await createApiKey(storage.db, created.project.id, 'publishable', 'live')
    const sk = await createApiKey(storage.db, created.project.id, 'secret', 'live')
    return { project: created.project, pk, sk }
  }

  async function call(
    method: string,
    path: string,
    {
      key,
      body,
      origin = ORIGIN,
      headers = {},
    }: {
      key?: string
      body?: unknown
      origin?: string | null
      headers?: Record<string, string>
    } = {},
  ) {
    const init: RequestInit = {
      method,
      headers: {
        ...(key ? { Authorization: `Bearer ${key}` } : {}),
        ...(origin ? { Origin: origin } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      body:
        body === undefined || typeof body === 'string' || body instanceof Uint8Array
          ? (body as BodyInit | undefined)
          : JSON.stringify(body),
    }
    // Each request a millisecond later, so "newest first" is well defined.
    nowMs += 1
    const response = await app.request(`http://textgate.test${path}`, init)
    const text = await response.text()
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
    const json: any = text ? JSON.parse(text) : undefined
    // Every answer of every HTTP-level test is held to the OpenAPI document.
    const problems = checkResponse(
      method,
      path,
      response.status,
      response.headers.get('Content-Type'),
      json,
      response.headers,
    )
    if (problems.length > 0) throw new Error(`[openapi] ${problems.join('; ')}`)
    return { status: response.status, headers: response.headers, json }
  }

  /** Sends what is due and returns the codes in the number's sandbox inbox, newest first. */
  async function inbox(key: string, to: string): Promise<string[]> {
    await dispatcher.drain()
    const { json } = await call('GET', `/v1/sandbox/messages?to=${encodeURIComponent(to)}`, { key })
    return (json as { body: string }[]).map((m) => /^(\d+)/.exec(m.body)?.[1] ?? '')
  }

  return {
    app,
    storage,
    db: storage.db,
    secrets,
    tokens,
    fraud,
    dispatcher,
    webhooks,
    call,
    inbox,
    project,
    webhookNetworks,
    liveProject,
    now,
    advance(ms: number) {
      nowMs += ms
    },
    dispose: async () => {
      await fraud.close()
      await storage.dispose()
    },
  }
}

export type Harness = Awaited<ReturnType<typeof createHarness>>
