/**
 * Probes for orchestrators: `/healthz` says the process is alive (it answers; it does not touch
 * the database, so a database outage does not get every process restarted), `/readyz` says it
 * should get traffic: the database answers (and Redis, when the fraud counters live there), its
 * migrations are current, and neither outbox has rows due for minutes that nobody claims.
 * @module
 */
import type { ReadinessResponse } from '@textgate/shared'
import { Hono } from 'hono'
import { type Kysely, sql } from 'kysely'
import type { Logger } from 'pino'
import { requestLog } from '../http/request-id'
import type { Database } from '../storage'
import { migrations } from '../storage/migrations'
import { toEndpointTakingDeliveries } from '../webhooks/endpoint-hold'
import { firstOfItsOrder } from '../webhooks/ordering'
import { withFields } from '../with-fields'

/** A due row nobody claimed for this long means no dispatcher is working the queue. */
export const STUCK_AFTER_MS = 5 * 60_000
const DB_TIMEOUT_MS = 2_000

export interface HealthOptions {
  db: Kysely<Database>
  logger: Logger
  isAccepting: () => boolean
  now?: () => number
  /** One round trip to counters kept outside the database (Redis); absent when they are not. */
  countersCheck?: () => Promise<void>
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

async function oldestDue(
  db: Kysely<Database>,
  table: 'outbox' | 'webhook_deliveries',
  at: number,
): Promise<number> {
  const row =
    table === 'outbox'
      ? await db
          .selectFrom('outbox')
          .select((eb) => eb.fn.min('available_at').as('due'))
          .where('state', '=', 'pending')
          .where('available_at', '<=', at)
          .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', at)]))
          .executeTakeFirst()
      : await db
          .selectFrom('webhook_deliveries as d')
          .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
          // Due since its own time, or since its endpoint's hold ended if that came later.
          .select((eb) =>
            eb.fn
              .min(
                eb
                  .case()
                  .when('e.held_until', '>', eb.ref('d.available_at'))
                  .then(eb.ref('e.held_until'))
                  .else(eb.ref('d.available_at'))
                  .end(),
              )
              .as('due'),
          )
          .where('d.state', '=', 'pending')
          .where('d.available_at', '<=', at)
          .where((eb) => eb.or([eb('d.claimed_until', 'is', null), eb('d.claimed_until', '<', at)]))
          // Deliveries to a disabled endpoint wait for it on purpose, as do those to an endpoint
          // held until its retry time (it answered 429, 503 …)…
          .where(toEndpointTakingDeliveries(at))
          // …and so do those behind an earlier event of their verification that is being
          // retried (events reach an endpoint in order): the dispatcher is not stuck on them,
          // the store's endpoint is down, which is no reason to take every process out.
          .where(firstOfItsOrder)
          .executeTakeFirst()
  const due = row?.due === null || row?.due === undefined ? null : Number(row.due)
  return due === null ? 0 : Math.max(0, at - due)
}

export async function readiness({
  db,
  logger,
  isAccepting,
  now = Date.now,
  countersCheck,
}: HealthOptions): Promise<ReadinessResponse> {
  const at = now()
  const checks: ReadinessResponse['checks'] = {
    database: 'ok',
    migrations: 'unknown',
    outbox: 'unknown',
    webhooks: 'unknown',
    accepting: isAccepting(),
  }
  const oldestDueSeconds = { outbox: 0, webhooks: 0 }
  try {
    await withTimeout(sql`select 1`.execute(db), DB_TIMEOUT_MS)
  } catch (error) {
    logger.error({ err: error }, 'readiness: database unreachable')
    checks.database = 'unreachable'
  }
  if (checks.database === 'ok') {
    try {
      const applied = new Set(
        (
          await withTimeout(
            sql<{ name: string }>`select name from kysely_migration`.execute(db),
            DB_TIMEOUT_MS,
          )
        ).rows.map((r) => r.name),
      )
      const known = Object.keys(migrations)
      checks.migrations = known.some((name) => !applied.has(name))
        ? 'pending'
        : applied.size > known.length
          ? 'ahead'
          : 'current'
      const [outbox, webhooks] = await withTimeout(
        Promise.all([oldestDue(db, 'outbox', at), oldestDue(db, 'webhook_deliveries', at)]),
        DB_TIMEOUT_MS,
      )
      oldestDueSeconds.outbox = Math.round(outbox / 1000)
      oldestDueSeconds.webhooks = Math.round(webhooks / 1000)
      checks.outbox = outbox > STUCK_AFTER_MS ? 'stuck' : 'ok'
      checks.webhooks = webhooks > STUCK_AFTER_MS ? 'stuck' : 'ok'
    } catch (error) {
      logger.error({ err: error }, 'readiness check failed')
    }
  }
  if (countersCheck) {
    try {
      await withTimeout(countersCheck(), DB_TIMEOUT_MS)
      checks.counters = 'ok'
    } catch (error) {
      logger.error({ err: error }, 'readiness: fraud counters unreachable')
      checks.counters = 'unreachable'
    }
  }
  const ready =
    checks.accepting &&
    checks.counters !== 'unreachable' &&
    checks.database === 'ok' &&
    (checks.migrations === 'current' || checks.migrations === 'ahead') &&
    checks.outbox === 'ok' &&
    checks.webhooks === 'ok'
  return { status: ready ? 'ready' : 'not_ready', checks, oldestDueSeconds }
}

export function healthRoutes(options: HealthOptions) {
  const routes = new Hono()
  routes.get('/healthz', (c) => {
    c.header('Cache-Control', 'no-store')
    // Draining: the load balancer should move away; the process is still alive.
    if (!options.isAccepting()) return c.json({ status: 'shutting_down' as const }, 503)
    return c.json({ status: 'ok' as const })
  })
  routes.get('/readyz', async (c) => {
    c.header('Cache-Control', 'no-store')
    const result = await readiness(withFields(options, { logger: requestLog(c, options.logger) }))
    return c.json(result, result.status === 'ready' ? 200 : 503)
  })
  return routes
}
