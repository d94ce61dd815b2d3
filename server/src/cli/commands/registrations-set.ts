/**
 * `pnpm textgate registrations set`: a project's China sign name and template ids, India DLT ids.
 * @module
 */
import { setRegistrations } from '../../projects'
import { parseRegistrations } from '../../templates/registrations'
import { type Command, readTextFile, settings, UsageError, withStorage } from '../command'

export const registrationsSetCommand: Command = {
  name: 'registrations set',
  usage: `  registrations set --project ID --file FILE | --reset
                                China sign name and Alibaba/Tencent template ids, India
                                DLT ids for a project (see README: China and India)`,
  async run({ values, out }) {
    const { project, file, reset } = values
    if (!project) throw new UsageError('registrations set needs --project ID')
    if (!file && !reset) throw new UsageError('registrations set needs --file or --reset')
    const registrations = reset ? null : readTextFile(file!)
    const found = await withStorage(settings(), ({ db }) =>
      setRegistrations(db, project, registrations),
    )
    if (!found) throw new UsageError(`no project ${project}`)
    const saved = registrations === null ? null : parseRegistrations(registrations)
    out.print(saved ? 'SMS registrations saved' : 'SMS registrations removed', {
      projectId: project,
      registrations: saved,
    })
  },
}
