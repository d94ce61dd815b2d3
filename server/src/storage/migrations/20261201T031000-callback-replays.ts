import type { Kysely } from 'kysely'

// Frozen: never import application code here.
// Signatures of signed carrier callbacks already applied, kept while their timestamp is fresh
// (±5 min): a second copy of one is a replay and is not applied again.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('callback_replays')
    .addColumn('carrier', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('callback_replays_pk', ['carrier', 'signature'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('callback_replays').execute()
}
