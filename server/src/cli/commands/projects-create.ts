/**
 * `pnpm textgate projects create`: a project and its test keys. Audited as `project.create` in
 * the new project's chain: its settings in the shape of the console's `settings.update`, and the
 * keys' prefixes as `keys.create` records them (never the keys).
 * @module
 */
import { presentSettings } from '../../console/pages/settings'
import { listKeys } from '../../keys'
import { type CreateProjectInput, createProject } from '../../projects'
import { withFields } from '../../with-fields'
import {
  auditChange,
  type Command,
  readJsonFile,
  readTextFile,
  settings,
  UsageError,
  withStorage,
} from '../command'

export const projectsCreateCommand: Command = {
  name: 'projects create',
  usage: `  projects create --name NAME --origin URL [--origin URL ...]
                  [--country XX ...] [--brand TEXT] [--code-length 4-10]
                                create a project; prints its id and test keys
                  [--fraud-settings FILE]  (see README: fraud guard)
                  [--templates FILE]  code-message templates, JSON { "fr": "{code} est …" }
                  [--registrations FILE]  China sign name and template ids, India DLT ids`,
  async run({ values, out }) {
    const { name, origin } = values
    if (!name) throw new UsageError('projects create needs --name')
    if (!origin?.length) throw new UsageError('projects create needs at least one --origin')
    const codeLength =
      values['code-length'] === undefined ? undefined : Number(values['code-length'])
    const config = settings()
    const created = await withStorage(config, async ({ db }) => {
      const done = await createProject(db, {
        name,
        origins: origin,
        countries: values.country,
        brand: values.brand,
        codeLength,
        fraudSettings: values['fraud-settings']
          ? (readJsonFile(values['fraud-settings']) as CreateProjectInput['fraudSettings'])
          : undefined,
        templates: values.templates
          ? (readJsonFile(values.templates) as Record<string, string>)
          : undefined,
        registrations: values.registrations ? readTextFile(values.registrations) : undefined,
      })
      const { project } = done
      const keys = await listKeys(db, project.id)
      const prefix = (kind: string) => keys.find((k) => k.kind === kind)?.prefix
      await auditChange(db, config, {
        projectId: project.id,
        action: 'project.create',
        target: project.id,
        // The console's settings of the project, and what else was given.
        after: withFields(presentSettings(project), {
          fraudSettings: project.fraud_settings ? JSON.parse(project.fraud_settings) : null,
          templates: project.message_templates ? JSON.parse(project.message_templates) : null,
          registrations: project.sms_registrations ? JSON.parse(project.sms_registrations) : null,
          keys: { mode: 'test', publishable: prefix('publishable'), secret: prefix('secret') },
        }),
      })
      return done
    })
    const origins = JSON.parse(created.project.allowed_origins) as string[]
    out.print(
      [
        `project ${created.project.id} (${created.project.name})`,
        `  allowed origins:  ${origins.join(', ')}`,
        `  publishable key:  ${created.publishableKey}`,
        `  secret key:       ${created.secretKey}`,
        '  The secret key is shown only this once: store it on your store server.',
      ].join('\n'),
      {
        projectId: created.project.id,
        name: created.project.name,
        origins,
        publishableKey: created.publishableKey,
        secretKey: created.secretKey,
      },
    )
  },
}
