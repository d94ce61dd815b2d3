import type { Kysely } from 'kysely'

// Frozen: never import application code here.
// Per-project SMS registrations (China sign name and Alibaba/Tencent template ids, India DLT
// ids; JSON), and per message the encrypted template data (code, minutes, brand, locale and
// the registrations resolved for it) that template-only carriers build their request from.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('projects').addColumn('sms_registrations', 'text').execute()
  await db.schema.alterTable('messages').addColumn('template_encrypted', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').dropColumn('template_encrypted').execute()
  await db.schema.alterTable('projects').dropColumn('sms_registrations').execute()
}
