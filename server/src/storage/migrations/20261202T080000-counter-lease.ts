import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// The fraud counters' sole-writer lease: while one server process runs alone on a database it
// holds the lease and keeps the counters in memory, writing them behind; every process says it
// is alive in fraud_counter_processes, and a holder that sees another one hands the counters
// back to the table (fraud/counters/lease.ts).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('fraud_counter_processes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('seen_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('fraud_counter_lease')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
  // Its one row is written by the first process to take the lease.
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('fraud_counter_lease').execute()
  await db.schema.dropTable('fraud_counter_processes').execute()
}
