import type { Kysely } from 'kysely'

// Frozen: never import application code here.
// Per-project code-message templates: JSON object of BCP 47 locale → template text.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('projects').addColumn('message_templates', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('projects').dropColumn('message_templates').execute()
}
