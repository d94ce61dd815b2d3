import type { Kysely } from 'kysely'

// Frozen: never import application code here.
// When each API key was last used (written at most once a minute per key and process), and
// the record that an erasure by number happened: when, for which project, how many rows of
// each table it touched — never the number itself.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('last_used_at', 'bigint').execute()
  await db.schema
    .createTable('erasures')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('rows', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('erasures').execute()
  await db.schema.alterTable('api_keys').dropColumn('last_used_at').execute()
}
