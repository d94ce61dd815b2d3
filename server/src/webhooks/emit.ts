/**
 * The one way to raise a webhook event. Call it inside the transaction that makes the change
 * the event reports, so the event exists exactly when the change does (the outbox pattern);
 * the webhook dispatcher then delivers it to every endpoint that wants it.
 * @module
 */
import type { WebhookEventData, WebhookEventType } from '@textgate/shared'
import type { Kysely, Selectable, Transaction } from 'kysely'
import { newId } from '../ids'
import type { Database, KeyMode, WebhookEndpointTable } from '../storage'
import { runTemplate } from '../storage/query-templates'
import { dueAt } from './endpoint-hold'

export interface WebhookEventInput<T extends WebhookEventType> {
  type: T
  projectId: string
  mode: KeyMode
  /** The event's payload, without `projectId` and `mode` (taken from above). */
  data: Omit<WebhookEventData<T>, 'projectId' | 'mode'>
  /** Events with the same key (a verification id) reach each endpoint in the order raised. */
  orderKey?: string | null
  /** When it happened (epoch ms); the payload's `timestamp`. */
  at: number
}

/** A project's endpoints (for one mode), as read inside one transaction. */
type EndpointRow = Pick<
  Selectable<WebhookEndpointTable>,
  'id' | 'events' | 'enabled' | 'disabled_reason' | 'held_until'
>

/**
 * Endpoints read in one transaction, by project and mode: pass the same map to every
 * {@link emitWebhookEvent} of a batch so each project's are read once. Only for the life of
 * that transaction (what it reads cannot change under it).
 */
export type EndpointsRead = Map<string, EndpointRow[]>

let sequence = 0
const listeners = new Set<() => void>()

/**
 * How long this process takes a project's having no endpoints (for a mode) as still true: the
 * dispatcher asks for every round of texts, and most projects have none, so at a few hundred
 * rounds a second the read was a statement on the serving connection per text at low rates.
 * An endpoint created in this process counts at once ({@link forgetEndpointAbsence}); one
 * created by another process sharing the database receives events raised from at most this
 * long after. Only an empty answer is kept: a list of endpoints is read every time, so an
 * endpoint deleted elsewhere is never written a delivery.
 */
export const ENDPOINT_ABSENCE_KEPT_MS = 1_000
/** Projects and modes that had no endpoints, and until when that is taken as still true. */
const withoutEndpoints = new Map<string, number>()
/** A bound on the map (it is emptied when full: entries come back with the next read). */
const ABSENCES_KEPT = 10_000
const NONE: readonly EndpointRow[] = Object.freeze([])
/**
 * Bumped by {@link forgetEndpointAbsence}: an empty answer read while an endpoint was being
 * created here (the read began before the endpoint's commit) is not kept.
 */
let endpointWrites = 0

/** Call after writing an endpoint: this process then reads every project's endpoints afresh. */
export function forgetEndpointAbsence(): void {
  endpointWrites++
  withoutEndpoints.clear()
}

/** Called (in this process) after an event was written; the dispatcher polls sooner. */
export function onWebhookEvent(listener: () => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** Event types an endpoint wants: its JSON filter, or every type when null. */
export function wants(events: string | null, type: string): boolean {
  return events === null || (JSON.parse(events) as string[]).includes(type)
}

/**
 * The project's endpoints for `mode`, from `known` when read there already (and kept there when
 * read now).
 */
async function endpointsOf(
  db: Transaction<Database> | Kysely<Database>,
  projectId: string,
  mode: KeyMode,
  known?: EndpointsRead,
): Promise<EndpointRow[]> {
  const key = `${projectId}\u0000${mode}`
  let endpoints = known?.get(key)
  if (endpoints) return endpoints
  const now = Date.now()
  if ((withoutEndpoints.get(key) ?? 0) > now) {
    endpoints = NONE as EndpointRow[]
  } else {
    const writesBefore = endpointWrites
    // Every delivered text asks this: compiled once (see runTemplate).
    endpoints = await runTemplate(db, 'webhooks.endpoints', [projectId, mode], (v) =>
      db
        .selectFrom('webhook_endpoints')
        .select(['id', 'events', 'enabled', 'disabled_reason', 'held_until'])
        .where('project_id', '=', v(0))
        .where('mode', '=', v(1)),
    )
    if (endpoints.length > 0) withoutEndpoints.delete(key)
    else if (endpointWrites === writesBefore) {
      if (withoutEndpoints.size >= ABSENCES_KEPT) withoutEndpoints.clear()
      withoutEndpoints.set(key, now + ENDPOINT_ABSENCE_KEPT_MS)
    }
  }
  known?.set(key, endpoints)
  return endpoints
}

/**
 * Whether an event of `type` is written for the endpoint: a manually disabled endpoint gets
 * nothing; one disabled for failing, or for answering 410 Gone, keeps its events as failed
 * deliveries, so a replay after it is enabled again recovers them.
 */
function receives(endpoint: EndpointRow, type: string): boolean {
  return (
    wants(endpoint.events, type) &&
    (endpoint.enabled === 1 ||
      endpoint.disabled_reason === 'failing' ||
      endpoint.disabled_reason === 'gone')
  )
}

/**
 * Whether any endpoint of the project and mode receives an event of one of `types` (read into
 * `known`, so a transaction after it need not read them again).
 */
export async function anyEndpointWants(
  db: Transaction<Database> | Kysely<Database>,
  projectId: string,
  mode: KeyMode,
  types: readonly string[],
  known: EndpointsRead,
): Promise<boolean> {
  const endpoints = await endpointsOf(db, projectId, mode, known)
  return endpoints.some((endpoint) => types.some((type) => receives(endpoint, type)))
}

/**
 * Writes the event and one delivery per endpoint of the project and mode that wants it.
 * Returns the event's id (the `webhook-id`), or null when no endpoint wants it (nothing is
 * written then).
 * @example
 * await db.transaction().execute(async (trx) => {
 *   await trx.updateTable('verifications').set({ status: 'approved' }).where('id', '=', id).execute()
 *   await emitWebhookEvent(trx, { type: 'verification.approved', projectId, mode, data, orderKey: id, at })
 * })
 */
export async function emitWebhookEvent<T extends WebhookEventType>(
  db: Transaction<Database> | Kysely<Database>,
  input: WebhookEventInput<T>,
  /** Endpoints already read in this transaction (a batch of events reads each project's once). */
  known?: EndpointsRead,
): Promise<string | null> {
  const endpoints = await endpointsOf(db, input.projectId, input.mode, known)
  const targets = endpoints.filter((endpoint) => receives(endpoint, input.type))
  if (targets.length === 0) return null
  const id = newId('msg')
  const payload = JSON.stringify({
    type: input.type,
    timestamp: new Date(input.at).toISOString(),
    data: { projectId: input.projectId, mode: input.mode, ...input.data },
  })
  await db
    .insertInto('webhook_messages')
    .values({
      id,
      project_id: input.projectId,
      mode: input.mode,
      type: input.type,
      payload,
      created_at: input.at,
    })
    .execute()
  // Several events in one millisecond keep the order they were raised in.
  sequence = (sequence + 1) % 1000
  const seq = input.at * 1000 + sequence
  await db
    .insertInto('webhook_deliveries')
    .values(
      targets.map((endpoint) => ({
        id: newId('whd'),
        message_id: id,
        endpoint_id: endpoint.id,
        order_key: input.orderKey ?? null,
        seq,
        state: endpoint.enabled === 1 ? ('pending' as const) : ('failed' as const),
        // An endpoint held until its retry time (it answered 429, 503 …) gets it then.
        available_at: dueAt(input.at, endpoint.held_until),
        claimed_by: null,
        claimed_until: null,
        created_at: input.at,
        delivered_at: null,
      })),
    )
    .execute()
  for (const listener of listeners) queueMicrotask(listener)
  return id
}
