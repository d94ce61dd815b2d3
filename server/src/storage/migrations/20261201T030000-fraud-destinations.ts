import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// Fraud guard round 2: the caller's signals with each verification, figures with each decision,
// the per-project baseline of verified shoppers per destination, and open restrictions.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('verifications').addColumn('signals', 'text').execute()
  await db.schema.alterTable('fraud_events').addColumn('figures', 'text').execute()

  // EWMA of verified shoppers per hour, per destination (`country:NG`, `prefix:+234803`) and
  // slot: 0-167 the hour of the week, 168 every hour.
  await db.schema
    .createTable('fraud_baselines')
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('slot', 'integer', (c) => c.notNull())
    .addColumn('ewma', 'double precision', (c) => c.notNull())
    // The period (hour or week number) `count` belongs to, not yet folded into `ewma`.
    .addColumn('period', 'bigint', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('fraud_baselines_pk', ['project_id', 'subject', 'slot'])
    .execute()

  // One row per destination restricted now; deleting it is lifting the restriction.
  await db.schema
    .createTable('fraud_restrictions')
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('figures', 'text', (c) => c.notNull())
    .addColumn('since', 'bigint', (c) => c.notNull())
    // Half-open: probes let through so far, and when the next one may go.
    .addColumn('probes', 'integer', (c) => c.notNull())
    .addColumn('next_probe_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('fraud_restrictions_pk', ['project_id', 'subject'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('fraud_restrictions').execute()
  await db.schema.dropTable('fraud_baselines').execute()
  await db.schema.alterTable('fraud_events').dropColumn('figures').execute()
  await db.schema.alterTable('verifications').dropColumn('signals').execute()
}
