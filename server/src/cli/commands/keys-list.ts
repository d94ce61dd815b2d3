/**
 * `pnpm textgate keys list --project ID`: the project's keys — kind, mode, prefix, created,
 * last used, revoked.
 * @module
 */
import { type KeySummary, listKeys } from '../../keys'
import { type Command, settings, UsageError, withStorage } from '../command'

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

export const keysListCommand: Command = {
  name: 'keys list',
  usage: `  keys list --project ID        the project's keys: kind, mode, prefix, created, last used`,
  async run({ values, out }) {
    const project = values.project
    if (!project) throw new UsageError('keys list needs --project ID')
    const keys = await withStorage(settings(), async ({ db }) => {
      const found = await db
        .selectFrom('projects')
        .select('id')
        .where('id', '=', project)
        .executeTakeFirst()
      if (!found) throw new Error(`no project ${project}`)
      return listKeys(db, project)
    })
    out.print(keys.length ? keys.map(row).join('\n') : 'no keys', keys)
  },
}
