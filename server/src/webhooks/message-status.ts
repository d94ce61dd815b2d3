/**
 * What happens when a code text reaches a status worth telling: `message.delivered` or
 * `message.failed` for the store, and the texts and delivery-latency metrics. Called by every
 * writer of a message's status, inside its transaction, right after the status moved.
 * @module
 */
import type { Kysely, Selectable, Transaction } from 'kysely'
import { codeLabel, deliveryLatency, messagesTotal } from '../metrics'
import type { Database } from '../storage'
import { runTemplate } from '../storage/query-templates'
import { type EndpointsRead, emitWebhookEvent } from './emit'

const iso = (ms: number) => new Date(ms).toISOString()

/** Reads the message as it now is and raises its event (delivered, undelivered, failed). */
export async function messageStatusMoved(
  trx: Transaction<Database> | Kysely<Database>,
  messageId: string,
  at: number,
): Promise<void> {
  const [message] = await runTemplate(trx, 'messages.statusRead', [messageId], (v) =>
    trx
      .selectFrom('messages')
      .select([
        'id',
        'verification_id',
        'project_id',
        'mode',
        'to',
        'status',
        'carrier',
        'error_code',
        'segments',
        'created_at',
        'delivered_at',
      ])
      .where('id', '=', v(0)),
  )
  if (message) await announceMessageStatus(trx, message, at)
}

/** The statuses announced to webhooks. */
export type AnnouncedStatus = 'delivered' | 'failed' | 'undelivered'

/** Whether a message's status is announced: delivered, failed or undelivered. */
export function isAnnounced(status: string): status is AnnouncedStatus {
  return status === 'delivered' || status === 'failed' || status === 'undelivered'
}

/** The event an announced status raises (undelivered is a `message.failed`). */
export function statusEvent(status: AnnouncedStatus): 'message.delivered' | 'message.failed' {
  return status === 'delivered' ? 'message.delivered' : 'message.failed'
}

/** What an announcement says of a message: its row as it now is. */
export type MessageNow = Pick<
  Selectable<Database['messages']>,
  | 'id'
  | 'verification_id'
  | 'project_id'
  | 'mode'
  | 'to'
  | 'status'
  | 'carrier'
  | 'error_code'
  | 'segments'
  | 'created_at'
  | 'delivered_at'
>

/**
 * Counts the message's status and raises its event (delivered, undelivered, failed), from its
 * row as the caller knows it now is: the dispatcher, which has just written what it sent, needs
 * no read back. `endpoints` shares the webhook endpoints read between a batch's messages.
 */
export async function announceMessageStatus(
  trx: Transaction<Database> | Kysely<Database>,
  message: MessageNow,
  at: number,
  endpoints?: EndpointsRead,
): Promise<void> {
  const carrier = codeLabel(message.carrier ?? 'none')
  messagesTotal.inc({ carrier, status: message.status })
  if (message.status === 'delivered' && message.delivered_at !== null) {
    deliveryLatency.observe(
      { carrier },
      Math.max(0, message.delivered_at - message.created_at) / 1000,
    )
  }
  const { status } = message
  if (!isAnnounced(status)) return
  const data = {
    messageId: message.id,
    verificationId: message.verification_id,
    to: message.to,
    carrier: message.carrier,
    status,
    errorCode: message.error_code,
    segments: message.segments,
    at: iso(at),
  }
  await emitWebhookEvent(
    trx,
    {
      projectId: message.project_id,
      mode: message.mode,
      type: statusEvent(status),
      data,
      orderKey: message.verification_id,
      at,
    },
    endpoints,
  )
}
