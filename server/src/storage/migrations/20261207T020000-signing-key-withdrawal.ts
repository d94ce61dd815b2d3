import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// A signing key withdrawn (compromised): out of the JWKS at once, whatever its tokens' expiry.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signing_keys').addColumn('withdrawn_at', 'bigint').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signing_keys').dropColumn('withdrawn_at').execute()
}
