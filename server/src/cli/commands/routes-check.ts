/**
 * `pnpm textgate routes check`: checks a routing file and says what it holds.
 * @module
 */
import { loadRoutingFile, routingWarnings } from '../../routing'
import { type Command, UsageError } from '../command'

export const routesCheckCommand: Command = {
  name: 'routes check',
  usage: '  routes check [--file PATH]    check a routing file (default: TEXTGATE_ROUTES_FILE)',
  async run({ values, out }) {
    const file = values.file ?? process.env.TEXTGATE_ROUTES_FILE
    if (!file) throw new UsageError('routes check needs --file or TEXTGATE_ROUTES_FILE')
    const routing = loadRoutingFile(file)
    const rules = Object.values(routing.projects).reduce((n, p) => n + p.rules.length, 0)
    const warnings = routingWarnings(routing)
    out.print(
      [
        `${file} is valid: ${routing.carriers.length} carriers (${routing.carriers.map((c) => c.id).join(', ')}), ${rules} rules for ${Object.keys(routing.projects).length} project keys`,
        ...warnings.map((w) => `warning: ${w}`),
      ].join('\n'),
      {
        valid: true,
        carriers: routing.carriers.map((c) => ({ id: c.id, type: c.type })),
        projects: Object.keys(routing.projects),
        warnings,
      },
    )
  },
}
