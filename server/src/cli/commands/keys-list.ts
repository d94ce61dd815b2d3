/**
 * `pnpm textgate keys list --project ID`: the project's keys — kind, mode, prefix, created,
 * last used, revoked. Without --project: the token signing keys — which signs, the next one
 * (published, and when it signs), which the JWKS holds, which were withdrawn.
 * @module
 */
import { type KeySummary, listKeys } from '../../keys'
import { deriveSecrets } from '../../secrets'
import { createTokenService, type SigningKeySummary } from '../../tokens'
import { type Command, settings, withStorage } from '../command'

const signingRow = (key: SigningKeySummary) =>
  [
    key.kid.padEnd(28),
    key.alg.padEnd(5),
    `created ${key.createdAt}`,
    key.withdrawnAt
      ? `WITHDRAWN ${key.withdrawnAt}`
      : key.current
        ? `SIGNING${key.retiredAt ? ` until ${key.retiredAt}` : ''}`
        : key.next
          ? `NEXT: published, signs from ${key.signsFrom}`
          : key.published
            ? `retired ${key.retiredAt} (published until its tokens expire)`
            : `retired ${key.retiredAt}`,
  ].join('  ')

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
  usage: `  keys list --project ID        the project's keys: kind, mode, prefix, created, last used
  keys list                     the token signing keys: signing, next (and when it signs),
                                retired, withdrawn`,
  async run({ values, out }) {
    const project = values.project
    if (!project) {
      const config = settings()
      const signing = await withStorage(config, async ({ db }) =>
        createTokenService({
          db,
          encryptionKey: deriveSecrets(config.secret).encryptionKey,
          issuer: config.publicUrl,
        }).signingKeys(),
      )
      out.print(signing.length ? signing.map(signingRow).join('\n') : 'no signing keys', signing)
      return
    }
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
