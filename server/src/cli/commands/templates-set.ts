/**
 * `pnpm textgate templates set`: replaces a project's code-message templates.
 * @module
 */
import { setTemplates } from '../../projects'
import { type Command, readJsonFile, settings, UsageError, withStorage } from '../command'

export const templatesSetCommand: Command = {
  name: 'templates set',
  usage: `  templates set --project ID --file FILE | --reset
                                replace a project's code-message templates`,
  async run({ values, out }) {
    const { project, file, reset } = values
    if (!project) throw new UsageError('templates set needs --project ID')
    if (!file && !reset) throw new UsageError('templates set needs --file or --reset')
    const templates = reset ? null : (readJsonFile(file!) as Record<string, string>)
    const found = await withStorage(settings(), ({ db }) => setTemplates(db, project, templates))
    if (!found) throw new UsageError(`no project ${project}`)
    out.print(
      templates
        ? `templates saved for ${Object.keys(templates).join(', ')}`
        : 'back to the default templates',
      { projectId: project, templates },
    )
  },
}
