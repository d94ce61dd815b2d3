/**
 * `pnpm textgate projects ip-allowlist --project ID [--ip RANGES | --reset]`: shows or sets a
 * project's IP allowlist, which guards its console and its secret-key calls. The way back in when
 * the operators' addresses changed and the console answers them `ip_not_allowed`. Audited as the
 * console's change is (`settings.update`).
 * @module
 */
import { appendAudit } from '../../audit'
import { isIpOrCidr } from '../../fraud/network'
import { forgetCachedKeys } from '../../keys/invalidation'
import { deriveSecrets } from '../../secrets'
import {
  CLI_ACTOR,
  type Command,
  requireProject,
  settings,
  UsageError,
  withStorage,
} from '../command'

export const projectsIpAllowlistCommand: Command = {
  name: 'projects ip-allowlist',
  usage: `  projects ip-allowlist --project ID [--ip RANGE[,RANGE…] | --reset]
                                show a project's IP allowlist (console and secret keys), set
                                it, or empty it (--reset: every address again)`,
  async run({ values, out }) {
    const { project, ip, reset } = values
    if (!project) throw new UsageError('projects ip-allowlist needs --project ID')
    if (ip !== undefined && reset) throw new UsageError('give --ip or --reset, not both')
    const ranges = ip?.split(',').map((range) => range.trim()) ?? []
    const wrong = ranges.find((range) => !isIpOrCidr(range))
    if (ip !== undefined && (ranges.length === 0 || wrong !== undefined)) {
      throw new UsageError(`"${wrong ?? ip}" is not an IP address or CIDR range`)
    }
    const config = settings()
    const result = await withStorage(config, async ({ db }) => {
      await requireProject(db, project)
      const row = await db
        .selectFrom('projects')
        .select('ip_allowlist')
        .where('id', '=', project)
        .executeTakeFirstOrThrow()
      const before = row.ip_allowlist ? (JSON.parse(row.ip_allowlist) as string[]) : []
      if (ip === undefined && !reset) return { ipAllowlist: before, changed: false }
      const after = reset ? [] : [...new Set(ranges)]
      await db
        .updateTable('projects')
        .set({ ip_allowlist: after.length ? JSON.stringify(after) : null })
        .where('id', '=', project)
        .execute()
      forgetCachedKeys(db)
      await appendAudit(db, deriveSecrets(config.secret).auditKey, {
        projectId: project,
        actor: CLI_ACTOR,
        action: 'settings.update',
        target: project,
        before: { ipAllowlist: before },
        after: { ipAllowlist: after },
      })
      return { ipAllowlist: after, changed: true }
    })
    const list = result.ipAllowlist.length ? result.ipAllowlist.join(', ') : 'none: every address'
    out.print(
      result.changed
        ? `IP allowlist of ${project}: ${list} (running servers apply it within seconds)`
        : `IP allowlist of ${project}: ${list}`,
      { projectId: project, ...result },
    )
  },
}
