import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// Fraud list entries may expire (null: never); a project may name the consent versions it
// accepts (JSON list, the first is the current one; null: any version).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('fraud_list_entries').addColumn('expires_at', 'bigint').execute()
  await db.schema.alterTable('projects').addColumn('consent_versions', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('projects').dropColumn('consent_versions').execute()
  await db.schema.alterTable('fraud_list_entries').dropColumn('expires_at').execute()
}
