import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// An endpoint that answered 429, 502, 503 or 504 is held until its retry time: none of its
// deliveries, however recent, is claimed before. Existing endpoints are not held.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('webhook_endpoints').addColumn('held_until', 'bigint').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('webhook_endpoints').dropColumn('held_until').execute()
}
