import type { Kysely } from 'kysely'

// Frozen: never import application code here.
// The shopper's optional marketing opt-in, given with the start: 1 opted in, 0 not.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('verifications')
    .addColumn('consent_marketing', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('verifications').dropColumn('consent_marketing').execute()
}
