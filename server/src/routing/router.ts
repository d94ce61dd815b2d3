/**
 * The router: for each message, the project's rules choose an ordered list of routes (by
 * priority, then weighted among equal priorities); each route is tried behind its own circuit
 * breaker, retried with full-jitter backoff (honouring a carrier's Retry-After when it is short
 * enough), and the next route takes over when a carrier did not accept the message — at once,
 * without retries, when the route itself cannot send (credentials refused, account out of
 * credit). A permanent refusal (a bad number, rejected content) is final: never retried, never
 * failed over.
 * Texts to mainland China (+86) without the 【signature】 are not handed to free-text routes;
 * when no template-only route is left, the message fails permanently.
 * @module
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  IsolatedCircuitError,
} from 'cockatiel'
import type { Logger } from 'pino'
import { CHINA_SIGNATURE_REQUIRED, missingChinaSignature } from '../carriers/template-data'
import {
  type CarrierAdapter,
  CarrierError,
  type DeliveryReport,
  type OutgoingMessage,
  type SendResult,
} from '../carriers/types'
import { countryOfNumber } from '../phone/territory'
import { withFields } from '../with-fields'
import type { RouteSpec, RoutingConfig, RuleSpec } from './routing-file'

export interface PlannedRoute extends RouteSpec {
  /** Which rule chose it: "projects.<key>.rules.<n>". */
  rule: string
}

export interface RouterOptions {
  config: RoutingConfig
  /** Adapters by id; every carrier a route names must be here. */
  adapters: ReadonlyMap<string, CarrierAdapter>
  logger?: Logger
  /** [0, 1); injectable for deterministic tests. */
  random?: () => number
  sleep?: (ms: number) => Promise<void>
}

export interface RouteHealth {
  carrier: string
  state: 'closed' | 'open' | 'half-open' | 'isolated'
}

export interface Router extends CarrierAdapter {
  /**
   * The routes a message would try, in order (weighted choices drawn now). `country`: the one its
   * verification was counted as; absent, the number's own (phone/territory.ts).
   */
  plan(projectId: string, to: string, country?: string): PlannedRoute[]
  health(): RouteHealth[]
  /** Opens every connection-oriented adapter now; failures are logged and retried by them. */
  connect(): Promise<void>
  onReport(listener: (report: DeliveryReport & { carrier: string }) => void): () => void
  /** Every carrier adapter of the routing file (their callbacks are taken at /v1/carriers/…). */
  adapters(): Iterable<CarrierAdapter>
  close(): Promise<void>
}

const STATES: Record<CircuitState, RouteHealth['state']> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
}

/**
 * How specific a rule is for a number: longest matching prefix first, then a named country.
 * `countries` match the country the number belongs to as the rest of the server counts it
 * (phone/territory.ts): a Manx number is IM's, not GB's, even where GB's ranges hold it too, and
 * a rule for GB does not take it; a rule for a whole numbering plan names its prefix (`+44`).
 */
function ruleScore(rule: RuleSpec, to: string, country: string | undefined): number {
  if (rule.countries && !(country && rule.countries.includes(country))) return -1
  let prefixLength = 0
  if (rule.prefixes) {
    const matching = rule.prefixes.filter((prefix) => to.startsWith(prefix))
    if (matching.length === 0) return -1
    prefixLength = Math.max(...matching.map((prefix) => prefix.length))
  }
  return prefixLength * 2 + (rule.countries ? 1 : 0)
}

/** Draws an order among routes by weight: heavier routes tend to come first. */
function weightedOrder<T extends { weight: number }>(items: T[], random: () => number): T[] {
  const left = [...items]
  const ordered: T[] = []
  while (left.length > 0) {
    const total = left.reduce((sum, item) => sum + item.weight, 0)
    let index = 0
    if (total > 0) {
      let draw = random() * total
      index = left.findIndex((item) => {
        draw -= item.weight
        return draw < 0
      })
      if (index < 0) index = left.length - 1
    }
    ordered.push(...left.splice(index, 1))
  }
  return ordered
}

/**
 * What a text of `segments` parts costs on a route that states its price, or undefined. Route
 * prices are in the operator's currency, which the routing file calls USD.
 * @example routeCost({ costPerSegment: 0.032 }, 2) // { amount: '0.064000', currency: 'USD' }
 */
export function routeCost(
  route: Pick<RouteSpec, 'costPerSegment'>,
  segments: number,
): { amount: string; currency: string } | undefined {
  if (route.costPerSegment === undefined) return undefined
  return { amount: (route.costPerSegment * segments).toFixed(6), currency: 'USD' }
}

const isRouteFailure = (error: unknown) => !(error instanceof CarrierError && error.permanent)

/**
 * @example
 * const router = createRouter({ config, adapters: new Map([['smsc-a', smsc]]) })
 * await router.send({ id, to: '+447700900123', body, projectId, mode: 'live' })
 */
export function createRouter({
  config,
  adapters,
  logger,
  random = Math.random,
  sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}: RouterOptions): Router {
  const retry = { attempts: 1, baseMs: 100, maxWaitMs: 2_000, ...config.retry }
  const breakerSettings = { failures: 5, halfOpenAfterMs: 10_000, ...config.breaker }
  const breakers = new Map<string, CircuitBreakerPolicy>()
  for (const id of adapters.keys()) {
    const breaker = circuitBreaker(handleWhen(isRouteFailure), {
      halfOpenAfter: breakerSettings.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(breakerSettings.failures),
    })
    breaker.onBreak(() => logger?.warn({ carrier: id }, 'route circuit opened'))
    breaker.onReset(() => logger?.info({ carrier: id }, 'route circuit closed again'))
    breakers.set(id, breaker)
  }

  function plan(projectId: string, to: string, counted?: string): PlannedRoute[] {
    let country = counted
    let countryKnown = counted !== undefined
    const countryOf = () => {
      if (!countryKnown) {
        country = countryOfNumber(to)
        countryKnown = true
      }
      return country
    }
    for (const key of [projectId, '*']) {
      const rules = config.projects[key]?.rules ?? []
      let best: { rule: RuleSpec; index: number; score: number } | undefined
      rules.forEach((rule, index) => {
        const score = ruleScore(rule, to, rule.countries ? countryOf() : undefined)
        if (score >= 0 && (!best || score > best.score)) best = { rule, index, score }
      })
      if (!best) continue
      const chosen = best
      const priorities = [...new Set(chosen.rule.routes.map((route) => route.priority))].sort(
        (a, b) => a - b,
      )
      return priorities.flatMap((priority) =>
        weightedOrder(
          chosen.rule.routes.filter((route) => route.priority === priority && route.weight > 0),
          random,
        ).map((route) => withFields(route, { rule: `projects.${key}.rules.${chosen.index}` })),
      )
    }
    return []
  }

  function fullJitter(attempt: number): number {
    return Math.floor(random() * retry.baseMs * 2 ** attempt)
  }

  async function send(message: OutgoingMessage): Promise<SendResult> {
    const routes = plan(message.projectId, message.to, message.country)
    if (routes.length === 0) {
      throw new CarrierError('router', 'no route is configured for this destination', {
        permanent: true,
      })
    }
    const failures: string[] = []
    const retryAfters: number[] = []
    let unsigned = 0
    for (const route of routes) {
      const adapter = adapters.get(route.carrier)
      const breaker = breakers.get(route.carrier)
      if (!adapter || !breaker) {
        failures.push(`${route.carrier}: not available`)
        continue
      }
      // Mainland China: a free text without the 【signature】 never leaves; template-only
      // routes (which send the sign name as a field) may still take it.
      if (missingChinaSignature(adapter.capabilities, message)) {
        failures.push(`${route.carrier}: unsigned text to +86`)
        unsigned++
        continue
      }
      for (let attempt = 0; ; attempt++) {
        // While one probe tests a half-open route, other messages go elsewhere instead of
        // queueing behind it (cockatiel would make them wait for the probe's outcome).
        if (breaker.state === CircuitState.HalfOpen) {
          failures.push(`${route.carrier}: circuit half-open, probe under way`)
          break
        }
        try {
          const result = await breaker.execute(() => adapter.send(message))
          const segments = result.segments ?? 1
          if (failures.length > 0) {
            logger?.info({ messageId: message.id, carrier: adapter.id, failures }, 'failed over')
          }
          return withFields(result, {
            carrier: result.carrier ?? adapter.id,
            cost: routeCost(route, segments) ?? result.cost,
          })
        } catch (error) {
          if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
            failures.push(`${route.carrier}: circuit open`)
            break
          }
          if (error instanceof CarrierError && error.permanent) throw error
          const reason = error instanceof Error ? error.message : String(error)
          if (error instanceof CarrierError && error.routeFault) {
            // The same credentials will be refused again: straight to the next route.
            logger?.warn({ carrier: route.carrier, err: reason }, 'route cannot send')
            failures.push(`${route.carrier}: ${reason.replace(/^\[textgate\] /, '')}`)
            break
          }
          const retryAfterMs = error instanceof CarrierError ? error.retryAfterMs : undefined
          const wait = Math.max(retryAfterMs ?? 0, fullJitter(attempt))
          if (attempt < retry.attempts && wait <= retry.maxWaitMs) {
            await sleep(wait)
            continue
          }
          failures.push(`${route.carrier}: ${reason.replace(/^\[textgate\] /, '')}`)
          if (retryAfterMs !== undefined) retryAfters.push(retryAfterMs)
          break
        }
      }
    }
    if (unsigned > 0 && unsigned === failures.length) {
      throw new CarrierError('router', CHINA_SIGNATURE_REQUIRED, { permanent: true })
    }
    // Nobody took it: the outbox tries again later, no sooner than every carrier asked.
    throw new CarrierError('router', `no route accepted the message (${failures.join('; ')})`, {
      retryAfterMs:
        retryAfters.length === failures.length && retryAfters.length > 0
          ? Math.min(...retryAfters)
          : undefined,
    })
  }

  return {
    id: 'router',
    capabilities: {
      unicode: [...adapters.values()].every((adapter) => adapter.capabilities.unicode),
      deliveryReports: [...adapters.values()].some((a) => a.capabilities.deliveryReports),
      maxParts: Math.min(...[...adapters.values()].map((a) => a.capabilities.maxParts), 10),
    },
    send,
    plan,
    health() {
      return [...breakers].map(([carrier, breaker]) => ({
        carrier,
        state: STATES[breaker.state],
      }))
    },
    onReport(listener) {
      const unsubscribe = [...adapters.values()].map(
        (adapter) =>
          adapter.onReport?.((report) => listener(withFields(report, { carrier: adapter.id }))) ??
          (() => {}),
      )
      return () => {
        for (const stop of unsubscribe) stop()
      }
    },
    async connect() {
      await Promise.all(
        [...adapters.values()].map((adapter) =>
          adapter.connect?.().catch((error: unknown) => {
            const reason = error instanceof Error ? error.message : String(error)
            logger?.warn({ carrier: adapter.id, err: reason }, 'carrier not reachable yet')
          }),
        ),
      )
    },
    adapters: () => adapters.values(),

    async close() {
      await Promise.all([...adapters.values()].map((adapter) => adapter.close?.()))
    },
  }
}
