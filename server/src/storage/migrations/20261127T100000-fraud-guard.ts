import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// The fraud guard: per-project settings, risk on each verification, atomic counters,
// allow/block lists, the decision log, and spent proof-of-work challenges.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('projects').addColumn('fraud_settings', 'text').execute()
  await db.schema.alterTable('verifications').addColumn('risk_decision', 'text').execute()
  await db.schema.alterTable('verifications').addColumn('risk_reasons', 'text').execute()

  await db.schema
    .createTable('fraud_counters')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('fraud_counters_pk', ['key', 'bucket'])
    .execute()
  await db.schema
    .createIndex('fraud_counters_expiry')
    .on('fraud_counters')
    .column('expires_at')
    .execute()

  await db.schema
    .createTable('fraud_list_entries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // '*' for entries that apply to every project.
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('list', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('fraud_list_entries_unique', ['project_id', 'list', 'kind', 'value'])
    .execute()

  await db.schema
    .createTable('fraud_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('verification_id', 'text')
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('country', 'text', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('shadow_reasons', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('fraud_events_project_time')
    .on('fraud_events')
    .columns(['project_id', 'created_at'])
    .execute()

  await db.schema
    .createTable('fraud_spent_challenges')
    .addColumn('signature', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('fraud_spent_challenges').execute()
  await db.schema.dropTable('fraud_events').execute()
  await db.schema.dropTable('fraud_list_entries').execute()
  await db.schema.dropTable('fraud_counters').execute()
  await db.schema.alterTable('verifications').dropColumn('risk_reasons').execute()
  await db.schema.alterTable('verifications').dropColumn('risk_decision').execute()
  await db.schema.alterTable('projects').dropColumn('fraud_settings').execute()
}
