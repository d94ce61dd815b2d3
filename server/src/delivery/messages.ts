/**
 * A message's status, written in one place: queued (or suppressed) when the outbox takes it,
 * sending when a worker claims it, then sent / delivered, queued again for a retry, or failed.
 * Delivery reports move it on from there (./reports, ./parts). Every function writes inside the
 * caller's transaction, so the outbox records a message and its outbox row together.
 * @module
 */
import type { Kysely, Transaction } from 'kysely'
import type { SendResult } from '../carriers/types'
import type { Database, KeyMode } from '../storage'
import { runTemplate } from '../storage/query-templates'
import { insertRow, type RowWriter } from '../storage/row-insert'
import { messageStatusMoved } from '../webhooks/message-status'
import { recordParts } from './parts'

type Writer = Transaction<Database> | Kysely<Database>

export interface NewMessage {
  id: string
  verificationId: string
  projectId: string
  mode: KeyMode
  to: string
  /** Encrypted; null for a suppressed message (no body is kept). */
  bodyEncrypted: string | null
  templateEncrypted: string | null
  encoding: string
  segments: number
  /** A fraud-guard decoy: born `suppressed`, never sent. */
  suppressed: boolean
  now: number
}

/** Writes a new message, `queued` (or `suppressed` for a decoy). */
export async function recordQueued(trx: RowWriter, message: NewMessage): Promise<void> {
  await insertRow(trx, 'messages', {
    id: message.id,
    verification_id: message.verificationId,
    project_id: message.projectId,
    mode: message.mode,
    to: message.to,
    body_encrypted: message.bodyEncrypted,
    template_encrypted: message.templateEncrypted,
    status: message.suppressed ? 'suppressed' : 'queued',
    carrier: null,
    carrier_message_id: null,
    error: message.suppressed ? 'blocked by the fraud guard' : null,
    created_at: message.now,
    sent_at: null,
    delivered_at: null,
    updated_at: message.now,
    encoding: message.encoding,
    segments: message.segments,
  })
}

/** A worker is handing the queued messages to `carrier`. */
export async function recordSending(
  trx: Writer,
  messageIds: string[],
  carrier: string,
  at: number,
): Promise<void> {
  if (messageIds.length === 0) return
  await runTemplate(
    trx,
    `messages.sending:${messageIds.length}`,
    [carrier, at, ...messageIds],
    (v) =>
      trx
        .updateTable('messages')
        .set({ status: 'sending', carrier: v(0), updated_at: v(1) })
        .where(
          'id',
          'in',
          messageIds.map((_, i) => v(i + 2)),
        )
        .where('status', '=', 'queued'),
  )
}

/** The carrier took the message: its answer, the parts of a long text, the body dropped. */
export async function recordSent(
  trx: Writer,
  {
    messageId,
    carrier,
    result,
    at,
  }: { messageId: string; carrier: string; result: SendResult; at: number },
): Promise<void> {
  // Compiled once per kind of answer (see runTemplate): every text sent runs it.
  const values = [
    messageId,
    result.status,
    carrier,
    result.carrierMessageId,
    at,
    result.status === 'delivered' ? at : null,
    result.cost?.amount,
    result.cost?.currency,
    result.parts,
  ]
  await runTemplate(
    trx,
    `messages.sent:${result.cost ? 1 : 0}${result.parts ? 1 : 0}`,
    values,
    (v) =>
      trx
        .updateTable('messages')
        .set({
          status: v(1),
          carrier: v(2),
          carrier_message_id: v(3),
          body_encrypted: null,
          template_encrypted: null,
          sent_at: v(4),
          delivered_at: v(5),
          error: null,
          updated_at: v(4),
          status_at: v(4),
          ...(result.cost ? { cost_amount: v(6), cost_currency: v(7) } : {}),
          // The carrier's own part count, when it states one, is what it bills.
          ...(result.parts ? { segments: v(8) } : {}),
        })
        .where('id', '=', v(0)),
  )
  // Every part's id of a long text, so a report for any part finds the message.
  await recordParts(trx, { messageId, carrier, status: result.status, at }, result.sentParts)
  await messageStatusMoved(trx, messageId, at, { status: result.status, carrier })
}

/** A text that is no use any more (its code expired, its verification is over): never sent. */
export async function recordNotSent(
  trx: Writer,
  messageId: string,
  reason: string,
  at: number,
): Promise<void> {
  await trx
    .updateTable('messages')
    .set({
      status: 'failed',
      error: reason,
      error_code: 'not_sent',
      body_encrypted: null,
      template_encrypted: null,
      updated_at: at,
      failed_at: at,
    })
    .where('id', '=', messageId)
    .execute()
  await messageStatusMoved(trx, messageId, at)
}

/** A send failed: queued again for a retry, or failed for good (`giveUp`, body dropped). */
export async function recordSendFailure(
  trx: Writer,
  failure: {
    messageId: string
    giveUp: boolean
    reason: string
    errorCode: string | null
    at: number
  },
): Promise<void> {
  const { giveUp, at } = failure
  await trx
    .updateTable('messages')
    .set({
      status: giveUp ? 'failed' : 'queued',
      error: failure.reason.slice(0, 500),
      error_code: failure.errorCode,
      body_encrypted: giveUp ? null : undefined,
      template_encrypted: giveUp ? null : undefined,
      updated_at: at,
    })
    .where('id', '=', failure.messageId)
    .execute()
  if (giveUp) await messageStatusMoved(trx, failure.messageId, at)
}
