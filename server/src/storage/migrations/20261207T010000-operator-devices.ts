import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// Browsers an operator signed in on (OWASP's device cookies): failed sign-ins that present a
// browser's cookie count here, against that browser alone, not toward the account's lock.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('operator_devices')
    // SHA-256 (hex) of the random id in the cookie: a leaked table names no cookie.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('operator_id', 'text', (c) =>
      c.notNull().references('operators.id').onDelete('cascade'),
    )
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint', (c) => c.notNull())
    .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'bigint')
    .execute()
  await db.schema
    .createIndex('operator_devices_operator')
    .on('operator_devices')
    .column('operator_id')
    .execute()
  await db.schema
    .createIndex('operator_devices_last_used')
    .on('operator_devices')
    .column('last_used_at')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('operator_devices').execute()
}
