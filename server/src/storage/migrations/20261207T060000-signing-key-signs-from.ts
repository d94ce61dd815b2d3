import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// When a signing key starts signing: a rotation publishes the next key in the JWKS first and
// signs with it only once caches of the JWKS have had time to fetch it. Existing keys signed
// from their creation.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signing_keys').addColumn('signs_from', 'bigint').execute()
  await db
    .updateTable('signing_keys')
    .set((eb) => ({ signs_from: eb.ref('created_at') }))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signing_keys').dropColumn('signs_from').execute()
}
