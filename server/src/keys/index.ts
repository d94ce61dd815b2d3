/**
 * API keys of a project as operators and store servers manage them: list (kind, mode, the
 * visible prefix, created, last used, revoked), create one more, revoke. A revoked key stops
 * working in this process at once and in every other within the key cache's lifetime.
 * @module
 */
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { createApiKey, hashKey } from '../projects'
import type { ApiKey, Database, KeyKind, KeyMode } from '../storage'
import { emitWebhookEvent } from '../webhooks/emit'
import { forgetCachedKeys } from './invalidation'

export interface KeySummary {
  id: string
  projectId: string
  kind: KeyKind
  mode: KeyMode
  /** The first characters and the last four: enough to tell keys apart, never to use one. */
  prefix: string
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString())

const COLUMNS = [
  'id',
  'project_id',
  'kind',
  'mode',
  'hint',
  'created_at',
  'last_used_at',
  'revoked_at',
] as const

function toSummary(row: Pick<ApiKey, (typeof COLUMNS)[number]>): KeySummary {
  return {
    id: row.id,
    projectId: row.project_id,
    kind: row.kind,
    mode: row.mode,
    prefix: row.hint,
    createdAt: iso(row.created_at) as string,
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  }
}

/** Every key of the project, newest first; `mode` narrows to one mode. */
export async function listKeys(
  db: Kysely<Database>,
  projectId: string,
  { mode }: { mode?: KeyMode | undefined } = {},
): Promise<KeySummary[]> {
  let query = db
    .selectFrom('api_keys')
    .select(COLUMNS)
    .where('project_id', '=', projectId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
  if (mode) query = query.where('mode', '=', mode)
  return (await query.execute()).map(toSummary)
}

async function findKey(db: Kysely<Database>, projectId: string, keyId: string) {
  const row = await db
    .selectFrom('api_keys')
    .select(COLUMNS)
    .where('id', '=', keyId)
    .where('project_id', '=', projectId)
    .executeTakeFirst()
  return row ? toSummary(row) : undefined
}

/** A new key of the project, returned in clear this once (the old ones keep working). */
export async function createKey(
  db: Kysely<Database>,
  projectId: string,
  kind: KeyKind,
  mode: KeyMode,
  now = Date.now(),
): Promise<{ key: string; summary: KeySummary }> {
  const key = await createApiKey(db, projectId, kind, mode, now)
  const row = await db
    .selectFrom('api_keys')
    .select(COLUMNS)
    .where('key_hash', '=', hashKey(key))
    .executeTakeFirstOrThrow()
  return { key, summary: toSummary(row) }
}

export type RevokeResult =
  | { revoked: true; key: KeySummary }
  | { revoked: false; reason: 'not_found' | 'already_revoked'; key?: KeySummary }

/**
 * Revokes a key of the project (`mode`, when given, must be the key's: a test key cannot revoke
 * live keys). Idempotent: a second call says `already_revoked`.
 */
export async function revokeKey(
  db: Kysely<Database>,
  projectId: string,
  keyId: string,
  {
    mode,
    now = Date.now(),
    logger,
    by,
  }: { mode?: KeyMode | undefined; now?: number; logger?: Logger | undefined; by: string },
): Promise<RevokeResult> {
  const found = await findKey(db, projectId, keyId)
  if (!found || (mode && found.mode !== mode)) return { revoked: false, reason: 'not_found' }
  const revoked = await db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('id', '=', keyId)
      .where('project_id', '=', projectId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) === 0) return false
    // The webhook event exists exactly when the revocation does.
    await emitWebhookEvent(trx, {
      type: 'key.revoked',
      projectId,
      mode: found.mode,
      data: { keyId, kind: found.kind, hint: found.prefix, revokedAt: iso(now) as string },
      at: now,
    })
    return true
  })
  forgetCachedKeys(db)
  const key = (await findKey(db, projectId, keyId)) as KeySummary
  if (!revoked) return { revoked: false, reason: 'already_revoked', key }
  keyRevoked(logger, key, by)
  return { revoked: true, key }
}

/**
 * The log line of a revocation (`event: key.revoked`); the webhook event of the same name is
 * written with the revocation itself, in {@link revokeKey}'s transaction.
 */
export function keyRevoked(logger: Logger | undefined, key: KeySummary, by: string): void {
  logger?.info(
    {
      event: 'key.revoked',
      projectId: key.projectId,
      keyId: key.id,
      kind: key.kind,
      mode: key.mode,
      prefix: key.prefix,
      by,
    },
    'API key revoked',
  )
}
