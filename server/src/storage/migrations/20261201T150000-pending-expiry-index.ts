import { type Kysely, sql } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// The expiry sweep (every 30 s) looks for pending verifications whose code ran out: a partial
// index on the pending rows' expiry, so it reads only those instead of scanning every
// verification ever kept (tens of ms on a busy store, synchronous on SQLite).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('verifications_pending_expiry')
    .on('verifications')
    .column('expires_at')
    .where(sql.ref('status'), '=', 'pending')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('verifications_pending_expiry').execute()
}
