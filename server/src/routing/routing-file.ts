/**
 * The routing file: the live carriers (connections) and, per project, the rules that choose
 * an ordered list of routes for a destination. Checked with valibot; every bad field is named
 * by its path in the file. Each carrier type's entry is described in its folder
 * (`carriers/<name>/entry.ts`) and listed in `carriers/registry.ts`; secrets are named by
 * environment variable (`…Env` fields), never written in the file.
 *
 * ```json
 * {
 *   "carriers": [
 *     { "id": "smsc-a", "type": "smpp", "host": "smpp.example.net", "port": 3550,
 *       "systemId": "shop", "passwordEnv": "SMSC_A_PASSWORD", "sourceAddr": "Shop",
 *       "tls": { "caFile": "smsc-a-ca.pem" } },
 *     { "id": "twilio-us", "type": "twilio", "accountSid": "AC…",
 *       "authTokenEnv": "TWILIO_AUTH_TOKEN", "from": "+15005550006" }
 *   ],
 *   "projects": {
 *     "*": { "rules": [{ "routes": [{ "carrier": "smsc-a" }] }] },
 *     "prj_…": { "rules": [
 *       { "countries": ["GB"], "prefixes": ["+4477"],
 *         "routes": [{ "carrier": "smsc-a", "priority": 0, "weight": 3, "costPerSegment": 0.032 },
 *                    { "carrier": "smsc-b", "priority": 0, "weight": 1, "costPerSegment": 0.035 },
 *                    { "carrier": "smsc-c", "priority": 1 }] }
 *     ] }
 *   }
 * }
 * ```
 * @module
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { CountryCode } from '@textgate/shared'
import * as v from 'valibot'
import { Identifier, Milliseconds, PositiveInteger } from '../carriers/entry-fields'
import { CarrierSchema, kindOf, secretEnvFields } from '../carriers/registry'
import { RoutingConfigError } from './errors'

export type { CarrierSpec } from '../carriers/registry'
export { RoutingConfigError } from './errors'

export const RouteSchema = v.strictObject({
  carrier: Identifier,
  /** Lower is tried first; routes of equal priority share traffic by weight. */
  priority: v.optional(
    v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(0)),
    0,
  ),
  weight: v.optional(
    v.pipe(v.number('must be a number'), v.minValue(0, 'must not be negative')),
    1,
  ),
  /** In the operator's currency, per segment (part) sent. */
  costPerSegment: v.optional(
    v.pipe(v.number('must be a number'), v.minValue(0, 'must not be negative')),
  ),
})

export const RuleSchema = v.strictObject({
  /** ISO 3166 alpha-2 codes of countries (`UK` is refused: GB); absent means every country. */
  countries: v.optional(v.array(CountryCode)),
  /** E.164 prefixes ("+4477"); absent means every number. */
  prefixes: v.optional(
    v.array(v.pipe(v.string(), v.regex(/^\+\d{1,15}$/, 'must be "+" and 1 to 15 digits'))),
  ),
  routes: v.pipe(v.array(RouteSchema), v.minLength(1, 'must list at least one route')),
})

export const RoutingSchema = v.strictObject({
  carriers: v.array(CarrierSchema),
  projects: v.record(
    v.pipe(
      v.string(),
      v.regex(/^(\*|prj_[A-Za-z0-9]+)$/, 'project keys must be a project id (prj_…) or "*"'),
    ),
    v.strictObject({ rules: v.array(RuleSchema) }),
  ),
  retry: v.optional(
    v.strictObject({
      /** Extra tries on the same route before failing over. */
      attempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10)), 1),
      baseMs: v.optional(Milliseconds, 100),
      /** Longer waits (e.g. a Retry-After) fail over at once instead of waiting. */
      maxWaitMs: v.optional(Milliseconds, 2_000),
    }),
  ),
  breaker: v.optional(
    v.strictObject({
      /** Consecutive failures that open a route's circuit. */
      failures: v.optional(PositiveInteger, 5),
      /** How long an open circuit waits before letting one probe through. */
      halfOpenAfterMs: v.optional(Milliseconds, 10_000),
    }),
  ),
})

export type RoutingConfig = v.InferOutput<typeof RoutingSchema>
export type RouteSpec = v.InferOutput<typeof RouteSchema>
export type RuleSpec = v.InferOutput<typeof RuleSchema>

/**
 * Checks a parsed routing document: shape first, then what the schema cannot see (duplicate
 * carrier ids, routes naming unknown carriers, passwords). Throws {@link RoutingConfigError}
 * listing every problem with its path.
 * @example
 * const routing = parseRoutingConfig(JSON.parse(text), 'routes.json')
 */
export function parseRoutingConfig(
  input: unknown,
  source = 'routing config',
  env: Record<string, string | undefined> = process.env,
  /** Where relative file names (SMPP tls.caFile, …) start: the routing file's folder. */
  baseDir = process.cwd(),
): RoutingConfig {
  const parsed = v.safeParse(RoutingSchema, input)
  if (!parsed.success) {
    throw new RoutingConfigError(
      source,
      parsed.issues.map((issue) => {
        const path = v.getDotPath(issue)
        return path ? `${path}: ${issue.message}` : issue.message
      }),
    )
  }
  const config = parsed.output
  const problems: string[] = []
  const ids = new Set<string>()
  config.carriers.forEach((carrier, index) => {
    if (ids.has(carrier.id)) problems.push(`carriers.${index}.id: "${carrier.id}" is used twice`)
    ids.add(carrier.id)
    const kind = kindOf(carrier)
    for (const [field, name] of secretEnvFields(carrier)) {
      if (env[name] === undefined || (env[name] === '' && !kind.emptySecretAllowed)) {
        problems.push(
          `carriers.${index}.${field}: the environment variable ${name} is ${env[name] === undefined ? 'not set' : 'empty'} (carrier "${carrier.id}")`,
        )
      }
    }
    problems.push(...(kind.check?.(carrier, baseDir) ?? []).map((p) => `carriers.${index}${p}`))
  })
  for (const [project, { rules }] of Object.entries(config.projects)) {
    rules.forEach((rule, r) => {
      rule.routes.forEach((route, i) => {
        if (!ids.has(route.carrier)) {
          problems.push(
            `projects.${project}.rules.${r}.routes.${i}.carrier: no carrier "${route.carrier}" is defined`,
          )
        }
      })
      const priorities = new Set(rule.routes.map((route) => route.priority))
      for (const priority of priorities) {
        const group = rule.routes.filter((route) => route.priority === priority)
        if (group.every((route) => route.weight === 0)) {
          problems.push(
            `projects.${project}.rules.${r}.routes: every route of priority ${priority} has weight 0`,
          )
        }
      }
    })
  }
  if (problems.length > 0) throw new RoutingConfigError(source, problems)
  return config
}

/** Reads and checks a routing file. */
export function loadRoutingFile(
  path: string,
  env: Record<string, string | undefined> = process.env,
): RoutingConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new RoutingConfigError(path, [`cannot read the file: ${reason}`])
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new RoutingConfigError(path, [`not valid JSON: ${reason}`])
  }
  return parseRoutingConfig(json, path, env, dirname(resolve(path)))
}
