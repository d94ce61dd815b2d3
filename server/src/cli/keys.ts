/**
 * `pnpm textgate keys list|revoke`: a project's API keys, and revoking one (every running
 * server refuses it within seconds).
 * @module
 */
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { type KeySummary, listKeys, revokeKey } from '../keys'
import type { Database } from '../storage'

export const KEYS_USAGE = `  keys list --project ID        the project's keys: kind, mode, prefix, created, last used
  keys revoke --project ID --id KEY
                                revoke a key (running servers refuse it within seconds)`

export class KeysUsageError extends Error {}

const row = (key: KeySummary) =>
  [
    key.id.padEnd(24),
    key.kind.padEnd(11),
    key.mode.padEnd(4),
    key.prefix.padEnd(20),
    `created ${key.createdAt}`,
    `last used ${key.lastUsedAt ?? 'never'}`,
    key.revokedAt ? `REVOKED ${key.revokedAt}` : 'active',
  ].join('  ')

export async function keysCommand(
  sub: 'list' | 'revoke',
  values: { project?: string | undefined; id?: string | undefined },
  db: Kysely<Database>,
  logger: Logger,
): Promise<{ human: string; data: unknown }> {
  const project = values.project
  if (!project) throw new KeysUsageError(`keys ${sub} needs --project ID`)
  const exists = await db
    .selectFrom('projects')
    .select('id')
    .where('id', '=', project)
    .executeTakeFirst()
  if (!exists) throw new Error(`no project ${project}`)
  if (sub === 'list') {
    const keys = await listKeys(db, project)
    return { human: keys.length ? keys.map(row).join('\n') : 'no keys', data: keys }
  }
  if (!values.id) throw new KeysUsageError('keys revoke needs --id KEY (see keys list)')
  const result = await revokeKey(db, project, values.id, { logger, by: 'cli' })
  if (!result.revoked && result.reason === 'not_found') {
    throw new Error(`no key ${values.id} in project ${project}`)
  }
  const key = result.key as KeySummary
  return {
    human: result.revoked
      ? `revoked ${key.id} (${key.prefix}); running servers refuse it within seconds`
      : `${key.id} was already revoked at ${key.revokedAt}`,
    data: { revoked: result.revoked, key },
  }
}
