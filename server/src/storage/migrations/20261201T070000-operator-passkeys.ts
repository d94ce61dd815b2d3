import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// Passkeys (WebAuthn credentials) as an operator's second factor, and the one pending WebAuthn
// challenge of a console session (registration or login), used once.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('operator_passkeys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('operator_id', 'text', (c) =>
      c.notNull().references('operators.id').onDelete('cascade'),
    )
    // base64url, as the browser names it.
    .addColumn('credential_id', 'text', (c) => c.notNull().unique())
    // COSE public key, base64url.
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull())
    .addColumn('transports', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute()
  await db.schema
    .createIndex('operator_passkeys_operator')
    .on('operator_passkeys')
    .column('operator_id')
    .execute()
  await db.schema.alterTable('operator_sessions').addColumn('challenge', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('operator_sessions').dropColumn('challenge').execute()
  await db.schema.dropTable('operator_passkeys').execute()
}
