/**
 * Live-mode carrier routing: the routing file's carriers become adapters, its rules a router.
 * @module
 */
import { type CarrierBuildOptions, carrierFromSpec } from '../carriers/registry'
import { createRouter, type Router } from './router'
import type { RoutingConfig } from './routing-file'
import { routingWarnings } from './warnings'

export {
  asEntryError,
  type CarrierBuildOptions,
  carrierFromSpec,
} from '../carriers/registry'
export { createRouter, type PlannedRoute, type Router, routeCost } from './router'
export {
  loadRoutingFile,
  parseRoutingConfig,
  type RoutingConfig,
  RoutingConfigError,
} from './routing-file'
export { routingWarnings } from './warnings'

/**
 * @example
 * const router = routerFromConfig(loadRoutingFile('routes.json'), { logger, publicUrl })
 */
export function routerFromConfig(config: RoutingConfig, options: CarrierBuildOptions = {}): Router {
  for (const warning of routingWarnings(config)) options.logger?.warn(warning)
  const adapters = new Map(
    config.carriers.map((spec) => [spec.id, carrierFromSpec(spec, options)] as const),
  )
  return createRouter({ config, adapters, logger: options.logger })
}
