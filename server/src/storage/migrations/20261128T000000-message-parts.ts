import type { Kysely } from 'kysely'

// Frozen: never import application code here.
// Long texts go out as several parts, each with its own carrier id and its own delivery report
// (Vonage answers one message-id per part; SMPP takes one submit_sm per UDH part). Each part id
// maps to its message, durably, so a report for any part finds it in any process, after restarts.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('message_parts')
    .addColumn('carrier', 'text', (c) => c.notNull())
    .addColumn('carrier_message_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id'))
    .addColumn('part', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_at', 'bigint')
    .addColumn('error_code', 'text')
    .addColumn('cost_amount', 'text')
    .addColumn('cost_currency', 'text')
    .addPrimaryKeyConstraint('message_parts_pk', ['carrier', 'carrier_message_id'])
    .execute()
  await db.schema
    .createIndex('message_parts_message')
    .on('message_parts')
    .columns(['message_id', 'part'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('message_parts').execute()
}
