import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// Housekeeping deletes rows past their time every ten minutes. Without an index on that time,
// each delete read the whole table, on SQLite synchronously on the serving thread (500,000
// sandbox texts: about 180 ms, every run). The tables written on every start (verifications,
// messages, fraud_events) get no new index: their clean-ups go through (project_id, created_at).
const INDEXES = [
  ['redeemed_tokens_expiry', 'redeemed_tokens', 'expires_at'],
  ['idempotency_keys_expiry', 'idempotency_keys', 'expires_at'],
  ['fraud_spent_challenges_expiry', 'fraud_spent_challenges', 'expires_at'],
  ['callback_replays_expiry', 'callback_replays', 'expires_at'],
  ['sandbox_messages_time', 'sandbox_messages', 'created_at'],
] as const

export async function up(db: Kysely<any>): Promise<void> {
  for (const [name, table, column] of INDEXES) {
    await db.schema.createIndex(name).on(table).column(column).execute()
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name] of INDEXES) await db.schema.dropIndex(name).execute()
}
