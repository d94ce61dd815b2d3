/**
 * Schemas of the operator-facing endpoints: readiness for orchestrators.
 * @module
 */
import * as v from 'valibot'

/** `GET /readyz`: 200 when every check passes, 503 otherwise, with each check's state. */
export const ReadinessResponse = v.object({
  status: v.picklist(['ready', 'not_ready']),
  checks: v.object({
    /** A query answered within 2 s. */
    database: v.picklist(['ok', 'unreachable']),
    /** Every migration this build knows is applied (`ahead`: the database has newer ones too). */
    migrations: v.picklist(['current', 'pending', 'ahead', 'unknown']),
    /** No code text due for more than 5 minutes is left unclaimed. */
    outbox: v.picklist(['ok', 'stuck', 'unknown']),
    /** The same for webhook deliveries. */
    webhooks: v.picklist(['ok', 'stuck', 'unknown']),
    /** The process is not shutting down. */
    accepting: v.boolean(),
    /** Only when the fraud counters live outside the database (REDIS_URL): Redis answered. */
    counters: v.optional(v.picklist(['ok', 'unreachable'])),
  }),
  /** Age in seconds of the oldest due, unclaimed row of each queue (0 when none). */
  oldestDueSeconds: v.object({ outbox: v.number(), webhooks: v.number() }),
})
export type ReadinessResponse = v.InferOutput<typeof ReadinessResponse>

const isoTimestamp = v.pipe(v.string(), v.isoTimestamp())

/** `GET /healthz`: the process is alive (503 `shutting_down` while it drains). */
export const LivenessResponse = v.object({ status: v.picklist(['ok', 'shutting_down']) })

/** A key as the keys API lists it: never the key itself. */
export const ApiKeySummary = v.object({
  id: v.string(),
  projectId: v.string(),
  kind: v.picklist(['publishable', 'secret']),
  mode: v.picklist(['live', 'test']),
  /** The first characters and the last four. */
  prefix: v.string(),
  createdAt: isoTimestamp,
  lastUsedAt: v.nullable(isoTimestamp),
  revokedAt: v.nullable(isoTimestamp),
})
export const ApiKeyList = v.array(ApiKeySummary)
export const CreatedApiKey = v.object({
  ...ApiKeySummary.entries,
  /** The key in clear: shown this once. */
  key: v.string(),
})
export const CreateApiKeyRequest = v.strictObject({
  kind: v.picklist(['publishable', 'secret']),
})

const Ranked = v.array(v.object({ key: v.string(), count: v.number() }))

/** `GET /v1/fraud/summary?hours=`: the window, in hours (1 when left out; at most 720). */
export const FraudSummaryQuery = v.object({
  hours: v.optional(
    v.pipe(
      v.string(),
      v.regex(
        /^\d{1,3}(\.\d{1,3})?$/,
        'hours must be a number of hours, more than 0 and at most 720',
      ),
      v.transform(Number),
      v.gtValue(0, 'hours must be more than 0 and at most 720'),
      v.maxValue(720, 'hours must be more than 0 and at most 720'),
    ),
    '1',
  ),
})

/** `GET /v1/fraud/events?limit=&decision=`: how many (1–500, 50 when left out), and which. */
export const FraudEventsQuery = v.object({
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,3}$/, 'limit must be a whole number from 1 to 500'),
      v.transform(Number),
      v.minValue(1, 'limit must be a whole number from 1 to 500'),
      v.maxValue(500, 'limit must be a whole number from 1 to 500'),
    ),
    '50',
  ),
  decision: v.optional(
    v.picklist(['allow', 'challenge', 'block'], 'decision must be allow, challenge or block'),
  ),
})

/** `GET /v1/fraud/summary`: what the guard did lately. */
export const FraudSummary = v.object({
  since: isoTimestamp,
  starts: v.number(),
  outcomes: v.record(v.string(), v.number()),
  topReasons: Ranked,
  topStoppedRanges: Ranked,
  topStoppedCountries: Ranked,
})

/** `GET /.well-known/jwks.json`: the public keys that sign phone tokens. */
export const JsonWebKeySet = v.object({
  keys: v.array(
    v.looseObject({
      kty: v.string(),
      kid: v.string(),
      alg: v.optional(v.picklist(['EdDSA', 'ES256'])),
      use: v.optional(v.literal('sig')),
    }),
  ),
})

/** What some carriers need in the answer to count a push of reports received. */
const CarrierAcknowledgement = {
  /** Alibaba's SmsReport push reads `code` (0: received) … */
  code: v.optional(v.number()),
  msg: v.optional(v.string()),
  /** … Tencent's status push `result` (0: received). */
  result: v.optional(v.number()),
  errmsg: v.optional(v.string()),
}
/**
 * `/v1/carriers/{carrier}/reports`: how many reports moved a message forward, or `replayed` for
 * a copy of a callback already applied (acknowledged, not applied again).
 */
export const CarrierReportsResult = v.union([
  v.object({
    received: v.number(),
    applied: v.number(),
    held: v.optional(v.number()),
    ...CarrierAcknowledgement,
  }),
  v.object({ replayed: v.literal(true), ...CarrierAcknowledgement }),
])

/** The body of every error answer. */
export const ErrorResponse = v.object({
  error: v.looseObject({ code: v.string(), message: v.string() }),
})
