/**
 * The routing file: the live carriers (connections) and, per project, the rules that choose
 * an ordered list of routes for a destination. Checked with valibot; every bad field is named
 * by its path in the file.
 *
 * ```json
 * {
 *   "carriers": [
 *     { "id": "smsc-a", "type": "smpp", "host": "smpp.example.net", "port": 2775,
 *       "systemId": "shop", "passwordEnv": "SMSC_A_PASSWORD", "sourceAddr": "Shop" }
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
import * as v from 'valibot'

const Identifier = v.pipe(
  v.string('must be a string'),
  v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'must be letters, digits, "-" or "_" (at most 63)'),
)

const Port = v.pipe(
  v.number('must be a number'),
  v.integer('must be a whole number'),
  v.minValue(1, 'must be 1 to 65535'),
  v.maxValue(65535, 'must be 1 to 65535'),
)

const PositiveInteger = v.pipe(
  v.number('must be a number'),
  v.integer('must be a whole number'),
  v.minValue(1, 'must be at least 1'),
)

const Milliseconds = v.pipe(
  v.number('must be a number of milliseconds'),
  v.integer('must be a whole number of milliseconds'),
  v.minValue(0, 'must not be negative'),
)

export const SmppCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('smpp'),
    host: v.pipe(v.string('must be a host name'), v.minLength(1, 'must not be empty')),
    port: Port,
    systemId: v.pipe(
      v.string('must be a string'),
      v.minLength(1, 'must not be empty'),
      v.maxLength(15, 'must be at most 15 characters (SMPP 3.4)'),
    ),
    /** Prefer passwordEnv: the file then holds no secret. */
    password: v.optional(
      v.pipe(v.string(), v.maxLength(8, 'must be at most 8 characters (SMPP 3.4)')),
    ),
    passwordEnv: v.optional(
      v.pipe(v.string(), v.regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')),
    ),
    systemType: v.optional(v.pipe(v.string(), v.maxLength(12, 'must be at most 12 characters'))),
    sourceAddr: v.pipe(
      v.string('must be a string'),
      v.regex(
        /^(\+?\d{1,15}|[A-Za-z0-9 ._-]{1,11})$/,
        'must be a number (up to 15 digits) or up to 11 letters and digits',
      ),
    ),
    window: v.optional(PositiveInteger),
    enquireLinkMs: v.optional(Milliseconds),
    responseTimeoutMs: v.optional(Milliseconds),
    throttleRetryAfterMs: v.optional(Milliseconds),
    longMessages: v.optional(v.picklist(['udh', 'payload'], 'must be "udh" or "payload"')),
    maxParts: v.optional(PositiveInteger),
  },
  'is not a known field',
)

export const CarrierSchema = v.variant(
  'type',
  [SmppCarrierSchema],
  (issue) => `unknown carrier type ${JSON.stringify(issue.input)} (known: "smpp")`,
)

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
  /** ISO 3166 alpha-2 codes; absent means every country. */
  countries: v.optional(
    v.array(
      v.pipe(v.string(), v.regex(/^[A-Z]{2}$/, 'must be an upper-case ISO 3166 alpha-2 code')),
    ),
  ),
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
export type CarrierSpec = v.InferOutput<typeof CarrierSchema>
export type RouteSpec = v.InferOutput<typeof RouteSchema>
export type RuleSpec = v.InferOutput<typeof RuleSchema>

export class RoutingConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(
      `[textgate] [routing] ${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    )
    this.name = 'RoutingConfigError'
  }
}

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
    if (carrier.password === undefined && carrier.passwordEnv === undefined) {
      problems.push(`carriers.${index}: needs "passwordEnv" (or "password")`)
    }
    if (carrier.passwordEnv !== undefined && env[carrier.passwordEnv] === undefined) {
      problems.push(
        `carriers.${index}.passwordEnv: the environment variable ${carrier.passwordEnv} is not set`,
      )
    }
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
  return parseRoutingConfig(json, path, env)
}

/** The password of a carrier, from its environment variable when it names one. */
export function carrierPassword(
  carrier: CarrierSpec,
  env: Record<string, string | undefined> = process.env,
): string {
  return carrier.passwordEnv !== undefined
    ? (env[carrier.passwordEnv] ?? '')
    : (carrier.password ?? '')
}
