/**
 * `pnpm textgate keys revoke --project ID --id KEY`: every running server refuses the key within
 * seconds (their key caches expire), this process's revocation is logged as `key.revoked`, and
 * audited as the console's is (`keys.revoke`).
 * @module
 */
import { pino } from 'pino'
import { type KeySummary, revokeKey } from '../../keys'
import { withFields } from '../../with-fields'
import { auditChange, type Command, settings, UsageError, withStorage } from '../command'

export const keysRevokeCommand: Command = {
  name: 'keys revoke',
  usage: `  keys revoke --project ID --id KEY
                                revoke a key (running servers refuse it within seconds)`,
  async run({ values, out }) {
    const { project, id } = values
    if (!project) throw new UsageError('keys revoke needs --project ID')
    if (!id) throw new UsageError('keys revoke needs --id KEY (see keys list)')
    // The key.revoked line goes to stderr: stdout is the command's answer (--json).
    const logger = pino({ level: 'info', base: { service: 'textgate' } }, pino.destination(2))
    const config = settings()
    const result = await withStorage(config, async ({ db }) => {
      const revoked = await revokeKey(db, project, id, { logger, by: 'cli' })
      if (revoked.revoked || revoked.reason !== 'not_found') {
        await auditChange(db, config, {
          projectId: project,
          action: 'keys.revoke',
          target: id,
          before: revoked.revoked ? withFields(revoked.key, { revokedAt: null }) : revoked.key,
          after: revoked.key,
        })
      }
      return revoked
    })
    if (!result.revoked && result.reason === 'not_found') {
      throw new Error(`no key ${id} in project ${project}`)
    }
    const key = result.key as KeySummary
    out.print(
      result.revoked
        ? `revoked ${key.id} (${key.prefix}); running servers refuse it within seconds`
        : `${key.id} was already revoked at ${key.revokedAt}`,
      { revoked: result.revoked, key },
    )
  },
}
