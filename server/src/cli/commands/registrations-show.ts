/**
 * `pnpm textgate registrations show`: a project's SMS registrations.
 * @module
 */
import { getRegistrations } from '../../projects'
import { type Command, requireProject, settings, UsageError, withStorage } from '../command'

export const registrationsShowCommand: Command = {
  name: 'registrations show',
  usage: `  registrations show --project ID
                                a project's SMS registrations`,
  async run({ values, out }) {
    const { project } = values
    if (!project) throw new UsageError('registrations show needs --project ID')
    const registrations = await withStorage(settings(), async ({ db }) => {
      await requireProject(db, project)
      return getRegistrations(db, project)
    })
    out.print(registrations ? JSON.stringify(registrations, null, 2) : 'no SMS registrations', {
      projectId: project,
      registrations,
    })
  },
}
