/**
 * Live-mode carrier routing: the routing file's carriers become adapters, its rules a router.
 * @module
 */
import type { Logger } from 'pino'
import { smppCarrier } from '../carriers/smpp'
import type { CarrierAdapter } from '../carriers/types'
import { type CarrierSpec, carrierPassword, type RoutingConfig } from './config'
import { createRouter, type Router } from './router'

export {
  loadRoutingFile,
  parseRoutingConfig,
  type RoutingConfig,
  RoutingConfigError,
} from './config'
export { createRouter, type PlannedRoute, type Router } from './router'

/** Builds the adapter a carrier entry describes. */
export function carrierFromSpec(
  spec: CarrierSpec,
  { logger, env = process.env }: { logger?: Logger; env?: Record<string, string | undefined> } = {},
): CarrierAdapter {
  switch (spec.type) {
    case 'smpp':
      return smppCarrier({
        id: spec.id,
        host: spec.host,
        port: spec.port,
        systemId: spec.systemId,
        password: carrierPassword(spec, env),
        systemType: spec.systemType,
        sourceAddr: spec.sourceAddr,
        window: spec.window,
        enquireLinkMs: spec.enquireLinkMs,
        responseTimeoutMs: spec.responseTimeoutMs,
        throttleRetryAfterMs: spec.throttleRetryAfterMs,
        longMessages: spec.longMessages,
        maxParts: spec.maxParts,
        logger,
      })
  }
}

/**
 * @example
 * const router = routerFromConfig(loadRoutingFile('routes.json'), { logger })
 */
export function routerFromConfig(
  config: RoutingConfig,
  options: { logger?: Logger; env?: Record<string, string | undefined> } = {},
): Router {
  const adapters = new Map(
    config.carriers.map((spec) => [spec.id, carrierFromSpec(spec, options)] as const),
  )
  return createRouter({ config, adapters, logger: options.logger })
}
