/**
 * Webhook events (Standard Webhooks 1.0) and the secret-key API that manages endpoints: valibot
 * schemas, so the server validates with them, the OpenAPI document is generated from them, and
 * store servers take their types. No event ever carries a code.
 * @module
 */
import * as v from 'valibot'

const isoTimestamp = v.pipe(v.string(), v.isoTimestamp())
const Mode = v.picklist(['live', 'test'])

export const WEBHOOK_EVENT_TYPES = [
  'verification.approved',
  'verification.failed',
  'message.delivered',
  'message.failed',
  'fraud.restricted',
  'fraud.lifted',
  'consent.marketing',
  'key.revoked',
] as const
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]
export const WebhookEventTypeSchema = v.picklist(WEBHOOK_EVENT_TYPES)

/** Every event's `data` says which project and mode it belongs to. */
const base = { projectId: v.string(), mode: Mode }

export const VerificationApprovedData = v.object({
  ...base,
  verificationId: v.string(),
  /** The verified number, E.164. */
  phone: v.string(),
  country: v.string(),
  approvedAt: isoTimestamp,
})

export const VerificationFailedData = v.object({
  ...base,
  verificationId: v.string(),
  phone: v.string(),
  country: v.string(),
  /** expired: the code ran out; max_attempts: too many wrong codes; canceled. */
  reason: v.picklist(['expired', 'max_attempts', 'canceled']),
  failedAt: isoTimestamp,
})

const MessageData = v.object({
  ...base,
  messageId: v.string(),
  verificationId: v.string(),
  /** The destination, E.164. The text itself (it holds the code) is never sent. */
  to: v.string(),
  carrier: v.nullable(v.string()),
  status: v.picklist(['delivered', 'undelivered', 'failed']),
  /** The carrier's own error code, when it gave one. */
  errorCode: v.nullable(v.string()),
  segments: v.nullable(v.number()),
  at: isoTimestamp,
})
export const MessageDeliveredData = MessageData
export const MessageFailedData = MessageData

export const FraudRestrictionData = v.object({
  ...base,
  /** What is restricted: a number, a prefix, an address (or /64), or a whole country. */
  subject: v.object({
    kind: v.picklist(['phone', 'prefix', 'ip', 'country', 'project']),
    value: v.string(),
    /**
     * For a prefix: how many trailing digits its numbers have after `value` (5: a block of
     * 100 000 numbers, 6: of 1 000 000), as the guard judges ranges at several widths.
     */
    digits: v.optional(v.number()),
  }),
  /** Reason codes of the fraud guard, such as `velocity_phone` or `manual`. */
  reasons: v.array(v.string()),
  /** When a temporary restriction ends by itself; null when it stays until lifted. */
  until: v.nullable(isoTimestamp),
  at: isoTimestamp,
})

export const ConsentMarketingData = v.object({
  ...base,
  verificationId: v.string(),
  /** The number that opted in to the store's marketing texts, verified. */
  phone: v.string(),
  consentVersion: v.string(),
  at: isoTimestamp,
})

export const KeyRevokedData = v.object({
  ...base,
  keyId: v.string(),
  kind: v.picklist(['publishable', 'secret']),
  /** The key's display hint ("sk_live_…a1b2"), never the key. */
  hint: v.string(),
  revokedAt: isoTimestamp,
})

const event = <T extends WebhookEventType, D extends v.GenericSchema>(type: T, data: D) =>
  v.object({ type: v.literal(type), timestamp: isoTimestamp, data })

/** The JSON body of every webhook request (Standard Webhooks' `{ type, timestamp, data }`). */
export const WebhookEvent = v.variant('type', [
  event('verification.approved', VerificationApprovedData),
  event('verification.failed', VerificationFailedData),
  event('message.delivered', MessageDeliveredData),
  event('message.failed', MessageFailedData),
  event('fraud.restricted', FraudRestrictionData),
  event('fraud.lifted', FraudRestrictionData),
  event('consent.marketing', ConsentMarketingData),
  event('key.revoked', KeyRevokedData),
])
export type WebhookEvent = v.InferOutput<typeof WebhookEvent>
/** The `data` of an event of type `T`. */
export type WebhookEventData<T extends WebhookEventType> = Extract<
  WebhookEvent,
  { type: T }
>['data']

// Secret-key API: /v1/webhooks/...

const EventFilter = v.pipe(
  v.array(WebhookEventTypeSchema, 'events must be an array of event types'),
  v.minLength(1, 'events must name at least one event type, or be left out for all'),
  v.maxLength(WEBHOOK_EVENT_TYPES.length),
)

export const CreateWebhookEndpointRequest = v.strictObject({
  url: v.pipe(v.string('url must be a string'), v.trim(), v.minLength(1), v.maxLength(2048)),
  /** Event types to receive; every type when left out. */
  events: v.optional(EventFilter),
  description: v.optional(v.pipe(v.string(), v.maxLength(200))),
})
export type CreateWebhookEndpointRequest = v.InferInput<typeof CreateWebhookEndpointRequest>

export const UpdateWebhookEndpointRequest = v.strictObject({
  url: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(2048))),
  events: v.optional(v.nullable(EventFilter)),
  description: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(200)))),
  enabled: v.optional(v.boolean('enabled must be true or false')),
})
export type UpdateWebhookEndpointRequest = v.InferInput<typeof UpdateWebhookEndpointRequest>

export const WebhookEndpoint = v.object({
  id: v.string(),
  url: v.string(),
  mode: Mode,
  /** null: every event type. */
  events: v.nullable(v.array(WebhookEventTypeSchema)),
  description: v.nullable(v.string()),
  enabled: v.boolean(),
  /**
   * Why it is disabled: `manual`, `failing` when deliveries failed for days, or `gone` when the
   * endpoint answered 410 Gone (Standard Webhooks: the receiver wants no more).
   */
  disabledReason: v.nullable(v.picklist(['manual', 'failing', 'gone'])),
  /** Since when every delivery attempt failed; null while it answers. */
  failingSince: v.nullable(isoTimestamp),
  /**
   * Until when an earlier secret still signs too (after a rotation): the last of
   * `previousSecrets` to stop. null when the current secret alone signs.
   */
  previousSecretExpiresAt: v.nullable(isoTimestamp),
  /**
   * The earlier secrets that still sign too, newest first, each until its own `expiresAt`
   * (rotating again within an overlap keeps the earlier ones; five at most, the oldest dropped).
   */
  previousSecrets: v.array(v.object({ expiresAt: isoTimestamp })),
  /**
   * The endpoint's retry time after it answered 429, 502, 503 or 504 (its `Retry-After`, or the
   * schedule's step): no delivery to it is tried before, those raised since included. null when
   * it is not held.
   */
  heldUntil: v.nullable(isoTimestamp),
  createdAt: isoTimestamp,
})
export type WebhookEndpoint = v.InferOutput<typeof WebhookEndpoint>

/** Create and rotate answers carry the signing secret, once. */
export const WebhookEndpointWithSecret = v.object({
  ...WebhookEndpoint.entries,
  /** `whsec_` + base64: give it to your Standard Webhooks verifier. */
  secret: v.string(),
})
export type WebhookEndpointWithSecret = v.InferOutput<typeof WebhookEndpointWithSecret>

export const WebhookEndpointList = v.object({ data: v.array(WebhookEndpoint) })

export const RotateWebhookSecretRequest = v.strictObject({
  /**
   * How long the secret replaced keeps signing too (0–7 days, default 24 h). Earlier secrets
   * still in their overlap keep theirs (5 at most); 0 ends every overlap at once.
   */
  keepPreviousSeconds: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(7 * 24 * 3600)),
  ),
})

export const WebhookAttempt = v.object({
  attempt: v.number(),
  /** The endpoint's HTTP status; null when no answer came (refused, timeout, DNS). */
  statusCode: v.nullable(v.number()),
  latencyMs: v.number(),
  error: v.nullable(v.string()),
  at: isoTimestamp,
})

export const WebhookDelivery = v.object({
  id: v.string(),
  /** The event's id: the `webhook-id` header, the same on every retry and replay. */
  messageId: v.string(),
  endpointId: v.string(),
  type: WebhookEventTypeSchema,
  state: v.picklist(['pending', 'delivered', 'failed']),
  attempts: v.number(),
  nextAttemptAt: v.nullable(isoTimestamp),
  createdAt: isoTimestamp,
  deliveredAt: v.nullable(isoTimestamp),
  log: v.array(WebhookAttempt),
})
export type WebhookDelivery = v.InferOutput<typeof WebhookDelivery>

export const WebhookDeliveryList = v.object({ data: v.array(WebhookDelivery) })

export const WebhookDeliveriesQuery = v.object({
  state: v.optional(v.picklist(['pending', 'delivered', 'failed'])),
  limit: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,3}$/), v.transform(Number), v.minValue(1), v.maxValue(100)),
  ),
})

export const ReplayWebhooksRequest = v.strictObject({
  /** Replay only deliveries created at or after this time. */
  since: v.optional(isoTimestamp),
})

export const ReplayWebhooksResponse = v.object({ replayed: v.number() })
