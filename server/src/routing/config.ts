/**
 * The routing file: the live carriers (connections) and, per project, the rules that choose
 * an ordered list of routes for a destination. Checked with valibot; every bad field is named
 * by its path in the file. Carrier types: `smpp` and the HTTP adapters (`twilio`, `vonage`,
 * `infobip`, `generic`, `alibaba`, `tencent`); secrets are named by environment variable
 * (`…Env` fields), never written in the file.
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
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { createSecureContext } from 'node:tls'
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

const TemplateParam = v.picklist(
  ['code', 'minutes', 'brand'],
  'must be "code", "minutes" or "brand"',
)

/** A vendor-specific SMPP TLV tag (0x1400–0x3FFF), as a number or "0x…" text. */
const VendorTlvTag = v.pipe(
  v.union(
    [v.number(), v.pipe(v.string(), v.regex(/^0x[0-9a-f]{1,4}$/i))],
    'must be a tag such as "0x1400"',
  ),
  v.transform((tag) => (typeof tag === 'number' ? tag : Number.parseInt(tag, 16))),
  v.check(
    (tag) => Number.isInteger(tag) && tag >= 0x1400 && tag <= 0x3fff,
    'must be a vendor-specific tag, 0x1400 to 0x3FFF',
  ),
)

/** Missing required fields and unknown fields are told apart. */
const fieldMessage = (issue: v.BaseIssue<unknown>) =>
  issue.expected === 'never'
    ? 'is not a known field'
    : issue.expected?.startsWith('"')
      ? 'is required'
      : 'must be an object'

const FilePath = v.pipe(v.string('must be a file path'), v.minLength(1, 'must not be empty'))

/**
 * SMPP over TLS: `true` verifies the SMSC's certificate against Node's bundled roots; an object
 * names the CA to verify it against, the name to check, and a client certificate. Files (PEM)
 * are relative to the routing file and read at start-up.
 */
const SmppTlsObjectSchema = v.strictObject(
  {
    caFile: v.optional(FilePath),
    servername: v.optional(
      v.pipe(v.string('must be a host name'), v.minLength(1, 'must not be empty')),
    ),
    certFile: v.optional(FilePath),
    keyFile: v.optional(FilePath),
    /** false accepts any certificate: it must be written out, and is warned about. */
    rejectUnauthorized: v.optional(v.boolean('must be true or false')),
  },
  fieldMessage,
)
// An object is checked field by field (one message per bad field); anything else must be a boolean.
const SmppTlsSchema = v.lazy((input) =>
  typeof input === 'object' && input !== null && !Array.isArray(input)
    ? SmppTlsObjectSchema
    : v.boolean('must be true or an object such as { "caFile": "smsc-ca.pem" }'),
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
    /**
     * India DLT: the TLVs carrying the principal entity id and content template id on texts to
     * +91 (default 0x1400 and 0x1401, as Indian operators' SMPP DLT specifications name them);
     * false sends none (the SMSC maps them itself).
     */
    dltTlvs: v.optional(
      v.union(
        [
          v.literal(false),
          v.strictObject({ entityId: VendorTlvTag, templateId: VendorTlvTag }, fieldMessage),
        ],
        'must be false or { "entityId": "0x1400", "templateId": "0x1401" }',
      ),
    ),
    tls: v.optional(SmppTlsSchema),
  },
  fieldMessage,
)

/** The name of an environment variable holding a secret: the file never holds the secret. */
const EnvName = v.pipe(
  v.string('must be an environment variable name'),
  v.regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name (A-Z, 0-9, _)'),
)

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
}

const HttpUrl = v.pipe(
  v.string('must be a URL'),
  v.check(isHttpUrl, 'must be an http or https URL such as https://api.example.com'),
)

const Text = v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty'))

const UtcOffset = v.pipe(
  v.string('must be a string'),
  v.regex(/^[+-]\d{2}:\d{2}$/, 'must be a UTC offset such as "+08:00"'),
)

const Sender = v.pipe(
  v.string('must be a string'),
  v.regex(
    /^(\+?\d{1,15}|[A-Za-z0-9 ._-]{1,11})$/,
    'must be a number (up to 15 digits) or up to 11 letters and digits',
  ),
)

export const TwilioCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('twilio'),
    accountSid: v.pipe(
      v.string('must be a string'),
      v.regex(/^AC[0-9a-f]{32}$/i, 'must be "AC" and 32 hex digits'),
    ),
    authTokenEnv: EnvName,
    /** An API key to authenticate sends instead of the Auth Token (which still signs callbacks). */
    apiKey: v.optional(
      v.strictObject(
        {
          sid: v.pipe(
            v.string('must be a string'),
            v.regex(/^SK[0-9a-f]{32}$/i, 'must be "SK" and 32 hex digits'),
          ),
          secretEnv: EnvName,
        },
        fieldMessage,
      ),
    ),
    from: v.optional(Sender),
    messagingServiceSid: v.optional(
      v.pipe(
        v.string('must be a string'),
        v.regex(/^MG[0-9a-f]{32}$/i, 'must be "MG" and 32 hex digits'),
      ),
    ),
    /** Default: PUBLIC_URL + /v1/carriers/{id}/reports. */
    statusCallbackUrl: v.optional(HttpUrl),
    baseUrl: v.optional(HttpUrl),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const VonageCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('vonage'),
    apiKey: Text,
    apiSecretEnv: v.optional(EnvName),
    /** Signs sends and checks receipts' signatures (instead of apiSecretEnv). */
    signature: v.optional(
      v.strictObject(
        {
          secretEnv: EnvName,
          method: v.picklist(
            ['md5hash', 'md5', 'sha1', 'sha256', 'sha512'],
            'must be "md5hash", "md5", "sha1", "sha256" or "sha512"',
          ),
        },
        fieldMessage,
      ),
    ),
    /** Without a signature, receipts are checked by this token in the callback URL. */
    callbackTokenEnv: v.optional(EnvName),
    from: Sender,
    /** Default: PUBLIC_URL + /v1/carriers/{id}/reports (with ?token= when callbackTokenEnv). */
    callbackUrl: v.optional(HttpUrl),
    currency: v.optional(
      v.pipe(v.string('must be a string'), v.regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code')),
    ),
    restHost: v.optional(HttpUrl),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const InfobipCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('infobip'),
    /** The account's personal base URL, e.g. https://xxxxx.api.infobip.com. */
    baseUrl: HttpUrl,
    apiKeyEnv: EnvName,
    from: Sender,
    /** Default: PUBLIC_URL + /v1/carriers/{id}/reports; ?token= is added when callbackTokenEnv. */
    notifyUrl: v.optional(HttpUrl),
    callbackTokenEnv: v.optional(EnvName),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

type BodyTemplateValue = string | number | boolean | { [key: string]: BodyTemplateValue }
const BodyTemplateValueSchema: v.GenericSchema<BodyTemplateValue> = v.union(
  [
    v.string(),
    v.number(),
    v.boolean(),
    v.record(
      v.string(),
      v.lazy(() => BodyTemplateValueSchema),
    ),
  ],
  'must be a string, number, boolean or object',
)

const ReportStatusSchema = v.picklist(
  ['sent', 'delivered', 'failed', 'undelivered'],
  'must be "sent", "delivered", "failed" or "undelivered"',
)

const HeaderName = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9-]+$/, 'header names must be letters, digits and "-"'),
)

export const GenericCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('generic'),
    url: HttpUrl,
    method: v.optional(v.picklist(['POST', 'PUT'], 'must be "POST" or "PUT"')),
    bodyFormat: v.optional(v.picklist(['json', 'form'], 'must be "json" or "form"')),
    /**
     * Strings may hold {{to}}, {{toDigits}}, {{text}}, {{id}}, {{from}}, {{encoding}}, {{code}},
     * {{minutes}}, {{brand}}, {{locale}}, {{signName}}, {{dltEntityId}}, {{dltTemplateId}},
     * {{validitySeconds}}.
     */
    body: v.record(v.string(), BodyTemplateValueSchema, 'must be an object'),
    /** Headers without secrets; an Authorization header belongs in headersEnv. */
    headers: v.optional(
      v.record(
        v.pipe(
          HeaderName,
          v.check(
            (name) => name.toLowerCase() !== 'authorization',
            'Authorization holds a secret: put it in "headersEnv"',
          ),
        ),
        v.string('must be a string'),
        'must be an object',
      ),
    ),
    /** Header name to the environment variable holding its whole value ("Bearer …"). */
    headersEnv: v.optional(v.record(HeaderName, EnvName, 'must be an object')),
    from: v.optional(Sender),
    /** Dotted path of the message id in the JSON answer, e.g. "data.message.id". */
    responseIdPath: Text,
    callback: v.optional(
      v.strictObject(
        {
          secretEnv: EnvName,
          header: v.optional(HeaderName),
          idPath: Text,
          statusPath: Text,
          statusMap: v.record(v.string(), ReportStatusSchema, 'must be an object'),
          errorCodePath: v.optional(Text),
          timePath: v.optional(Text),
          listPath: v.optional(Text),
        },
        fieldMessage,
      ),
    ),
    /** The range the gateway accepts for {{validitySeconds}} (seconds); default 1, no maximum. */
    validitySeconds: v.optional(
      v.strictObject(
        { min: v.optional(PositiveInteger), max: v.optional(PositiveInteger) },
        fieldMessage,
      ),
    ),
    capabilities: v.optional(
      v.strictObject(
        {
          unicode: v.optional(v.boolean('must be true or false')),
          maxParts: v.optional(PositiveInteger),
          templatesOnly: v.optional(v.boolean('must be true or false')),
          senderId: v.optional(
            v.strictObject(
              {
                alphanumeric: v.boolean('must be true or false'),
                maxLength: v.pipe(v.number('must be a number'), v.integer(), v.minValue(0)),
              },
              fieldMessage,
            ),
          ),
        },
        fieldMessage,
      ),
    ),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const AlibabaCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('alibaba'),
    accessKeyId: Text,
    accessKeySecretEnv: EnvName,
    /** The sign name used when a project registers none (pnpm textgate registrations set). */
    signName: v.optional(Text),
    /** The template used when a project registers none. */
    templateCode: v.optional(Text),
    /** Template variable → "code" | "minutes" | "brand"; default { "code": "code" }. */
    templateParams: v.optional(
      v.record(
        v.pipe(v.string(), v.regex(/^\w{1,32}$/, 'variable names are letters, digits and _')),
        TemplateParam,
        'must be an object of template variable → "code", "minutes" or "brand"',
      ),
    ),
    endpoint: v.optional(HttpUrl),
    regionId: v.optional(Text),
    callbackTokenEnv: v.optional(EnvName),
    reportUtcOffset: v.optional(UtcOffset),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const TencentCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('tencent'),
    secretId: Text,
    secretKeyEnv: EnvName,
    smsSdkAppId: Text,
    /** The template used when a project registers none (pnpm textgate registrations set). */
    templateId: v.optional(Text),
    /** Our values in the template's {1}, {2}, … order; default ["code"]. */
    templateParams: v.optional(v.array(TemplateParam, 'must be a list such as ["code"]')),
    signName: v.optional(Text),
    senderId: v.optional(Text),
    region: v.optional(Text),
    /** https://sms.tencentcloudapi.com (default) or https://sms.intl.tencentcloudapi.com. */
    endpoint: v.optional(HttpUrl),
    callbackTokenEnv: v.optional(EnvName),
    reportUtcOffset: v.optional(UtcOffset),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const CARRIER_TYPES = [
  'smpp',
  'twilio',
  'vonage',
  'infobip',
  'generic',
  'alibaba',
  'tencent',
] as const

export const CarrierSchema = v.variant(
  'type',
  [
    SmppCarrierSchema,
    TwilioCarrierSchema,
    VonageCarrierSchema,
    InfobipCarrierSchema,
    GenericCarrierSchema,
    AlibabaCarrierSchema,
    TencentCarrierSchema,
  ],
  (issue) =>
    `unknown carrier type ${JSON.stringify(issue.input)} (known: ${CARRIER_TYPES.map((t) => `"${t}"`).join(', ')})`,
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
    for (const [field, name] of secretEnvFields(carrier)) {
      // An empty SMPP password can be genuine; an empty API secret or token never is.
      if (env[name] === undefined || (env[name] === '' && carrier.type !== 'smpp')) {
        problems.push(
          `carriers.${index}.${field}: the environment variable ${name} is ${env[name] === undefined ? 'not set' : 'empty'} (carrier "${carrier.id}")`,
        )
      }
    }
    problems.push(...carrierProblems(carrier).map((p) => `carriers.${index}${p}`))
    if (carrier.type === 'smpp' && typeof carrier.tls === 'object') {
      const { tls } = carrier
      for (const field of TLS_FILES) {
        const file = tls[field]
        if (file !== undefined) tls[field] = resolve(baseDir, file)
      }
      problems.push(
        ...readSmppTls(carrier).problems.map(
          (p) => `carriers.${index}${p} (carrier "${carrier.id}")`,
        ),
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
  return parseRoutingConfig(json, path, env, dirname(resolve(path)))
}

/** The file fields of an SMPP entry's `tls`. */
const TLS_FILES = ['caFile', 'certFile', 'keyFile'] as const

/** An SMPP entry's TLS settings with its files read (PEM contents), as the adapter takes them. */
export interface SmppTlsMaterial {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  servername?: string
  rejectUnauthorized?: boolean
}

/**
 * Reads the files an SMPP entry's `tls` names (absolute once the routing file was parsed) and
 * checks that they hold a certificate, and a key that goes with the client certificate. Each
 * problem starts with its path within the entry; no message quotes a file's contents.
 */
export function readSmppTls(carrier: CarrierSpec & { type: 'smpp' }): {
  tls: boolean | SmppTlsMaterial | undefined
  problems: string[]
} {
  const spec = carrier.tls
  if (typeof spec !== 'object') return { tls: spec, problems: [] }
  const problems: string[] = []
  const files: Partial<Record<(typeof TLS_FILES)[number], Buffer>> = {}
  for (const field of TLS_FILES) {
    const file = spec[field]
    if (file === undefined) continue
    try {
      files[field] = readFileSync(file)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
      problems.push(`.tls.${field}: cannot read ${file} (${code})`)
    }
  }
  if (spec.certFile !== undefined && spec.keyFile === undefined) {
    problems.push('.tls.keyFile: is required with "certFile" (the client certificate\'s key)')
  }
  if (spec.keyFile !== undefined && spec.certFile === undefined) {
    problems.push('.tls.certFile: is required with "keyFile"')
  }
  for (const field of ['caFile', 'certFile'] as const) {
    const pem = files[field]
    if (!pem) continue
    try {
      new X509Certificate(pem)
    } catch {
      problems.push(`.tls.${field}: ${spec[field]} holds no PEM certificate`)
    }
  }
  if (problems.length === 0 && files.certFile && files.keyFile) {
    try {
      createSecureContext({ cert: files.certFile, key: files.keyFile })
    } catch (error) {
      // OpenSSL's reason (no start line, key values mismatch, …) quotes nothing of the key.
      const reason = (error as { code?: string }).code ?? 'unusable'
      problems.push(
        `.tls.keyFile: ${spec.keyFile} is not an unencrypted PEM key for the certFile certificate (${reason})`,
      )
    }
  }
  return {
    tls: {
      ca: files.caFile,
      cert: files.certFile,
      key: files.keyFile,
      servername: spec.servername,
      rejectUnauthorized: spec.rejectUnauthorized,
    },
    problems,
  }
}

/** The `…Env` fields of a carrier entry, as [path within the entry, variable name]. */
export function secretEnvFields(carrier: CarrierSpec): [string, string][] {
  const fields: [string, string | undefined][] = []
  switch (carrier.type) {
    case 'smpp':
      fields.push(['passwordEnv', carrier.passwordEnv])
      break
    case 'twilio':
      fields.push(['authTokenEnv', carrier.authTokenEnv])
      fields.push(['apiKey.secretEnv', carrier.apiKey?.secretEnv])
      break
    case 'vonage':
      fields.push(['apiSecretEnv', carrier.apiSecretEnv])
      fields.push(['signature.secretEnv', carrier.signature?.secretEnv])
      fields.push(['callbackTokenEnv', carrier.callbackTokenEnv])
      break
    case 'infobip':
      fields.push(['apiKeyEnv', carrier.apiKeyEnv])
      fields.push(['callbackTokenEnv', carrier.callbackTokenEnv])
      break
    case 'generic':
      for (const [header, name] of Object.entries(carrier.headersEnv ?? {})) {
        fields.push([`headersEnv.${header}`, name])
      }
      fields.push(['callback.secretEnv', carrier.callback?.secretEnv])
      break
    case 'alibaba':
      fields.push(['accessKeySecretEnv', carrier.accessKeySecretEnv])
      fields.push(['callbackTokenEnv', carrier.callbackTokenEnv])
      break
    case 'tencent':
      fields.push(['secretKeyEnv', carrier.secretKeyEnv])
      fields.push(['callbackTokenEnv', carrier.callbackTokenEnv])
      break
  }
  return fields.filter((field): field is [string, string] => field[1] !== undefined)
}

/** What one field cannot say alone; each problem starts with its path within the entry. */
function carrierProblems(carrier: CarrierSpec): string[] {
  switch (carrier.type) {
    case 'smpp':
      return carrier.password === undefined && carrier.passwordEnv === undefined
        ? [': needs "passwordEnv" (or "password")']
        : []
    case 'twilio':
      if (carrier.from === undefined && carrier.messagingServiceSid === undefined) {
        return [': needs "from" or "messagingServiceSid"']
      }
      if (carrier.from !== undefined && carrier.messagingServiceSid !== undefined) {
        return ['.messagingServiceSid: set "from" or "messagingServiceSid", not both']
      }
      return []
    case 'vonage':
      if (carrier.apiSecretEnv === undefined && carrier.signature === undefined) {
        return [': needs "apiSecretEnv" or "signature"']
      }
      return []
    case 'generic': {
      const headers = Object.keys(carrier.headers ?? {}).map((h) => h.toLowerCase())
      return Object.keys(carrier.headersEnv ?? {})
        .filter((h) => headers.includes(h.toLowerCase()))
        .map((h) => `.headersEnv.${h}: the header is also in "headers"`)
    }
    default:
      return []
  }
}

/** The value of an `…Env` field (checked to be set when the file was loaded). */
export function secretFromEnv(
  name: string,
  env: Record<string, string | undefined> = process.env,
): string {
  return env[name] ?? ''
}

/** The password of an SMPP carrier, from its environment variable when it names one. */
export function carrierPassword(
  carrier: CarrierSpec & { type: 'smpp' },
  env: Record<string, string | undefined> = process.env,
): string {
  return carrier.passwordEnv !== undefined
    ? (env[carrier.passwordEnv] ?? '')
    : (carrier.password ?? '')
}
