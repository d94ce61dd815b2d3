/**
 * `pnpm textgate routes plan`: the routes a live message to a number would try, in order.
 * @module
 */
import { loadRoutingFile, routerFromConfig } from '../../routing'
import { type Command, UsageError } from '../command'

export const routesPlanCommand: Command = {
  name: 'routes plan',
  usage: `  routes plan --project ID --to +E164 [--file PATH]
                                the routes a live message to that number would try`,
  async run({ values, out }) {
    const file = values.file ?? process.env.TEXTGATE_ROUTES_FILE
    if (!file) throw new UsageError('routes plan needs --file or TEXTGATE_ROUTES_FILE')
    const routing = loadRoutingFile(file)
    const { project, to } = values
    if (!project || !to) throw new UsageError('routes plan needs --project and --to')
    const router = routerFromConfig(routing)
    const plan = router.plan(project, to)
    await router.close()
    out.print(
      plan.length === 0
        ? `no route for ${to} in project ${project}`
        : plan
            .map(
              (route, i) =>
                `${i + 1}. ${route.carrier} (priority ${route.priority}, weight ${route.weight}${route.costPerSegment === undefined ? '' : `, ${route.costPerSegment} per segment`}) from ${route.rule}`,
            )
            .join('\n'),
      { routes: plan },
    )
  },
}
