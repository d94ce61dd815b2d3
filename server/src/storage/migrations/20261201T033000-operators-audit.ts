import { type Kysely, PostgresAdapter, sql } from 'kysely'

// Frozen: never import application code here.
// The operator console: operator accounts, their per-project roles, one-time setup/invitation
// links, sessions; the append-only audit log with its per-project hash chain (and the head of
// each chain, which serialises appends); a per-project IP allowlist; when a verification's token was
// first redeemed (for the overview's funnel); indexes the overview's figures need.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('operators')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('email', 'text', (col) => col.notNull().unique())
    .addColumn('password_hash', 'text')
    .addColumn('totp_secret_encrypted', 'text')
    .addColumn('totp_last_step', 'bigint')
    .addColumn('failed_logins', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('locked_until', 'bigint')
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('disabled_at', 'bigint')
    .execute()
  await db.schema
    .createTable('operator_roles')
    .addColumn('operator_id', 'text', (col) => col.notNull())
    .addColumn('project_id', 'text', (col) => col.notNull())
    .addColumn('role', 'text', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('operator_roles_pk', ['operator_id', 'project_id'])
    .execute()
  await db.schema
    .createTable('operator_links')
    .addColumn('token_hash', 'text', (col) => col.primaryKey())
    .addColumn('operator_id', 'text', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('expires_at', 'bigint', (col) => col.notNull())
    .addColumn('used_at', 'bigint')
    .execute()
  await db.schema
    .createTable('operator_sessions')
    .addColumn('id_hash', 'text', (col) => col.primaryKey())
    .addColumn('operator_id', 'text', (col) => col.notNull())
    .addColumn('stage', 'text', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('last_seen_at', 'bigint', (col) => col.notNull())
    .addColumn('expires_at', 'bigint', (col) => col.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .execute()
  await db.schema
    .createIndex('operator_sessions_operator')
    .on('operator_sessions')
    .column('operator_id')
    .execute()

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('project_id', 'text', (col) => col.notNull())
    .addColumn('seq', 'bigint', (col) => col.notNull())
    .addColumn('at', 'bigint', (col) => col.notNull())
    .addColumn('actor_type', 'text', (col) => col.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('actor_label', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('target', 'text')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('status', 'integer')
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('prev_hash', 'text', (col) => col.notNull())
    .addColumn('hash', 'text', (col) => col.notNull())
    .addUniqueConstraint('audit_log_project_seq', ['project_id', 'seq'])
    .execute()
  await db.schema
    .createIndex('audit_log_project_time')
    .on('audit_log')
    .columns(['project_id', 'at'])
    .execute()
  await db.schema
    .createTable('audit_heads')
    .addColumn('project_id', 'text', (col) => col.primaryKey())
    .addColumn('seq', 'bigint', (col) => col.notNull())
    .addColumn('hash', 'text', (col) => col.notNull())
    .execute()

  // Append-only in the database itself: updates and deletes of audit rows are refused.
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`create function textgate_audit_append_only() returns trigger language plpgsql as $$
      begin raise exception 'audit_log is append-only'; end $$`.execute(db)
    await sql`create trigger audit_log_append_only before update or delete on audit_log
      for each row execute function textgate_audit_append_only()`.execute(db)
  } else {
    await sql`create trigger audit_log_no_update before update on audit_log
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db)
    await sql`create trigger audit_log_no_delete before delete on audit_log
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db)
  }

  await db.schema.alterTable('projects').addColumn('ip_allowlist', 'text').execute()
  await db.schema.alterTable('verifications').addColumn('token_redeemed_at', 'bigint').execute()
  await db.schema
    .createIndex('verifications_project_time')
    .on('verifications')
    .columns(['project_id', 'created_at'])
    .execute()
  await db.schema
    .createIndex('messages_project_time')
    .on('messages')
    .columns(['project_id', 'created_at'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('messages_project_time').execute()
  await db.schema.dropIndex('verifications_project_time').execute()
  await db.schema.alterTable('verifications').dropColumn('token_redeemed_at').execute()
  await db.schema.alterTable('projects').dropColumn('ip_allowlist').execute()
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`drop trigger audit_log_append_only on audit_log`.execute(db)
    await sql`drop function textgate_audit_append_only()`.execute(db)
  }
  await db.schema.dropTable('audit_heads').execute()
  await db.schema.dropTable('audit_log').execute()
  await db.schema.dropTable('operator_sessions').execute()
  await db.schema.dropTable('operator_links').execute()
  await db.schema.dropTable('operator_roles').execute()
  await db.schema.dropTable('operators').execute()
}
