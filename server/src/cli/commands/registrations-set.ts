/**
 * `pnpm textgate registrations set`: a project's China sign name and template ids, India DLT ids.
 * Audited as the console's change is (`registrations.update`).
 * @module
 */
import { setRegistrations } from '../../projects'
import { parseRegistrations } from '../../templates/registrations'
import {
  auditChange,
  type Command,
  readTextFile,
  requireProject,
  settings,
  UsageError,
  withStorage,
} from '../command'

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
    const config = settings()
    const saved = await withStorage(config, async ({ db }) => {
      await requireProject(db, project)
      const row = await db
        .selectFrom('projects')
        .select('sms_registrations')
        .where('id', '=', project)
        .executeTakeFirstOrThrow()
      await setRegistrations(db, project, registrations)
      const after = registrations === null ? null : parseRegistrations(registrations)
      await auditChange(db, config, {
        projectId: project,
        action: 'registrations.update',
        target: project,
        before: row.sms_registrations ? JSON.parse(row.sms_registrations) : null,
        after,
      })
      return after
    })
    out.print(saved ? 'SMS registrations saved' : 'SMS registrations removed', {
      projectId: project,
      registrations: saved,
    })
  },
}
