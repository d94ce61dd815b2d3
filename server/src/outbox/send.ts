/**
 * Sending a claimed text, or deciding not to, and what to write about it. Nothing is written
 * here: the worker records the outcome in the same commit as its next claim.
 * @module
 */
import type { Kysely, Transaction } from 'kysely'
import { CarrierError, type SendResult, type TemplateData } from '../carriers/types'
import {
  readEndpointsFor,
  recordNotSent,
  recordSendFailure,
  recordSentMany,
  type SentText,
} from '../delivery/messages'
import { decrypt } from '../secrets'
import type { Database, OutboxRow } from '../storage'
import { isPostgres } from '../storage/row-insert'
import { writerThreadOf } from '../storage/writer-thread'
import type { EndpointsRead } from '../webhooks/emit'
import { type Claimed, holdClaim } from './claim'
import type { DispatchContext } from './context'
import type { PlainText } from './enqueue'

/**
 * What the dispatcher writes about a text it handled: a text a carrier took (`sent`, recorded
 * with the others of its commit by {@link writeOutcomes}), or any other outcome's own writes.
 */
export interface Outcome {
  write?: (trx: Transaction<Database>) => Promise<void>
  sent?: {
    /** The text, with its outbox row (done once the send is recorded). */
    text: SentText
    /**
     * The carrier's ids of the text: a fast carrier may have reported before our commit, so
     * the dispatcher applies any early report for them once the answer is written.
     */
    carrierMessageIds: string[]
  }
}

/**
 * Writes what the dispatcher learnt since its last commit, inside `trx`: the texts carriers
 * took, their outbox rows done with them, then every other outcome's writes.
 */
export async function writeOutcomes(
  trx: Transaction<Database>,
  outcomes: readonly Outcome[],
  /** Webhook endpoints read already (by {@link writeSentAlone}), not read again. */
  endpoints: EndpointsRead = new Map(),
): Promise<void> {
  const sent = outcomes.flatMap((outcome) => (outcome.sent ? [outcome.sent.text] : []))
  await recordSentMany(trx, sent, endpoints)
  for (const outcome of outcomes) await outcome.write?.(trx)
}

/**
 * Writes outcomes that are all plain texts a carrier took, when no webhook endpoint wants
 * their statuses, outside a transaction here: on PostgreSQL as one statement (atomic on its
 * own, a sandbox's inbox rows in it too): two round trips (the endpoints' read, the
 * statement) where a transaction takes five; on SQLite with a writer
 * thread, as one transaction there, off the serving thread. Says false, having written
 * nothing, when the outcomes need a transaction (see {@link writeOutcomes}): on SQLite without
 * a writer thread, where commits are shared instead; for a long text's parts, any other
 * outcome, or an event to write.
 */
export async function writeSentAlone(
  db: Kysely<Database>,
  outcomes: readonly Outcome[],
  endpoints: EndpointsRead,
): Promise<boolean> {
  if (outcomes.length === 0 || !(isPostgres(db) || writerThreadOf(db))) return false
  const sent: SentText[] = []
  for (const { sent: text, write } of outcomes) {
    if (write || !text || (text.text.result.sentParts?.length ?? 0) > 1) return false
    sent.push(text.text)
  }
  if (await readEndpointsFor(db, sent, endpoints)) return false
  await recordSentMany(db, sent, endpoints)
  return true
}

const BACKOFF_BASE_MS = 1_000
const BACKOFF_CAP_MS = 5 * 60_000

/** Full-jitter exponential backoff: uniform in [0, min(cap, base·2^attempt)]. */
export function backoffMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt))
}

/** Sends a claimed text (or decides not to) and says what to write about it. */
export async function deliver(ctx: DispatchContext, claimed: Claimed): Promise<Outcome> {
  const { row, message, carrier, noCarrier, stale, expiresAt, plain, country } = claimed
  const { logger, encryptionKey, now } = ctx
  if (!message.body_encrypted) {
    return {
      write: async (trx) => {
        await trx.updateTable('outbox').set({ state: 'done' }).where('id', '=', row.id).execute()
      },
    }
  }
  if (stale) return { write: drop(ctx, row, message.id, stale) }
  if (!carrier) return { write: fail(ctx, row, message.id, null, noCarrier) }
  if (message.status === 'sending') {
    // Claimed before by a process that died (or lost its claim) mid-send: the carrier may
    // already have this text. Sending again is the price of losing nothing.
    logger.warn({ messageId: message.id, carrier: message.carrier }, 'resending after a crash')
  }
  const release = holdClaim(ctx, row)
  let result: SendResult
  try {
    result = await carrier.send({
      id: message.id,
      to: message.to,
      // Handed over in memory, the text is still in clear: no decryption.
      body: plain?.body ?? decrypt(encryptionKey, message.body_encrypted),
      sealedBody: message.body_encrypted,
      // A sandbox's inbox row is written with the record of the send (recordSentMany).
      rowsWithRecord: true,
      projectId: message.project_id,
      mode: message.mode,
      country,
      expiresAt: expiresAt || undefined,
      template: templateOf(message, plain, encryptionKey),
    })
  } catch (error) {
    return { write: fail(ctx, row, message.id, carrier.id, error) }
  } finally {
    release()
  }
  const at = now()
  // A router names the adapter that actually took the message.
  const carrierId = result.carrier ?? carrier.id
  const sentIds = [
    ...new Set([
      result.carrierMessageId,
      ...(result.sentParts ?? []).map((p) => p.carrierMessageId),
    ]),
  ]
  return {
    sent: {
      text: { message, carrier: carrierId, result, at, outboxId: row.id },
      carrierMessageIds: sentIds,
    },
  }
}

/** The template data a template-only carrier needs, if the text has any. */
function templateOf(
  message: Claimed['message'],
  plain: PlainText | undefined,
  encryptionKey: Buffer,
): TemplateData | undefined {
  if (plain) return plain.template || undefined
  if (!message.template_encrypted) return undefined
  return JSON.parse(decrypt(encryptionKey, message.template_encrypted)) as TemplateData
}

/** Gives up a text that is no use any more, without a carrier seeing it. */
function drop(
  ctx: DispatchContext,
  row: OutboxRow,
  messageId: string,
  reason: string,
): Outcome['write'] {
  const at = ctx.now()
  ctx.logger.info({ messageId, reason }, 'text not sent')
  return async (trx) => {
    await trx
      .updateTable('outbox')
      .set({ state: 'dead', claimed_until: null, last_error: reason })
      .where('id', '=', row.id)
      .execute()
    await recordNotSent(trx, messageId, reason, at)
  }
}

/** A failed send: retried after a backoff, or given up when permanent or tried too often. */
function fail(
  ctx: DispatchContext,
  row: OutboxRow,
  messageId: string,
  carrierId: string | null,
  error: unknown,
): Outcome['write'] {
  const permanent = error instanceof CarrierError && error.permanent
  const reason = error instanceof Error ? error.message : String(error)
  const attempts = row.attempts + 1
  const giveUp = permanent || attempts >= ctx.maxAttempts
  const at = ctx.now()
  ctx.logger.warn(
    { messageId, carrier: carrierId, attempt: attempts, permanent, giveUp, err: reason },
    'carrier send failed',
  )
  const retryAfter = error instanceof CarrierError ? (error.retryAfterMs ?? 0) : 0
  return async (trx) => {
    await trx
      .updateTable('outbox')
      .set({
        state: giveUp ? 'dead' : 'pending',
        attempts,
        available_at: at + Math.max(retryAfter, backoffMs(attempts)),
        claimed_until: null,
        last_error: reason.slice(0, 500),
      })
      .where('id', '=', row.id)
      .execute()
    await recordSendFailure(trx, {
      messageId,
      giveUp,
      reason,
      errorCode: error instanceof CarrierError ? (error.code ?? null) : null,
      at,
    })
  }
}
