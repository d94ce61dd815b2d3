/**
 * Erasure by number (GDPR Art. 17): every row that holds the number is removed or masked —
 * verifications, messages, held delivery reports, fraud decisions, sandbox inboxes, replayable
 * idempotency answers, webhook payloads — and operator-made allow/block entries only when asked.
 * Fraud counters need nothing: their keys are keyed HMACs (fraud/counters/keyed.ts). A record
 * that an erasure happened is kept, without the number. On SQLite every write zeroes what it
 * removes (secure_delete; a file from an earlier version is rewritten once) and the WAL is then
 * emptied, so no old copy of a row stays on disk.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { sql, type Transaction } from 'kysely'
import { forgetListCopies } from '../fraud/list-entries'
import { newId } from '../ids'
import { type Database, type Storage, scrubSqliteFreeSpace } from '../storage'

export const ERASED = '[erased]'

export interface ErasureInput {
  /** E.164. */
  phone: string
  /** One project's rows, or '*' for every project's (the command line only). */
  projectId: string
  /** Also remove allow/block list entries for exactly this number. */
  includeLists?: boolean
  /** `cli`, or the id of the secret key that asked. */
  requestedBy: string
  at?: number
}

export interface ErasureResult {
  id: string
  rows: Record<string, number>
}

const count = (result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }) =>
  Number(result.numUpdatedRows ?? result.numDeletedRows ?? 0)

export async function eraseNumber(storage: Storage, input: ErasureInput): Promise<ErasureResult> {
  const { phone, projectId, includeLists = false, requestedBy, at = Date.now() } = input
  const everyProject = projectId === '*'
  const result = await storage.db.transaction().execute(async (trx) => {
    const rows: Record<string, number> = {}
    let verificationQuery = trx.selectFrom('verifications').select('id').where('phone', '=', phone)
    if (!everyProject) verificationQuery = verificationQuery.where('project_id', '=', projectId)
    const verificationIds = (await verificationQuery.execute()).map((row) => row.id)

    let messageQuery = trx
      .selectFrom('messages')
      .select(['id', 'carrier', 'carrier_message_id'])
      .where('to', '=', phone)
    if (!everyProject) messageQuery = messageQuery.where('project_id', '=', projectId)
    const messages = await messageQuery.execute()

    rows.verifications = verificationIds.length
      ? count(
          await trx
            .updateTable('verifications')
            .set({ phone: ERASED, ip: null, signals: null })
            .where('id', 'in', verificationIds)
            .executeTakeFirst(),
        )
      : 0
    rows.messages = messages.length
      ? count(
          await trx
            .updateTable('messages')
            .set({ to: ERASED, body_encrypted: null, template_encrypted: null })
            .where(
              'id',
              'in',
              messages.map((m) => m.id),
            )
            .executeTakeFirst(),
        )
      : 0
    rows.earlyReports = await deleteHeldReports(trx, messages)

    let events = trx.deleteFrom('fraud_events').where('phone', '=', phone)
    if (!everyProject) events = events.where('project_id', '=', projectId)
    rows.fraudEvents = count(await events.executeTakeFirst())

    let sandbox = trx.deleteFrom('sandbox_messages').where('to', '=', phone)
    if (!everyProject) sandbox = sandbox.where('project_id', '=', projectId)
    rows.sandboxMessages = count(await sandbox.executeTakeFirst())

    // The kept answers name their verification: one pass over the table for up to
    // IDS_PER_PASS of them (SQLite parses a chain of ORs as a tree at most 1,000 deep).
    rows.idempotencyKeys = 0
    for (let from = 0; from < verificationIds.length; from += IDS_PER_PASS) {
      const ids = verificationIds.slice(from, from + IDS_PER_PASS)
      rows.idempotencyKeys += count(
        await trx
          .deleteFrom('idempotency_keys')
          .where((eb) => eb.or(ids.map((id) => eb('response_body', 'like', `%"${id}"%`))))
          .executeTakeFirst(),
      )
    }

    // Webhook payloads say the number (verification.approved, consent.marketing): keep the
    // event, without it.
    let hooks = trx
      .updateTable('webhook_messages')
      .set({ payload: sql<string>`replace(payload, ${phone}, ${ERASED})` })
      .where('payload', 'like', `%${phone}%`)
    if (!everyProject) hooks = hooks.where('project_id', '=', projectId)
    rows.webhookMessages = count(await hooks.executeTakeFirst())

    rows.listEntries = 0
    if (includeLists) {
      let lists = trx
        .deleteFrom('fraud_list_entries')
        .where('kind', '=', 'phone')
        .where('value', '=', phone)
      if (!everyProject) lists = lists.where('project_id', '=', projectId)
      rows.listEntries = count(await lists.executeTakeFirst())
    }

    const id = newId('era')
    await trx
      .insertInto('erasures')
      .values({
        id,
        project_id: projectId,
        requested_by: requestedBy,
        rows: JSON.stringify(rows),
        created_at: at,
      })
      .execute()
    return { id, rows }
  })
  // This process's copies of the lists may hold the number: read them again.
  forgetListCopies(storage.db)
  if (storage.dialect === 'sqlite') {
    // The updates and deletes zeroed the number's old copies in the file (every connection runs
    // with secure_delete: see openStorage), unless an earlier version wrote it: then it is
    // rewritten, once. The WAL still holds page images from before: copy them into the file and
    // empty it, so the number is nowhere on disk.
    await scrubSqliteFreeSpace(storage.db)
    await truncateWal(storage)
  }
  return result
}

/**
 * The WAL checkpoint thread (or another process's) may be checkpointing at this moment, and a
 * TRUNCATE then reports `busy` at once: it is tried again until it gets through.
 */
async function truncateWal(storage: Storage): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { rows } = await sql<{
      busy: number
    }>`PRAGMA wal_checkpoint(TRUNCATE)`.execute(storage.db)
    if (rows[0]?.busy === 0 || attempt === TRUNCATE_ATTEMPTS) return
    await sleep(TRUNCATE_RETRY_MS)
  }
}

/** Verification ids a pass over the idempotency answers looks for. */
const IDS_PER_PASS = 200

const TRUNCATE_ATTEMPTS = 40
const TRUNCATE_RETRY_MS = 50

async function deleteHeldReports(
  trx: Transaction<Database>,
  messages: { carrier: string | null; carrier_message_id: string | null }[],
): Promise<number> {
  let removed = 0
  for (const m of messages) {
    if (!m.carrier || !m.carrier_message_id) continue
    removed += count(
      await trx
        .deleteFrom('early_reports')
        .where('carrier', '=', m.carrier)
        .where('carrier_message_id', '=', m.carrier_message_id)
        .executeTakeFirst(),
    )
  }
  return removed
}
