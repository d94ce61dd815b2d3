import type { Kysely } from 'kysely'

// Frozen: never import application code here.
// Delivery reports that arrive before the dispatcher stored the carrier's message id (fast
// carriers call back within milliseconds): held until the id is known, then applied.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('early_reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('carrier', 'text', (c) => c.notNull())
    .addColumn('carrier_message_id', 'text', (c) => c.notNull())
    .addColumn('report', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('early_reports_message')
    .on('early_reports')
    .columns(['carrier', 'carrier_message_id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('early_reports').execute()
}
