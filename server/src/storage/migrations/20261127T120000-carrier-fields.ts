import type { Kysely } from 'kysely'

// Frozen: never import application code here. What delivery reports and carriers tell us about
// each message: the carrier's error code, the price, the encoding and part count, and when the
// last status was reported.
export async function up(db: Kysely<any>): Promise<void> {
  for (const [name, type] of [
    ['error_code', 'text'],
    ['cost_amount', 'text'],
    ['cost_currency', 'text'],
    ['encoding', 'text'],
    ['segments', 'integer'],
    ['failed_at', 'bigint'],
    ['status_at', 'bigint'],
  ] as const) {
    await db.schema.alterTable('messages').addColumn(name, type).execute()
  }
  // Delivery reports find their message by the carrier's id.
  await db.schema
    .createIndex('messages_carrier_message')
    .on('messages')
    .columns(['carrier', 'carrier_message_id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('messages_carrier_message').execute()
  for (const name of [
    'status_at',
    'failed_at',
    'segments',
    'encoding',
    'cost_currency',
    'cost_amount',
    'error_code',
  ]) {
    await db.schema.alterTable('messages').dropColumn(name).execute()
  }
}
