/**
 * `pnpm textgate keys create`: a new publishable and secret key pair for a project. Audited as
 * the console's is (`keys.create`, with the keys' prefixes, never the keys).
 * @module
 */
import { createKey } from '../../keys'
import { auditChange, type Command, settings, UsageError, withStorage } from '../command'

export const keysCreateCommand: Command = {
  name: 'keys create',
  usage: `  keys create --project ID [--live]
                                a new publishable and secret key pair for a project
                                (test mode, or live mode with --live)`,
  async run({ values, out }) {
    const projectId = values.project
    if (!projectId) throw new UsageError('keys create needs --project')
    const mode = values.live ? 'live' : 'test'
    const config = settings()
    const keys = await withStorage(config, async ({ db }) => {
      const project = await db
        .selectFrom('projects')
        .select('id')
        .where('id', '=', projectId)
        .executeTakeFirst()
      if (!project) throw new Error(`no project ${projectId}`)
      const publishable = await createKey(db, project.id, 'publishable', mode)
      const secret = await createKey(db, project.id, 'secret', mode)
      await auditChange(db, config, {
        projectId: project.id,
        action: 'keys.create',
        target: project.id,
        after: { mode, publishable: publishable.summary.prefix, secret: secret.summary.prefix },
      })
      return {
        projectId: project.id,
        mode,
        publishableKey: publishable.key,
        secretKey: secret.key,
      }
    })
    out.print(
      [
        `${mode} keys for project ${keys.projectId}`,
        `  publishable key:  ${keys.publishableKey}`,
        `  secret key:       ${keys.secretKey}`,
        '  The secret key is shown only this once: store it on your store server.',
        mode === 'live' && !process.env.TEXTGATE_ROUTES_FILE
          ? '  Live keys send through TEXTGATE_ROUTES_FILE: set it before serving.'
          : '',
      ]
        .filter(Boolean)
        .join('\n'),
      keys,
    )
  },
}
