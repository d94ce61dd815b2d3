/**
 * Managing webhook endpoints, their secrets, and their deliveries: what the secret-key API and
 * the CLI both call. Each endpoint belongs to one project and one mode (the mode of the key that
 * manages it); test-mode events never reach live endpoints, nor the reverse.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type {
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookEventType,
} from '@textgate/shared'
import type { Kysely, Selectable } from 'kysely'
import { ApiError } from '../http/errors'
import { newId } from '../ids'
import { encrypt } from '../secrets'
import type { Database, KeyMode, WebhookDeliveryState, WebhookEndpointTable } from '../storage'
import { withFields } from '../with-fields'
import { forgetEndpointAbsence } from './emit'
import { dueAt } from './endpoint-hold'
import { afterRotation, inOverlap, type PreviousSecret } from './secret-overlap'
import {
  checkResolvedHost,
  checkWebhookUrl,
  type WebhookNetworks,
  WebhookUrlError,
} from './url-policy'

const DEFAULT_KEEP_PREVIOUS_MS = 24 * 60 * 60_000
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** A new `whsec_` secret: 32 random bytes, base64 (Standard Webhooks' format). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

export interface Scope {
  projectId: string
  mode: KeyMode
  /** The operator's networks endpoints may be in besides the internet (TEXTGATE_WEBHOOK_NETWORKS). */
  networks?: WebhookNetworks
}

type EndpointRow = Selectable<WebhookEndpointTable>

/** When the last earlier secret stops signing (the current one alone signs from then). */
const overlapEnd = (previous: PreviousSecret[]) =>
  previous.length === 0 ? null : Math.max(...previous.map((p) => p.expiresAt))

export function endpointView(row: EndpointRow, at = Date.now()): WebhookEndpoint {
  const previous = inOverlap(row.previous_secrets, at)
  return {
    id: row.id,
    url: row.url,
    mode: row.mode,
    events: row.events === null ? null : (JSON.parse(row.events) as WebhookEventType[]),
    description: row.description,
    enabled: row.enabled === 1,
    disabledReason:
      row.enabled === 1
        ? null
        : row.disabled_reason === 'failing' || row.disabled_reason === 'gone'
          ? row.disabled_reason
          : 'manual',
    failingSince: iso(row.failing_since),
    previousSecretExpiresAt: iso(overlapEnd(previous)),
    previousSecrets: previous.map((p) => ({ expiresAt: iso(p.expiresAt) as string })),
    heldUntil: row.held_until !== null && row.held_until > at ? iso(row.held_until) : null,
    createdAt: iso(row.created_at) as string,
  }
}

async function checkedUrl(url: string, scope: Scope): Promise<string> {
  try {
    const normalised = checkWebhookUrl(url, scope.mode, scope.networks)
    await checkResolvedHost(normalised, scope.mode, scope.networks)
    return normalised
  } catch (error) {
    if (error instanceof WebhookUrlError) {
      throw new ApiError('webhook_url_not_allowed', { reason: error.message })
    }
    throw error
  }
}

async function load(db: Kysely<Database>, scope: Scope, id: string): Promise<EndpointRow> {
  const row = await db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', id)
    .where('project_id', '=', scope.projectId)
    .where('mode', '=', scope.mode)
    .executeTakeFirst()
  if (!row) throw new ApiError('webhook_endpoint_not_found')
  return row
}

export async function createEndpoint(
  db: Kysely<Database>,
  encryptionKey: Buffer,
  scope: Scope,
  input: { url: string; events?: WebhookEventType[] | undefined; description?: string | undefined },
  at = Date.now(),
): Promise<WebhookEndpointWithSecret> {
  const url = await checkedUrl(input.url, scope)
  const secret = newWebhookSecret()
  const row: EndpointRow = {
    id: newId('we'),
    project_id: scope.projectId,
    mode: scope.mode,
    url,
    description: input.description ?? null,
    events: input.events ? JSON.stringify([...new Set(input.events)]) : null,
    enabled: 1,
    disabled_reason: null,
    failing_since: null,
    secret_encrypted: encrypt(encryptionKey, secret),
    previous_secrets: null,
    held_until: null,
    created_at: at,
    updated_at: at,
  }
  await db.insertInto('webhook_endpoints').values(row).execute()
  forgetEndpointAbsence()
  return withFields(endpointView(row, at), { secret })
}

export async function listEndpoints(
  db: Kysely<Database>,
  scope: Scope,
  at = Date.now(),
): Promise<WebhookEndpoint[]> {
  const rows = await db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('project_id', '=', scope.projectId)
    .where('mode', '=', scope.mode)
    .orderBy('created_at')
    .execute()
  return rows.map((row) => endpointView(row, at))
}

export async function getEndpoint(
  db: Kysely<Database>,
  scope: Scope,
  id: string,
  at = Date.now(),
): Promise<WebhookEndpoint> {
  return endpointView(await load(db, scope, id), at)
}

export async function updateEndpoint(
  db: Kysely<Database>,
  scope: Scope,
  id: string,
  input: {
    url?: string | undefined
    events?: WebhookEventType[] | null | undefined
    description?: string | null | undefined
    enabled?: boolean | undefined
  },
  at = Date.now(),
): Promise<WebhookEndpoint> {
  const row = await load(db, scope, id)
  const url = input.url === undefined ? undefined : await checkedUrl(input.url, scope)
  // A new URL is another receiver: the old one's hold (its 429 or 503) does not bind it, and
  // the deliveries the hold moved go now (those on their own retry step keep it).
  const heldFor = url !== undefined && url !== row.url ? row.held_until : null
  const enabling = input.enabled === true
  const disabling = input.enabled === false && row.enabled === 1
  await db.transaction().execute(async (trx) => {
    if (heldFor !== null) {
      await trx
        .updateTable('webhook_deliveries')
        .set({ available_at: at })
        .where('endpoint_id', '=', row.id)
        .where('state', '=', 'pending')
        .where('available_at', '=', heldFor)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', at)]))
        .execute()
    }
    await trx
      .updateTable('webhook_endpoints')
      .set({
        url,
        held_until: heldFor !== null ? null : undefined,
        events:
          input.events === undefined
            ? undefined
            : input.events === null
              ? null
              : JSON.stringify([...new Set(input.events)]),
        description: input.description,
        // Enabling starts the failure clock afresh; disabling by hand says so (undefined: as is).
        enabled: enabling ? 1 : disabling ? 0 : undefined,
        disabled_reason: enabling ? null : disabling ? 'manual' : undefined,
        failing_since: enabling ? null : undefined,
        updated_at: at,
      })
      .where('id', '=', row.id)
      .execute()
  })
  return endpointView(await load(db, scope, id), at)
}

export async function deleteEndpoint(
  db: Kysely<Database>,
  scope: Scope,
  id: string,
): Promise<void> {
  const row = await load(db, scope, id)
  await db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('webhook_attempts')
      .where('delivery_id', 'in', (eb) =>
        eb.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', row.id),
      )
      .execute()
    await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', row.id).execute()
    await trx.deleteFrom('webhook_endpoints').where('id', '=', row.id).execute()
  })
}

/** Rotations of one endpoint that meet: each tries again on what the other wrote. */
const ROTATION_TRIES = 5

/**
 * A new secret signs from now on; the one it replaces signs too (one more `v1,` signature) for
 * `keepPreviousMs`, as do earlier ones until their own ends (five at most: see
 * secret-overlap.ts), so receivers can switch without losing an event. `keepPreviousMs` 0: the
 * new secret alone signs, at once.
 */
export async function rotateSecret(
  db: Kysely<Database>,
  encryptionKey: Buffer,
  scope: Scope,
  id: string,
  keepPreviousMs = DEFAULT_KEEP_PREVIOUS_MS,
  at = Date.now(),
): Promise<WebhookEndpointWithSecret> {
  const secret = newWebhookSecret()
  for (let tries = 0; tries < ROTATION_TRIES; tries++) {
    const row = await load(db, scope, id)
    // Written only over the secret it read: a rotation that met another loses no secret.
    const result = await db
      .updateTable('webhook_endpoints')
      .set({
        secret_encrypted: encrypt(encryptionKey, secret),
        previous_secrets: afterRotation(
          row.secret_encrypted,
          row.previous_secrets,
          keepPreviousMs,
          at,
        ),
        updated_at: at,
      })
      .where('id', '=', row.id)
      .where('secret_encrypted', '=', row.secret_encrypted)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) > 0) {
      return withFields(endpointView(await load(db, scope, id), at), { secret })
    }
  }
  throw new Error('[textgate] [webhooks] the secret changed under each of 5 rotations in a row')
}

export async function listDeliveries(
  db: Kysely<Database>,
  scope: Scope,
  endpointId: string,
  { state, limit = 50 }: { state?: WebhookDeliveryState | undefined; limit?: number | undefined },
): Promise<WebhookDelivery[]> {
  await load(db, scope, endpointId)
  let query = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_messages as m', 'm.id', 'd.message_id')
    .select([
      'd.id',
      'd.message_id',
      'd.endpoint_id',
      'd.state',
      'd.attempts',
      'd.available_at',
      'd.created_at',
      'd.delivered_at',
      'm.type',
    ])
    .where('d.endpoint_id', '=', endpointId)
    .orderBy('d.seq', 'desc')
    .limit(limit)
  if (state) query = query.where('d.state', '=', state)
  const rows = await query.execute()
  const attempts =
    rows.length === 0
      ? []
      : await db
          .selectFrom('webhook_attempts')
          .selectAll()
          .where(
            'delivery_id',
            'in',
            rows.map((r) => r.id),
          )
          .orderBy('created_at')
          .execute()
  return rows.map((row) => ({
    id: row.id,
    messageId: row.message_id,
    endpointId: row.endpoint_id,
    type: row.type as WebhookEventType,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.state === 'pending' ? iso(row.available_at) : null,
    createdAt: iso(row.created_at) as string,
    deliveredAt: iso(row.delivered_at),
    log: attempts
      .filter((a) => a.delivery_id === row.id)
      .map((a) => ({
        attempt: a.attempt,
        statusCode: a.status_code,
        latencyMs: a.latency_ms,
        error: a.error,
        at: iso(a.created_at) as string,
      })),
  }))
}

/**
 * Sends failed deliveries again, with the same `webhook-id` (a receiver that already has it
 * can tell) and a fresh retry schedule. One delivery by id, or all failed ones of an endpoint
 * (since a time).
 */
export async function replay(
  db: Kysely<Database>,
  scope: Scope,
  target: { deliveryId: string } | { endpointId: string; since?: number | undefined },
  at = Date.now(),
): Promise<number> {
  const endpointId =
    'deliveryId' in target
      ? (
          await db
            .selectFrom('webhook_deliveries')
            .select('endpoint_id')
            .where('id', '=', target.deliveryId)
            .executeTakeFirst()
        )?.endpoint_id
      : target.endpointId
  if (endpointId === undefined) throw new ApiError('webhook_delivery_not_found')
  let endpoint: EndpointRow
  try {
    endpoint = await load(db, scope, endpointId)
  } catch (error) {
    // Another project's delivery id reads as unknown, not as someone else's endpoint.
    if ('deliveryId' in target) throw new ApiError('webhook_delivery_not_found')
    throw error
  }
  if (endpoint.enabled !== 1) throw new ApiError('webhook_endpoint_disabled')
  let update = db
    .updateTable('webhook_deliveries')
    .set({
      state: 'pending',
      attempts: 0,
      // A held endpoint (it answered 429, 503 …) takes them at its retry time.
      available_at: dueAt(at, endpoint.held_until),
      claimed_by: null,
      claimed_until: null,
    })
    .where('endpoint_id', '=', endpointId)
  if ('deliveryId' in target) {
    update = update
      .where('id', '=', target.deliveryId)
      .where('state', 'in', ['failed', 'delivered'])
  } else {
    update = update.where('state', '=', 'failed')
    if (target.since !== undefined) update = update.where('created_at', '>=', target.since)
  }
  const result = await update.executeTakeFirst()
  return Number(result.numUpdatedRows)
}
