/**
 * A message's status, written in one place: queued (or suppressed) when the outbox takes it,
 * sending when a worker claims it, then sent / delivered, queued again for a retry, or failed.
 * Delivery reports move it on from there (./reports, ./parts). Every function writes inside the
 * caller's transaction, so the outbox records a message and its outbox row together.
 * @module
 */
import { CompiledQuery, type Kysely, type Selectable } from 'kysely'
import type { SendResult } from '../carriers/types'
import type { Database, DatabaseWriter, KeyMode } from '../storage'
import { sharedBatchedTransactions, withinTransaction } from '../storage/batched-transactions'
import { compileTemplate, runTemplate } from '../storage/query-templates'
import { insertRow, isPostgres, RowBatch, type RowWriter } from '../storage/row-insert'
import { writerThreadOf } from '../storage/writer-thread'
import { anyEndpointWants, type EndpointsRead } from '../webhooks/emit'
import {
  announceMessageStatus,
  isAnnounced,
  messageStatusMoved,
  statusEvent,
} from '../webhooks/message-status'
import { recordParts } from './parts'

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

/** Writes a new message, `queued` (or `suppressed` for a decoy); the row as it was written. */
export async function recordQueued(
  trx: RowWriter,
  message: NewMessage,
): Promise<Selectable<Database['messages']>> {
  // Every column, those that start empty too: the row as it is written is the row returned.
  // (One literal, not the columns written spread into a larger one: on Node 20, an object that
  // starts as a spread copy and then gains properties gets a hidden class of its own, allocated
  // in the old generation, for every message.)
  const row = {
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
    error_code: null,
    cost_amount: null,
    cost_currency: null,
    created_at: message.now,
    sent_at: null,
    delivered_at: null,
    failed_at: null,
    status_at: null,
    updated_at: message.now,
    encoding: message.encoding,
    segments: message.segments,
  } satisfies Selectable<Database['messages']>
  await insertRow(trx, 'messages', row)
  return row
}

/** A worker is handing the queued messages to `carrier`. */
export async function recordSending(
  trx: DatabaseWriter,
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

/** A text a carrier took, as the dispatcher records it with the others of its commit. */
export interface SentText {
  /** The message as it was claimed (status `sending`): nothing else writes it until this. */
  message: Selectable<Database['messages']>
  /** The adapter that took it. */
  carrier: string
  result: SendResult
  /** When the carrier answered. */
  at: number
  /** Its outbox row, done with it. */
  outboxId: string
}

/** The values of one text in {@link recordSentMany}'s statement, in its columns' order. */
const SENT_COLUMNS = [
  ['id', 'text'],
  ['status', 'text'],
  ['carrier', 'text'],
  ['carrier_message_id', 'text'],
  ['at', 'bigint'],
  ['delivered_at', 'bigint'],
  ['cost_amount', 'text'],
  ['cost_currency', 'text'],
  ['segments', 'integer'],
  ['outbox_id', 'text'],
] as const

const sentManySql = new Map<string, string>()

/**
 * `with v(…) as (values …) update messages … from v`, for `count` texts: SQLite and PostgreSQL
 * both take it (PostgreSQL with the first row's types spelt out, as its VALUES has no table to
 * infer them from). On PostgreSQL a data-modifying `with` also marks the texts' outbox rows
 * done in the same statement; SQLite's `with` can only read, so there that is a second one.
 */
function sentManyStatement(postgres: boolean, count: number): string {
  const key = `${postgres ? 'pg' : 'sqlite'}:${count}`
  let statement = sentManySql.get(key)
  if (statement) return statement
  let n = 0
  const rows = Array.from(
    { length: count },
    (_, row) =>
      `(${SENT_COLUMNS.map(([, type]) => {
        n++
        if (!postgres) return '?'
        return row === 0 ? `$${n}::${type}` : `$${n}`
      }).join(', ')})`,
  )
  const outboxDone = postgres
    ? ', "o" as (update "outbox" set "state" = \'done\', "claimed_until" = null, ' +
      '"last_error" = null from "v" where "outbox"."id" = "v"."outbox_id")'
    : ''
  statement =
    `with "v" (${SENT_COLUMNS.map(([name]) => `"${name}"`).join(', ')}) as (values ${rows.join(', ')})${outboxDone} ` +
    'update "messages" set "status" = "v"."status", "carrier" = "v"."carrier", ' +
    '"carrier_message_id" = "v"."carrier_message_id", "body_encrypted" = null, ' +
    '"template_encrypted" = null, "sent_at" = "v"."at", "delivered_at" = "v"."delivered_at", ' +
    '"error" = null, "updated_at" = "v"."at", "status_at" = "v"."at", ' +
    '"cost_amount" = coalesce("v"."cost_amount", "messages"."cost_amount"), ' +
    '"cost_currency" = coalesce("v"."cost_currency", "messages"."cost_currency"), ' +
    '"segments" = coalesce("v"."segments", "messages"."segments") ' +
    'from "v" where "messages"."id" = "v"."id"'
  if (sentManySql.size > 64) sentManySql.clear()
  sentManySql.set(key, statement)
  return statement
}

/**
 * Records the texts the carriers took since the dispatcher's last commit, in one statement for
 * them all: each text's body dropped, the carrier's answer kept, and its cost and part count
 * where the carrier stated them, and its outbox row done (in the same statement on PostgreSQL,
 * a second one on SQLite). Long texts' part ids follow, then each status is announced from what
 * was claimed and written, with no read back; the batch's events read each project's webhook
 * endpoints once (or not at all, when `endpoints` holds them already: see
 * {@link readEndpointsFor}).
 */
export async function recordSentMany(
  trx: DatabaseWriter,
  texts: readonly SentText[],
  endpoints: EndpointsRead = new Map(),
): Promise<void> {
  if (texts.length === 0) return
  const values: unknown[] = []
  for (const { message, carrier, result, at, outboxId } of texts) {
    values.push(
      message.id,
      result.status,
      carrier,
      result.carrierMessageId,
      at,
      result.status === 'delivered' ? at : null,
      result.cost?.amount ?? null,
      result.cost?.currency ?? null,
      // The carrier's own part count, when it states one, is what it bills.
      result.parts || null,
      outboxId,
    )
  }
  // What sandbox sends are (their inbox rows), written first, in the same commit where there
  // is one (a transaction, or the SQLite writer thread's).
  const rows = RowBatch.merge(texts.flatMap(({ result }) => (result.rows ? [result.rows] : [])))
  const postgres = isPostgres(trx)
  const sent = CompiledQuery.raw(sentManyStatement(postgres, texts.length), values)
  if (postgres) {
    // The inbox rows and the record land together, as one statement (the rows' inserts as its
    // first CTEs: atomic without a transaction, one round trip where a transaction of its own
    // took four); failing that, in the caller's transaction or one of their own.
    const together = rows.isEmpty ? sent : rows.beforeStatement(trx, `sent:${texts.length}`, sent)
    if (together) await trx.executeQuery(together)
    else
      await withinTransaction(trx, async (inner) => {
        await rows.write(inner)
        await inner.executeQuery(sent)
      })
  } else {
    const ids = texts.map((text) => text.outboxId)
    const done = compileTemplate(trx, `outbox.done:${ids.length}`, ids, (v) =>
      trx
        .updateTable('outbox')
        .set({ state: 'done', claimed_until: null, last_error: null })
        .where(
          'id',
          'in',
          ids.map((_, i) => v(i)),
        ),
    )
    // Outside a transaction, with a SQLite writer thread: both statements in one transaction
    // there (see writeSentAlone).
    const writer = trx.isTransaction ? undefined : writerThreadOf(trx)
    const rowStatements = writer ? rows.sqliteStatements(trx) : null
    if (writer && rowStatements) {
      // In the writer thread's transaction of the starts of the moment, after their rows.
      await sharedBatchedTransactions(trx as Kysely<Database>).writeStatements([
        ...rowStatements,
        [sent.sql, sent.parameters],
        [done.sql, done.parameters],
      ])
    } else if (rows.isEmpty) {
      await trx.executeQuery(sent)
      await trx.executeQuery(done)
    } else {
      await withinTransaction(trx, async (inner) => {
        await rows.write(inner)
        await inner.executeQuery(sent)
        await inner.executeQuery(done)
      })
    }
  }
  for (const { message, carrier, result, at } of texts) {
    await recordParts(
      trx,
      { messageId: message.id, carrier, status: result.status, at },
      result.sentParts,
    )
    await announceMessageStatus(
      trx,
      {
        id: message.id,
        verification_id: message.verification_id,
        project_id: message.project_id,
        mode: message.mode,
        to: message.to,
        status: result.status,
        carrier,
        error_code: message.error_code,
        segments: result.parts || message.segments,
        created_at: message.created_at,
        delivered_at: result.status === 'delivered' ? at : null,
      },
      at,
      endpoints,
    )
  }
}

/**
 * Reads, outside any transaction, the webhook endpoints the texts' statuses would be announced
 * to, into `endpoints`, and says whether any of them wants one of those events: when none does,
 * {@link recordSentMany} writes nothing but its statement (no transaction needed on PostgreSQL).
 * An endpoint added between this read and that statement misses those events, as one added
 * during a READ COMMITTED transaction's own read would.
 */
export async function readEndpointsFor(
  db: Kysely<Database>,
  texts: readonly SentText[],
  endpoints: EndpointsRead,
): Promise<boolean> {
  let wanted = false
  for (const { message, result } of texts) {
    if (!isAnnounced(result.status)) continue
    const types = [statusEvent(result.status)]
    if (await anyEndpointWants(db, message.project_id, message.mode, types, endpoints))
      wanted = true
  }
  return wanted
}

/** A text that is no use any more (its code expired, its verification is over): never sent. */
export async function recordNotSent(
  trx: DatabaseWriter,
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
  trx: DatabaseWriter,
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
