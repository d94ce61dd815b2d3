/**
 * `pnpm textgate templates set`: replaces a project's code-message templates.
 * @module
 */
import { readFileSync } from 'node:fs'
import { setTemplates } from '../../projects'
import { type Command, settings, UsageError, withStorage } from '../command'

export const templatesSetCommand: Command = {
  name: 'templates set',
  usage: `  templates set --project ID --file FILE | --reset
                                replace a project's code-message templates`,
  async run({ values, out }) {
    const { project, file, reset } = values
    if (!project) throw new UsageError('templates set needs --project ID')
    if (!file && !reset) throw new UsageError('templates set needs --file or --reset')
    const templates = reset ? null : JSON.parse(readFileSync(file!, 'utf8'))
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
