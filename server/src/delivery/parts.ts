/**
 * Texts sent in several parts, each with its own carrier id and its own delivery reports
 * (Vonage answers one `message-id` per part; SMPP takes one submit_sm per UDH part). The
 * dispatcher stores every part id with the send ({@link recordParts}); a report for any part
 * moves that part forward, then its message by the aggregate rule ({@link aggregateParts}):
 *
 * - `failed` / `undelivered` as soon as any part failed: a text with a piece missing may lack
 *   the very code the shopper waits for, and the operator should see it at once;
 * - `delivered` only once every part was delivered, at the time the last one was;
 * - otherwise the message stays `sent`.
 *
 * The message still only moves forward: once failed, a later delivery of another part does not
 * revive it, and duplicate or out-of-order part reports change nothing. Cost: a part costs what
 * its latest report stated, else what the send answer stated; the message costs the sum over
 * its parts once every part has a price in one currency (until then, what the send stated).
 * @module
 */
import type { Kysely, Transaction } from 'kysely'
import { sumDecimals } from '../carriers/money'
import type { Cost, DeliveryReport, SentPart } from '../carriers/types'
import type { Database, DatabaseWriter, MessagePartStatus, MessagePartTable } from '../storage'
import { withinTransaction } from '../storage/batched-transactions'
import { runTemplate } from '../storage/query-templates'
import { messageStatusMoved } from '../webhooks/message-status'
import { statusesBefore } from './status-order'

const PART_STATUSES: MessagePartStatus[] = ['sent', 'delivered', 'failed', 'undelivered']

/** What the aggregate rule reads of each part. */
export type PartState = Pick<
  MessagePartTable,
  'part' | 'status' | 'status_at' | 'error_code' | 'cost_amount' | 'cost_currency'
>

/** A message's status as its parts make it (see the module comment for the rule). */
export interface PartsAggregate {
  status: MessagePartStatus
  /** When that status was reached: the failing part's time, or the last delivery's. */
  at: number | null
  errorCode: string | null
  /** The failed part (1-based), when one failed. */
  failedPart?: number
  /** The sum over parts, when every part has a price in one currency. */
  cost?: Cost
}

/** Applies the aggregate rule to a message's parts. */
export function aggregateParts(parts: PartState[]): PartsAggregate {
  const failed = parts
    .filter((p) => p.status === 'failed' || p.status === 'undelivered')
    .sort((a, b) => Number(a.status_at ?? 0) - Number(b.status_at ?? 0) || a.part - b.part)[0]
  const aggregate: PartsAggregate = failed
    ? {
        status: failed.status,
        at: failed.status_at === null ? null : Number(failed.status_at),
        errorCode: failed.error_code,
        failedPart: failed.part,
      }
    : parts.length > 0 && parts.every((p) => p.status === 'delivered')
      ? {
          status: 'delivered',
          at: Math.max(...parts.map((p) => Number(p.status_at ?? 0))),
          errorCode: null,
        }
      : { status: 'sent', at: null, errorCode: null }
  const currencies = new Set(parts.map((p) => p.cost_currency))
  const [currency] = currencies
  if (parts.length > 0 && currencies.size === 1 && currency && parts.every((p) => p.cost_amount)) {
    aggregate.cost = { amount: sumDecimals(parts.map((p) => p.cost_amount!)), currency }
  }
  return aggregate
}

/**
 * Stores the part ids of a message the carrier took in parts; call in the transaction that
 * records the send. Texts of one part need no rows: their report names the message's own id.
 */
export async function recordParts(
  trx: Transaction<Database> | Kysely<Database>,
  sent: { messageId: string; carrier: string; status: MessagePartStatus; at: number },
  parts: SentPart[] | undefined,
): Promise<void> {
  if (!parts || parts.length < 2) return
  await trx
    .insertInto('message_parts')
    .values(
      parts.map((part, index) => ({
        carrier: sent.carrier,
        carrier_message_id: part.carrierMessageId,
        message_id: sent.messageId,
        part: index + 1,
        status: sent.status,
        status_at: sent.at,
        error_code: null,
        cost_amount: part.cost?.amount ?? null,
        cost_currency: part.cost?.currency ?? null,
      })),
    )
    // A carrier that reuses an id must not make the send look failed (and be sent again).
    .onConflict((oc) => oc.columns(['carrier', 'carrier_message_id']).doNothing())
    .execute()
}

/** The message a part id of `carrier` belongs to, if it is one. */
export async function findPart(
  db: DatabaseWriter,
  carrier: string,
  carrierMessageId: string,
): Promise<{ messageId: string; part: number } | undefined> {
  // Every report asks this (most name a whole text): compiled once (see runTemplate).
  const [row] = await runTemplate(db, 'parts.find', [carrier, carrierMessageId], (v) =>
    db
      .selectFrom('message_parts')
      .select(['message_id', 'part'])
      .where('carrier', '=', v(0))
      .where('carrier_message_id', '=', v(1)),
  )
  return row && { messageId: row.message_id, part: row.part }
}

/**
 * Applies a report for a stored part: moves the part forward, then its message by the
 * aggregate rule, in one transaction. Returns false when the report changed nothing
 * (a duplicate, or older than what the part already says).
 */
export async function applyPartReport(
  db: DatabaseWriter,
  carrier: string,
  report: DeliveryReport,
  now: number,
): Promise<boolean> {
  const before = statusesBefore(report.status).filter((s): s is MessagePartStatus =>
    (PART_STATUSES as string[]).includes(s),
  )
  // Parts are stored as `sent`: a `sent` report for one is always old news.
  if (before.length === 0) return false
  return withinTransaction(db, async (trx) => {
    const moved = await trx
      .updateTable('message_parts')
      .set({
        status: report.status,
        status_at: report.at,
        ...(report.errorCode ? { error_code: report.errorCode } : {}),
        ...(report.cost
          ? { cost_amount: report.cost.amount, cost_currency: report.cost.currency }
          : {}),
      })
      .where('carrier', '=', carrier)
      .where('carrier_message_id', '=', report.carrierMessageId)
      .where('status', 'in', before)
      .returning(['message_id'])
      .executeTakeFirst()
    if (!moved) return false
    const messageId = moved.message_id
    // Locks the message row (PostgreSQL): reports for other parts of it wait here, and each
    // reads below every part update committed before it, so the last one sees them all.
    await trx.updateTable('messages').set({ updated_at: now }).where('id', '=', messageId).execute()
    const parts = await trx
      .selectFrom('message_parts')
      .select(['part', 'status', 'status_at', 'error_code', 'cost_amount', 'cost_currency'])
      .where('message_id', '=', messageId)
      .orderBy('part')
      .execute()
    const aggregate = aggregateParts(parts)
    if (aggregate.cost) {
      await trx
        .updateTable('messages')
        .set({ cost_amount: aggregate.cost.amount, cost_currency: aggregate.cost.currency })
        .where('id', '=', messageId)
        .execute()
    }
    if (aggregate.status === 'sent') return true
    const at = aggregate.at ?? report.at
    const failed = aggregate.status !== 'delivered'
    const settled = await trx
      .updateTable('messages')
      .set({
        status: aggregate.status,
        status_at: at,
        ...(failed
          ? {
              failed_at: at,
              error: `${carrier} reported ${aggregate.status} for part ${aggregate.failedPart} of ${parts.length}${aggregate.errorCode ? ` (error ${aggregate.errorCode})` : ''}`,
              ...(aggregate.errorCode ? { error_code: aggregate.errorCode } : {}),
            }
          : { delivered_at: at }),
        // A final status means the text is out of our hands: never keep its body.
        body_encrypted: null,
        template_encrypted: null,
      })
      .where('id', '=', messageId)
      .where('status', 'in', statusesBefore(aggregate.status))
      .executeTakeFirst()
    if (Number(settled.numUpdatedRows) > 0) await messageStatusMoved(trx, messageId, at)
    return true
  })
}
