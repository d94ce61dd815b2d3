import type { Kysely } from 'kysely'

// Frozen: never import application code here. Times are epoch ms in bigint columns.
// A webhook endpoint keeps every earlier secret whose overlap has not ended, not one: a JSON
// array `[{ "secret": <encrypted>, "expiresAt": <ms> }]`, newest first, in `previous_secrets`.
// An endpoint's one previous secret is copied there as it was (an expired one too: it is
// ignored, and dropped at the next rotation). The two columns that held it stay, unread from now
// on, so that a process of the build before, still running during a rolling upgrade, keeps
// reading and signing with the current secret instead of failing on a missing column.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('webhook_endpoints').addColumn('previous_secrets', 'text').execute()
  const rows: { id: string; secret: string; expires_at: number | string }[] = await db
    .selectFrom('webhook_endpoints')
    .select([
      'id',
      'previous_secret_encrypted as secret',
      'previous_secret_expires_at as expires_at',
    ])
    .where('previous_secret_encrypted', 'is not', null)
    .where('previous_secret_expires_at', 'is not', null)
    .execute()
  for (const row of rows) {
    await db
      .updateTable('webhook_endpoints')
      .set({
        previous_secrets: JSON.stringify([
          { secret: row.secret, expiresAt: Number(row.expires_at) },
        ]),
      })
      .where('id', '=', row.id)
      .execute()
  }
}

// Back to one previous secret (in the columns `up` left): the newest of them.
export async function down(db: Kysely<any>): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({ previous_secret_encrypted: null, previous_secret_expires_at: null })
    .execute()
  const rows: { id: string; previous_secrets: string }[] = await db
    .selectFrom('webhook_endpoints')
    .select(['id', 'previous_secrets'])
    .where('previous_secrets', 'is not', null)
    .execute()
  for (const row of rows) {
    const [newest] = JSON.parse(row.previous_secrets) as { secret: string; expiresAt: number }[]
    if (!newest) continue
    await db
      .updateTable('webhook_endpoints')
      .set({
        previous_secret_encrypted: newest.secret,
        previous_secret_expires_at: newest.expiresAt,
      })
      .where('id', '=', row.id)
      .execute()
  }
  await db.schema.alterTable('webhook_endpoints').dropColumn('previous_secrets').execute()
}
