/**
 * The webhook dispatcher: claims due deliveries (the webhook outbox), signs and posts them,
 * logs every attempt, retries on the schedule, and disables an endpoint that fails for days.
 * Claims expire, so a process killed mid-delivery loses nothing: another one (or the same one
 * restarted) sends the event again with the same `webhook-id`.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Selectable, Transaction } from 'kysely'
import type { Logger } from 'pino'
import { newId } from '../ids'
import { createPollingLoop, type PollingLoop } from '../polling'
import { decrypt } from '../secrets'
import type { Database, Storage, WebhookEndpointTable } from '../storage'
import { runTemplate } from '../storage/query-templates'
import { withFields } from '../with-fields'
import { onWebhookEvent } from './emit'
import { holdEndpoint, THROTTLING, toEndpointTakingDeliveries } from './endpoint-hold'
import { firstOfItsOrder } from './ordering'
import { DISABLE_AFTER_MS, endpointHoldMs, nextDelayMs } from './schedule'
import { inOverlap } from './secret-overlap'
import { type SendInput, type SendOutcome, sendWebhook } from './send'
import { NO_WEBHOOK_NETWORKS, type WebhookNetworks } from './url-policy'

/**
 * Posts under way to one endpoint at once, over every process (claims are in the database): an
 * endpoint that answers slowly (up to the 15 s allowed, a byte at a time) takes at most this
 * many of the dispatcher's slots, and the other stores' events go on through the rest.
 */
export const IN_FLIGHT_PER_ENDPOINT = 2

/** Thrown inside a claim's transaction to undo it: the endpoint has its share under way. */
class OverShare extends Error {}

export interface WebhookDispatcherOptions {
  storage: Storage
  encryptionKey: Buffer
  logger: Logger
  now?: () => number
  /** The time signed into `webhook-timestamp`; receivers check it against their own clock. */
  signingClock?: () => number
  pollIntervalMs?: number
  /** Deliveries under way at once in this process. */
  window?: number
  /** How long a claim holds before another process may take the delivery. */
  claimMs?: number
  /** Time an endpoint gets to answer. */
  timeoutMs?: number
  /** The operator's networks endpoints may reach besides the internet (TEXTGATE_WEBHOOK_NETWORKS). */
  networks?: WebhookNetworks
  /** Replaces the HTTP post (tests of scheduling). */
  send?: (input: SendInput) => Promise<SendOutcome>
  /** Called after each attempt (metrics). */
  onAttempt?: (attempt: { type: string; outcome: SendOutcome; final: boolean }) => void
  /** Called when an endpoint is disabled for failing, or for answering 410 Gone. */
  onEndpointDisabled?: (endpoint: {
    id: string
    projectId: string
    url: string
    reason: 'failing' | 'gone'
  }) => void
}

/** `drain` delivers everything due now (for tests and scripts) and returns attempts made. */
export type WebhookDispatcher = PollingLoop

interface Claimed {
  delivery: { id: string; message_id: string; endpoint_id: string; attempts: number }
  endpoint: Selectable<WebhookEndpointTable>
  message: { id: string; type: string; payload: string }
}

export function createWebhookDispatcher({
  storage,
  encryptionKey,
  logger,
  now = Date.now,
  signingClock = Date.now,
  pollIntervalMs = 500,
  window = 4,
  claimMs = 60_000,
  timeoutMs = 15_000,
  networks = NO_WEBHOOK_NETWORKS,
  send = sendWebhook,
  onAttempt,
  onEndpointDisabled,
}: WebhookDispatcherOptions): WebhookDispatcher {
  const { db } = storage
  const workerId = `wh_${randomBytes(6).toString('hex')}`

  async function claimIn(trx: Transaction<Database>, at: number) {
    let due = trx
      .selectFrom('webhook_deliveries as d')
      .select('d.id')
      .where('d.state', '=', 'pending')
      .where('d.available_at', '<=', at)
      .where((eb) => eb.or([eb('d.claimed_until', 'is', null), eb('d.claimed_until', '<', at)]))
      // Not to a disabled endpoint, nor to one held until its retry time (429, 503 …).
      .where(toEndpointTakingDeliveries(at))
      // Not to an endpoint that already has its share of posts under way.
      .where(
        (eb) =>
          eb
            .selectFrom('webhook_deliveries as f')
            .select((f) => f.fn.countAll<number>().as('n'))
            .whereRef('f.endpoint_id', '=', 'd.endpoint_id')
            .where('f.state', '=', 'pending')
            .where('f.claimed_until', '>', at),
        '<',
        IN_FLIGHT_PER_ENDPOINT,
      )
      // Events of one verification reach an endpoint in order: wait for earlier ones.
      .where(firstOfItsOrder)
      .orderBy('d.available_at')
      .limit(1)
    if (storage.dialect === 'postgres') due = due.forUpdate().skipLocked()
    const delivery = await trx
      .updateTable('webhook_deliveries')
      .set({ claimed_by: workerId, claimed_until: at + claimMs })
      .where('id', 'in', due)
      .returning(['id', 'message_id', 'endpoint_id', 'attempts'])
      .executeTakeFirst()
    if (!delivery) return undefined
    if (storage.dialect === 'postgres') {
      // Claims in other transactions are not seen by the count above until they commit: take
      // the endpoint's row lock, so claims for one endpoint follow one another, and count
      // again. Over its share, this claim is undone (the transaction rolls back). FOR NO KEY
      // UPDATE: the key share a request's transaction takes to write a delivery for the
      // endpoint (its foreign key) never waits for it.
      await trx
        .selectFrom('webhook_endpoints')
        .select('id')
        .where('id', '=', delivery.endpoint_id)
        .forNoKeyUpdate()
        .execute()
      const others = await trx
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('endpoint_id', '=', delivery.endpoint_id)
        .where('state', '=', 'pending')
        .where('claimed_until', '>', at)
        .where('id', '!=', delivery.id)
        .executeTakeFirst()
      if (Number(others?.n ?? 0) >= IN_FLIGHT_PER_ENDPOINT) throw new OverShare()
    }
    const endpoint = await trx
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', delivery.endpoint_id)
      .executeTakeFirstOrThrow()
    const message = await trx
      .selectFrom('webhook_messages')
      .select(['id', 'type', 'payload'])
      .where('id', '=', delivery.message_id)
      .executeTakeFirstOrThrow()
    return { delivery, endpoint, message } satisfies Claimed
  }

  async function attempt({ delivery, endpoint, message }: Claimed): Promise<void> {
    const at = now()
    // The current secret, then every earlier one still in its overlap (newest first).
    const secrets = [
      endpoint.secret_encrypted,
      ...inOverlap(endpoint.previous_secrets, at).map((p) => p.secret),
    ].map((encrypted) => decrypt(encryptionKey, encrypted))
    const outcome = await send({
      url: endpoint.url,
      mode: endpoint.mode,
      messageId: message.id,
      payload: message.payload,
      secrets,
      at: new Date(signingClock()),
      timeoutMs,
      networks,
    })
    const done = now()
    const attempts = delivery.attempts + 1
    // 410 Gone: the receiver wants no more (Standard Webhooks: disable the endpoint). This
    // delivery fails at once; the endpoint's later events are kept as failed deliveries, so
    // enabling it and a replay recover them, as after days of failures.
    const gone = outcome.statusCode === 410
    const delay = outcome.ok || gone ? undefined : nextDelayMs(attempts, outcome.retryAfterMs)
    const final = outcome.ok || delay === undefined
    let disabled: 'failing' | 'gone' | undefined
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('webhook_attempts')
        .values({
          id: newId('wha'),
          delivery_id: delivery.id,
          attempt: attempts,
          status_code: outcome.statusCode,
          latency_ms: outcome.latencyMs,
          error: outcome.error?.slice(0, 300) ?? null,
          created_at: done,
        })
        .execute()
      await trx
        .updateTable('webhook_deliveries')
        .set({
          state: outcome.ok ? 'delivered' : delay === undefined ? 'failed' : 'pending',
          attempts,
          available_at: done + (delay ?? 0),
          claimed_by: null,
          claimed_until: null,
          delivered_at: outcome.ok ? done : null,
        })
        .where('id', '=', delivery.id)
        .where('claimed_by', '=', workerId)
        .execute()
      if (delay !== undefined && THROTTLING.has(outcome.statusCode ?? 0)) {
        // The endpoint is overloaded or rate-limiting (Standard Webhooks: throttle): every
        // delivery to it, those raised later included, waits as long as this one (at most 5
        // minutes when the receiver named no time) instead of each spending an attempt on the
        // same answer.
        await holdEndpoint(trx, {
          endpointId: endpoint.id,
          until: done + endpointHoldMs(delay, outcome.retryAfterMs),
          at: done,
          doneWith: delivery.id,
        })
      }
      if (outcome.ok) {
        await trx
          .updateTable('webhook_endpoints')
          .set({ failing_since: null })
          .where('id', '=', endpoint.id)
          .where('failing_since', 'is not', null)
          .execute()
        return
      }
      const failingSince = endpoint.failing_since ?? at
      if (gone) {
        const result = await trx
          .updateTable('webhook_endpoints')
          .set({
            enabled: 0,
            disabled_reason: 'gone',
            failing_since: failingSince,
            updated_at: done,
          })
          .where('id', '=', endpoint.id)
          .where('enabled', '=', 1)
          .executeTakeFirst()
        if (Number(result.numUpdatedRows) > 0) disabled = 'gone'
      } else if (endpoint.failing_since === null) {
        await trx
          .updateTable('webhook_endpoints')
          .set({ failing_since: at })
          .where('id', '=', endpoint.id)
          .where('failing_since', 'is', null)
          .execute()
      } else if (done - failingSince >= DISABLE_AFTER_MS) {
        const result = await trx
          .updateTable('webhook_endpoints')
          .set({ enabled: 0, disabled_reason: 'failing', updated_at: done })
          .where('id', '=', endpoint.id)
          .where('enabled', '=', 1)
          .executeTakeFirst()
        if (Number(result.numUpdatedRows) > 0) disabled = 'failing'
      }
    })
    onAttempt?.({ type: message.type, outcome, final })
    const log = { endpointId: endpoint.id, deliveryId: delivery.id, webhookId: message.id }
    if (outcome.ok) logger.debug(withFields(log, { attempt: attempts }), 'webhook delivered')
    else {
      logger.warn(
        withFields(log, {
          attempt: attempts,
          status: outcome.statusCode,
          err: outcome.error,
          final,
        }),
        final ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry',
      )
    }
    if (disabled) {
      // The operator-visible event: an error-level line, the endpoint's state in the CLI and
      // API, and a metric.
      logger.error(
        {
          endpointId: endpoint.id,
          projectId: endpoint.project_id,
          // Without its query: receivers often put a token there.
          url: withoutQuery(endpoint.url),
          failingSince: new Date(endpoint.failing_since ?? at).toISOString(),
        },
        disabled === 'gone'
          ? 'webhook endpoint disabled: it answered 410 Gone'
          : 'webhook endpoint disabled: every delivery failed for 5 days',
      )
      onEndpointDisabled?.({
        id: endpoint.id,
        projectId: endpoint.project_id,
        url: endpoint.url,
        reason: disabled,
      })
    }
  }

  /**
   * Whether any delivery may be due: one indexed read, no transaction. Every poll asks (once
   * for the round's workers, see anyDueShared), and most find nothing (a store without
   * endpoints never has any), so the claim's write transaction (which takes SQLite's one
   * connection) runs only when there is a candidate.
   */
  async function anyDue(at: number): Promise<boolean> {
    const [row] = await runTemplate(db, 'webhooks.anyDue', [at], (v) =>
      db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('state', '=', 'pending')
        .where('available_at', '<=', v(0))
        .limit(1),
    )
    return row !== undefined
  }

  /** The read under way: workers that ask while it runs (a round's, at once) share its answer. */
  let asking: Promise<boolean> | undefined
  function anyDueShared(at: number): Promise<boolean> {
    asking ??= anyDue(at).finally(() => {
      asking = undefined
    })
    return asking
  }

  async function work(active: () => boolean): Promise<number> {
    let made = 0
    while (active()) {
      if (!(await anyDueShared(now()))) break
      const claimed = await db
        .transaction()
        .execute((trx) => claimIn(trx, now()))
        .catch((error: unknown) => {
          if (error instanceof OverShare) return 'over-share' as const
          throw error
        })
      // The endpoint's share was taken meanwhile (its claims are committed now): look again,
      // another endpoint's delivery may be due.
      if (claimed === 'over-share') continue
      if (!claimed) break
      await attempt(claimed)
      made++
    }
    return made
  }

  return createPollingLoop({
    window,
    pollIntervalMs,
    logger,
    label: 'webhook round failed',
    work,
    subscribe: (tick) => onWebhookEvent(() => setTimeout(tick, 20).unref()),
  })
}

/** `url` with its query and fragment left out (shown as `?…`), for logs. */
export function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url)
    const hidden = parsed.search || parsed.hash ? '?…' : ''
    return `${parsed.origin}${parsed.pathname}${hidden}`
  } catch {
    return '(not a URL)'
  }
}
