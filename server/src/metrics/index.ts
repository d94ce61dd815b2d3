/**
 * Prometheus metrics (prom-client). Counters and histograms live in one process-wide registry
 * that units update where things happen; queue depths and breaker states are read when scraped.
 * Labels are bounded: route patterns (never raw paths), status codes, ISO country codes,
 * carrier ids from the routing file, reason codes — never numbers, ids or addresses.
 * @module
 */
import { timingSafeEqual } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import type { Kysely } from 'kysely'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { COUNTERS_MODES, type CountersMode } from '../fraud/counters'
import { appliedHeapGrowingPercent } from '../heap'
import { type QueueFigures, queueFigures } from '../outbox/status'
import type { Database } from '../storage'

/** Counters and histograms every unit updates (one per process). */
export const counters = new Registry()
collectDefaultMetrics({ register: counters })

export const httpRequests = new Counter({
  name: 'textgate_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [counters],
})

export const httpDuration = new Histogram({
  name: 'textgate_http_request_duration_seconds',
  help: 'Time to answer an HTTP request, by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [counters],
})

export const verificationsTotal = new Counter({
  name: 'textgate_verifications_total',
  help: 'Verifications by what happened (started, approved, failed, expired, canceled) and the number’s country.',
  labelNames: ['status', 'country'] as const,
  registers: [counters],
})

export const messagesTotal = new Counter({
  name: 'textgate_messages_total',
  help: 'Code texts by carrier and the status they reached (sent, delivered, undelivered, failed).',
  labelNames: ['carrier', 'status'] as const,
  registers: [counters],
})

export const deliveryLatency = new Histogram({
  name: 'textgate_message_delivery_seconds',
  help: 'Time from a text being queued to its delivery report saying delivered, by carrier.',
  labelNames: ['carrier'] as const,
  buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
  registers: [counters],
})

export const fraudDecisions = new Counter({
  name: 'textgate_fraud_decisions_total',
  help: 'Fraud guard decisions (allow, challenge, block) by reason code ("none" without one).',
  labelNames: ['decision', 'reason'] as const,
  registers: [counters],
})

export const webhookAttempts = new Counter({
  name: 'textgate_webhook_attempts_total',
  help: 'Webhook delivery attempts by event type and result (delivered, retrying, failed).',
  labelNames: ['type', 'result'] as const,
  registers: [counters],
})

export const webhookEndpointsDisabled = new Counter({
  name: 'textgate_webhook_endpoints_disabled_total',
  help: 'Webhook endpoints disabled because every delivery failed for 5 days.',
  registers: [counters],
})

new Gauge({
  name: 'textgate_heap_growing_percent',
  help:
    "V8's heap growing percent this process set (TEXTGATE_HEAP_GROWING_PERCENT for serve): the " +
    'old generation grows to 1 + it/100 times what the last full collection left live; 0 when ' +
    'V8 chooses (set to 0, or a process that embeds the server).',
  registers: [counters],
  collect() {
    this.set(appliedHeapGrowingPercent())
  },
})

/** A reason or status code as a label: known shape only, else "other". */
export function codeLabel(value: string | null | undefined): string {
  if (!value) return 'none'
  return /^[a-z][a-z0-9_:.-]{0,47}$/i.test(value) ? value : 'other'
}

export interface MetricsSources {
  db: Kysely<Database>
  /** Each live route's circuit breaker, when a routing file is loaded. */
  breakers?: () => { carrier: string; state: string }[]
  /** Where the fraud guard keeps its counters now (a lease mode, or `redis`). */
  countersMode?: () => CountersMode
  /** SQLite with a checkpoint thread: the quiet moments lent to it so far (Storage.quietMoments). */
  quietMoments?: (() => number) | undefined
  now?: () => number
}

const BREAKER_STATES = ['closed', 'open', 'half-open', 'isolated'] as const

/**
 * The registry one server serves: the process-wide counters plus gauges read from its database
 * (outbox and webhook queue depth and oldest age), router (breaker states) and fraud guard
 * (where its counters are) when scraped.
 */
export function createMetricsRegistry({
  db,
  breakers = () => [],
  countersMode,
  quietMoments,
  now = Date.now,
}: MetricsSources): Registry {
  const gauges = new Registry()
  for (const [table, name, what] of [
    ['outbox', 'textgate_outbox', 'code texts'],
    ['webhook_deliveries', 'textgate_webhook_queue', 'webhook deliveries'],
  ] as const) {
    let last: Promise<QueueFigures> | undefined
    // One query per scrape serves both gauges of a queue.
    const read = () => {
      last ??= queueFigures(db, table, now()).finally(() => {
        setTimeout(() => {
          last = undefined
        }, 0)
      })
      return last
    }
    new Gauge({
      name: `${name}_depth`,
      help: `Pending ${what} (waiting or being retried).`,
      registers: [gauges],
      async collect() {
        this.set((await read()).depth)
      },
    })
    new Gauge({
      name: `${name}_oldest_age_seconds`,
      help: `Age of the oldest pending ${what}; 0 when none.`,
      registers: [gauges],
      async collect() {
        this.set((await read()).oldestAgeSeconds)
      },
    })
  }
  new Gauge({
    name: 'textgate_carrier_breaker_state',
    help: 'Circuit breaker of each live route: 1 for its current state, 0 for the others.',
    labelNames: ['carrier', 'state'] as const,
    registers: [gauges],
    collect() {
      this.reset()
      for (const { carrier, state } of breakers()) {
        for (const s of BREAKER_STATES) this.set({ carrier, state: s }, s === state ? 1 : 0)
      }
    },
  })
  if (countersMode) {
    new Gauge({
      name: 'textgate_fraud_counters_mode',
      help:
        'Where this server process keeps its fraud counters: 1 for its current mode, 0 for the ' +
        'others. local: in memory, written behind (alone on the database); shared: in the ' +
        'table (other processes run); waiting: another process holds them; redis: REDIS_URL.',
      labelNames: ['mode'] as const,
      registers: [gauges],
      collect() {
        const now = countersMode()
        for (const mode of COUNTERS_MODES) this.set({ mode }, mode === now ? 1 : 0)
      },
    })
  }
  if (quietMoments) {
    let counted = 0
    new Counter({
      name: 'textgate_sqlite_quiet_moments_total',
      help:
        'Quiet moments lent to the SQLite checkpoint thread: the WAL was due to start over and no ' +
        'pause between commits let it, so every database statement of this process waited ' +
        'while the thread copied the last frames and synced the file.',
      registers: [gauges],
      collect() {
        const now = quietMoments()
        if (now > counted) this.inc(now - counted)
        counted = now
      },
    })
  }
  return Registry.merge([counters, gauges])
}

/** Bounded route label: the matched handler's pattern, or "unmatched" (404s, preflights). */
function routeLabel(c: Context): string {
  // Middleware is registered for every method; handlers for theirs.
  const handler = matchedRoutes(c).findLast((route) => route.method !== 'ALL')
  return handler?.path ?? 'unmatched'
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** Counts every request and its time, labelled by route pattern. */
export function httpMetrics(): MiddlewareHandler {
  return async function httpMetrics(c, next) {
    const started = performance.now()
    try {
      await next()
    } finally {
      const labels = {
        method: METHODS.has(c.req.method) ? c.req.method : 'OTHER',
        route: routeLabel(c),
        status: String(c.res.status),
      }
      httpRequests.inc(labels)
      httpDuration.observe(labels, (performance.now() - started) / 1000)
    }
  }
}

/** True when `header` is `Bearer <token>` (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '')
  const wanted = Buffer.from(token)
  return given.length === wanted.length && timingSafeEqual(given, wanted)
}

/**
 * `GET /metrics`. With a token, only `Authorization: Bearer <token>` gets it (401 otherwise);
 * without one, it answers everyone (for a port of its own, or tests).
 */
export function metricsHandler(registry: Registry, token?: string) {
  return async function metrics(c: Context) {
    if (token !== undefined && !bearerMatches(c.req.header('Authorization'), token)) {
      c.header('WWW-Authenticate', 'Bearer realm="metrics"')
      return c.json(
        { error: { code: 'invalid_api_key', message: 'A metrics token is required.' } },
        401,
      )
    }
    c.header('Content-Type', registry.contentType)
    c.header('Cache-Control', 'no-store')
    return c.body(await registry.metrics())
  }
}
