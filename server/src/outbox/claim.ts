/**
 * Claiming due outbox rows: the rows, their texts and the state of their codes, in one
 * transaction. Claims expire, so rows held by a process that crashed are picked up again.
 * @module
 */
import type { Kysely, Selectable, Transaction } from 'kysely'
import type { CarrierAdapter } from '../carriers/types'
import { recordSending } from '../delivery/messages'
import type { Database, OutboxRow } from '../storage'
import { runTemplate } from '../storage/query-templates'
import type { DispatchContext } from './context'
import type { PlainText } from './enqueue'

export interface Claimed {
  row: OutboxRow
  message: Selectable<Database['messages']>
  /** The adapter for the text; absent for a decoy (no body) or when none can take it. */
  carrier?: CarrierAdapter
  /** Why no adapter can take the text (carrierFor threw). */
  noCarrier?: unknown
  /** Why the text is not worth sending any more. */
  stale?: string
  /** When the code in the text stops working. */
  expiresAt?: number
  /** The country its verification was counted as (the router's `countries` match it). */
  country?: string
  /** The body and template in clear, when handed over in memory (no decryption needed). */
  plain?: PlainText
}

/**
 * Claims up to `limit` due rows, oldest first, and marks their texts as being sent, inside
 * `trx`: one statement claims them all, one reads their texts, one marks them per carrier.
 * Empty when nothing is due.
 */
export async function claimDue(
  ctx: DispatchContext,
  trx: Transaction<Database>,
  at: number,
  limit: number,
): Promise<Claimed[]> {
  if (limit < 1) return []
  // Compiled once (see runTemplate): the dispatcher runs it for every batch of texts.
  const rows = await runTemplate(
    trx,
    'outbox.claim',
    [ctx.workerId, at + ctx.claimMs, at, limit],
    (v) => {
      let due = trx
        .selectFrom('outbox')
        .select('id')
        .where('state', '=', 'pending')
        .where('available_at', '<=', v(2))
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', v(2))]))
        .orderBy('available_at')
        .limit(v(3))
      // Several processes share one PostgreSQL: each takes rows the others have not locked.
      if (ctx.dialect === 'postgres') due = due.forUpdate().skipLocked()
      return trx
        .updateTable('outbox')
        .set({ claimed_by: v(0), claimed_until: v(1) })
        .where('id', 'in', due)
        .returningAll()
    },
  )
  if (rows.length === 0) return []
  rows.sort((a, b) => Number(a.available_at) - Number(b.available_at))
  // The texts and the state of their codes, in one read.
  const found = await runTemplate(
    trx,
    `outbox.claimedTexts:${rows.length}`,
    rows.map((row) => row.message_id),
    (v) =>
      trx
        .selectFrom('messages')
        .leftJoin('verifications', 'verifications.id', 'messages.verification_id')
        .selectAll('messages')
        .select([
          'verifications.status as verification_status',
          'verifications.expires_at as verification_expires_at',
          'verifications.country as verification_country',
        ])
        .where(
          'messages.id',
          'in',
          rows.map((_, i) => v(i)),
        ),
  )
  const byId = new Map(found.map((m) => [m.id, m]))
  const sending = new Map<string, string[]>()
  const claimed = rows.map((row): Claimed => {
    const read = byId.get(row.message_id)
    if (!read) throw new Error(`[textgate] [outbox] row ${row.id} has no message`)
    const { verification_status, verification_expires_at, verification_country, ...message } = read
    if (!message.body_encrypted) return { row, message }
    // A code that can no longer be used is not worth a text (a long outage, or a resend
    // still queued when the shopper already verified with the earlier code).
    if (verification_expires_at === null || verification_expires_at <= at) {
      return { row, message, stale: 'the code expired before it could be sent' }
    }
    if (verification_status !== 'pending') {
      return { row, message, stale: `the verification is already ${verification_status}` }
    }
    let carrier: CarrierAdapter
    try {
      carrier = ctx.carrierFor(message.mode, message.to)
    } catch (error) {
      return { row, message, noCarrier: error }
    }
    const ids = sending.get(carrier.id)
    if (ids) ids.push(message.id)
    else sending.set(carrier.id, [message.id])
    const country = verification_country ?? undefined
    return { row, message, carrier, expiresAt: verification_expires_at, country }
  })
  for (const [carrier, ids] of sending) await recordSending(trx, ids, carrier, at)
  return claimed
}

/** Keeps the claim on `row` alive while its send is under way (a slow carrier, failovers). */
export function holdClaim(ctx: DispatchContext, row: OutboxRow): () => void {
  const timer = setInterval(
    () => {
      ctx.db
        .updateTable('outbox')
        .set({ claimed_until: ctx.now() + ctx.claimMs })
        .where('id', '=', row.id)
        .where('claimed_by', '=', ctx.workerId)
        .where('state', '=', 'pending')
        .execute()
        .catch((error: unknown) => ctx.logger.warn({ err: error, row: row.id }, 'claim renewal'))
    },
    Math.max(250, Math.floor(ctx.claimMs / 3)),
  )
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * Clears this dispatcher's claims on `ids` (texts it will not send after all), so any process's
 * next claim takes them at once instead of when the claims expire.
 */
export async function releaseClaims(
  ctx: DispatchContext,
  db: Transaction<Database> | Kysely<Database>,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return
  await db
    .updateTable('outbox')
    .set({ claimed_by: null, claimed_until: null })
    .where('id', 'in', ids)
    .where('claimed_by', '=', ctx.workerId)
    .where('state', '=', 'pending')
    .execute()
}
