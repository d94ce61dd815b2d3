/**
 * `pnpm textgate templates set`: replaces a project's code-message templates. Audited as the
 * console's change is (`templates.update`).
 * @module
 */
import { setTemplates } from '../../projects'
import {
  auditChange,
  type Command,
  readJsonFile,
  requireProject,
  settings,
  UsageError,
  withStorage,
} from '../command'

export const templatesSetCommand: Command = {
  name: 'templates set',
  usage: `  templates set --project ID --file FILE | --reset
                                replace a project's code-message templates`,
  async run({ values, out }) {
    const { project, file, reset } = values
    if (!project) throw new UsageError('templates set needs --project ID')
    if (!file && !reset) throw new UsageError('templates set needs --file or --reset')
    const templates = reset ? null : (readJsonFile(file!) as Record<string, string>)
    const config = settings()
    await withStorage(config, async ({ db }) => {
      await requireProject(db, project)
      const row = await db
        .selectFrom('projects')
        .select('message_templates')
        .where('id', '=', project)
        .executeTakeFirstOrThrow()
      await setTemplates(db, project, templates)
      await auditChange(db, config, {
        projectId: project,
        action: 'templates.update',
        target: project,
        before: row.message_templates ? JSON.parse(row.message_templates) : null,
        after: templates,
      })
    })
    out.print(
      templates
        ? `templates saved for ${Object.keys(templates).join(', ')}`
        : 'back to the default templates',
      { projectId: project, templates },
    )
  },
}
