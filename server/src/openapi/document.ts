/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same valibot schemas the server
 * validates with (shared/): one table of operations here names each route's schemas, and
 * @valibot/to-json-schema turns them into JSON Schema 2020-12. Webhook events are in `webhooks`.
 * @module
 */
import {
  ApiKeyList,
  ApiKeySummary,
  CarrierReportsResult,
  CheckVerificationRequest,
  CheckVerificationResponse,
  CreateApiKeyRequest,
  CreatedApiKey,
  CreateWebhookEndpointRequest,
  ERRORS,
  ErrorResponse,
  FraudEvent,
  FraudEventsQuery,
  FraudListEntry,
  FraudListEntryRequest,
  FraudSummary,
  FraudSummaryQuery,
  IdempotencyKey,
  JsonWebKeySet,
  LivenessResponse,
  ReadinessResponse,
  RedeemTokenRequest,
  RedeemTokenResponse,
  ReplayWebhooksRequest,
  ReplayWebhooksResponse,
  ResendVerificationRequest,
  ResendVerificationResponse,
  RotateWebhookSecretRequest,
  SandboxMessagesQuery,
  SandboxMessagesResponse,
  SandboxRandomNumberQuery,
  SandboxRandomNumberResponse,
  StartVerificationRequest,
  StartVerificationResponse,
  UpdateWebhookEndpointRequest,
  VerificationDetails,
  WEBHOOK_EVENT_TYPES,
  WebhookDeliveriesQuery,
  WebhookDeliveryList,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookEndpointWithSecret,
  WebhookEvent,
  WidgetConfigResponse,
} from '@textgate/shared'
import { toJsonSchema } from '@valibot/to-json-schema'
import * as v from 'valibot'
import { ErasureRequest } from '../privacy/routes'
import { withFields } from '../with-fields'

type Security =
  | 'publishable'
  | 'publishableOrSecret'
  | 'secret'
  | 'testSecret'
  | 'metrics'
  | 'carrier'
  | 'none'

interface Param {
  name: string
  description: string
  required?: boolean
  schema: v.GenericSchema
}

/**
 * A route's query parameters from the object schema it validates them with, so the document and
 * the server cannot differ: `descriptions` names each one.
 */
function queryParams<TEntries extends v.ObjectEntries>(
  schema: v.ObjectSchema<TEntries, undefined>,
  descriptions: { [Name in keyof TEntries]: string },
): Param[] {
  return Object.entries(schema.entries).map(([name, entry]) => ({
    name,
    description: descriptions[name] as string,
    required: entry.type !== 'optional',
    schema:
      entry.type === 'optional'
        ? (entry as v.OptionalSchema<v.GenericSchema, unknown>).wrapped
        : entry,
  }))
}

interface Response {
  description: string
  schema?: v.GenericSchema
  /** Defaults to application/json when a schema is given. */
  contentType?: string
  /** Headers of this answer besides those every answer has (see {@link RESPONSE_HEADERS}). */
  headers?: ResponseHeader[]
}

/**
 * Headers the server adds to its answers, in `components.headers`. `X-Request-Id` is on every
 * answer; `Retry-After` on an error answer that says when to try again (429, a passing 503); the
 * others where an operation's response names them.
 */
export const RESPONSE_HEADERS = {
  'X-Request-Id': {
    description:
      'The id of this request, in every log line about it (kept from a trusted proxy, else new).',
    schema: { type: 'string' },
  },
  'Retry-After': {
    description:
      'Seconds before the same request may be repeated: sent with every 429, and with a 503 that expects to pass. A 429 `max_attempts_reached` is never lifted by waiting: its `retry` says what helps (`new_verification`: start one now; `later`: the number is out of wrong codes for a day).',
    schema: { type: 'integer', minimum: 1 },
  },
  'Idempotent-Replayed': {
    description:
      '`true` when this is the answer kept for an earlier request with the same `Idempotency-Key`.',
    schema: { type: 'string', enum: ['true'] },
  },
} as const

type ResponseHeader = keyof typeof RESPONSE_HEADERS

/** Response headers as `$ref`s into `components.headers`: every answer's, then `names`. */
function responseHeaders(names: ResponseHeader[] = []) {
  return Object.fromEntries(
    (['X-Request-Id', ...names] as ResponseHeader[]).map((name) => [
      name,
      { $ref: `#/components/headers/${name}` },
    ]),
  )
}

export interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete'
  /** OpenAPI path template, `{id}` for parameters. */
  path: string
  operationId: string
  summary: string
  tag: string
  security: Security
  body?: v.GenericSchema
  /** The body may be left out (an empty POST). */
  bodyOptional?: boolean
  query?: Param[]
  headers?: Param[]
  responses: Record<string, Response>
  /**
   * Error statuses it answers beyond those its key, body, query and path parameters imply (see
   * {@link errorStatuses}); the contract check fails a test that sees one not listed.
   */
  errors?: number[]
  /** A route of the console's own page API: listed, marked `x-internal`, not for stores. */
  internal?: boolean
}

export const OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/v1/verifications',
    operationId: 'startVerification',
    errors: [403, 409, 422, 428, 429, 503],
    summary: 'Start a verification: check the number, screen it, text a code.',
    tag: 'Verifications',
    security: 'publishableOrSecret',
    body: StartVerificationRequest,
    headers: [
      {
        name: 'Idempotency-Key',
        description: 'Replays the first answer for 24 h when the same request is sent again.',
        schema: IdempotencyKey,
      },
    ],
    responses: {
      '201': {
        description: 'Started; a code is on its way.',
        schema: StartVerificationResponse,
        headers: ['Idempotent-Replayed'],
      },
    },
  },
  {
    method: 'post',
    path: '/v1/verifications/{id}/check',
    operationId: 'checkVerification',
    errors: [409, 410, 429, 503],
    summary: 'Check the code; the answer carries the phone token.',
    tag: 'Verifications',
    security: 'publishableOrSecret',
    body: CheckVerificationRequest,
    responses: { '200': { description: 'Approved.', schema: CheckVerificationResponse } },
  },
  {
    method: 'post',
    path: '/v1/verifications/{id}/resend',
    operationId: 'resendVerification',
    errors: [409, 410, 429, 503],
    summary:
      'Send a new code (with back-off), worded in `locale` when given, else in the language of the verification.',
    tag: 'Verifications',
    security: 'publishableOrSecret',
    body: ResendVerificationRequest,
    bodyOptional: true,
    responses: { '200': { description: 'Sent.', schema: ResendVerificationResponse } },
  },
  {
    method: 'get',
    path: '/v1/verifications/{id}',
    operationId: 'getVerification',
    summary: 'A verification with its texts and their carrier status.',
    tag: 'Verifications',
    security: 'secret',
    responses: { '200': { description: 'The verification.', schema: VerificationDetails } },
  },
  {
    method: 'post',
    path: '/v1/verifications/{id}/cancel',
    operationId: 'cancelVerification',
    errors: [409, 410],
    summary:
      'Cancel a pending verification: its code stops working, `verification.failed` (canceled) is sent.',
    tag: 'Verifications',
    security: 'secret',
    bodyOptional: true,
    responses: {
      '200': { description: 'Canceled (again: the same answer).', schema: VerificationDetails },
    },
  },
  {
    method: 'get',
    path: '/v1/config',
    operationId: 'widgetConfig',
    summary: "The widget's settings for this key and a country hint.",
    tag: 'Verifications',
    security: 'publishable',
    responses: { '200': { description: 'Settings.', schema: WidgetConfigResponse } },
  },
  {
    method: 'post',
    path: '/v1/tokens/redeem',
    operationId: 'redeemToken',
    summary: 'Consume a phone token once.',
    tag: 'Tokens',
    security: 'secret',
    body: RedeemTokenRequest,
    responses: {
      '200': {
        description: '`valid: true` with the claims the first time, then a reason.',
        schema: RedeemTokenResponse,
      },
    },
  },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    operationId: 'jwks',
    summary: 'Public keys that sign phone tokens.',
    tag: 'Tokens',
    security: 'none',
    responses: { '200': { description: 'The key set.', schema: JsonWebKeySet } },
  },
  {
    method: 'get',
    path: '/v1/keys',
    operationId: 'listKeys',
    summary: "The project's keys of the caller's mode.",
    tag: 'Keys',
    security: 'secret',
    responses: { '200': { description: 'Keys (never the keys themselves).', schema: ApiKeyList } },
  },
  {
    method: 'post',
    path: '/v1/keys',
    operationId: 'createKey',
    summary: 'One more key (for rotation without downtime).',
    tag: 'Keys',
    security: 'secret',
    body: CreateApiKeyRequest,
    responses: { '201': { description: 'The key, shown once.', schema: CreatedApiKey } },
  },
  {
    method: 'post',
    path: '/v1/keys/{id}/revoke',
    operationId: 'revokeKey',
    summary: 'Revoke a key (reaches every process within seconds).',
    tag: 'Keys',
    security: 'secret',
    bodyOptional: true,
    responses: { '200': { description: 'The revoked key.', schema: ApiKeySummary } },
  },
  {
    method: 'post',
    path: '/v1/erasures',
    operationId: 'eraseNumber',
    summary: "Erase everything kept about a number in the caller's project.",
    tag: 'Keys',
    security: 'secret',
    body: ErasureRequest,
    responses: {
      '200': {
        description: 'The erasure id and rows removed per table.',
        schema: v.object({ id: v.string(), rows: v.record(v.string(), v.number()) }),
      },
    },
  },
  {
    method: 'get',
    path: '/v1/fraud/lists',
    operationId: 'listFraudListEntries',
    summary: 'Allow and block list entries.',
    tag: 'Fraud guard',
    security: 'secret',
    responses: { '200': { description: 'Entries.', schema: v.array(FraudListEntry) } },
  },
  {
    method: 'post',
    path: '/v1/fraud/lists',
    operationId: 'addFraudListEntry',
    summary: 'Allow or block a number, prefix, address or country.',
    tag: 'Fraud guard',
    security: 'secret',
    body: FraudListEntryRequest,
    responses: { '201': { description: 'Added.', schema: FraudListEntry } },
  },
  {
    method: 'delete',
    path: '/v1/fraud/lists/{id}',
    operationId: 'removeFraudListEntry',
    summary: 'Remove a list entry.',
    tag: 'Fraud guard',
    security: 'secret',
    responses: { '204': { description: 'Removed.' } },
  },
  {
    method: 'get',
    path: '/v1/fraud/events',
    operationId: 'listFraudEvents',
    summary: "The guard's latest decisions with reason codes.",
    tag: 'Fraud guard',
    security: 'secret',
    query: queryParams(FraudEventsQuery, {
      limit: 'How many, 1–500 (50).',
      decision: 'Only this decision.',
    }),
    responses: { '200': { description: 'Decisions, newest first.', schema: v.array(FraudEvent) } },
  },
  {
    method: 'get',
    path: '/v1/fraud/summary',
    operationId: 'fraudSummary',
    summary: 'Outcomes, top reasons, ranges and countries stopped most.',
    tag: 'Fraud guard',
    security: 'secret',
    query: queryParams(FraudSummaryQuery, {
      hours: 'The window in hours, over 0 and up to 720 (1).',
    }),
    responses: { '200': { description: 'Summary.', schema: FraudSummary } },
  },
  {
    method: 'get',
    path: '/v1/sandbox/numbers/random',
    operationId: 'sandboxRandomNumber',
    errors: [422],
    summary:
      "A valid mobile number reserved for tests, that a start of the project reads as `country` (a territory whose mobiles are another country's ranges, such as AX or VA, only where the project allows it and not that country).",
    tag: 'Sandbox',
    security: 'testSecret',
    query: queryParams(SandboxRandomNumberQuery, { country: 'ISO 3166-1 alpha-2.' }),
    responses: { '200': { description: 'A number.', schema: SandboxRandomNumberResponse } },
  },
  {
    method: 'get',
    path: '/v1/sandbox/messages',
    operationId: 'sandboxMessages',
    summary: 'Texts "delivered" to a sandbox number, newest first.',
    tag: 'Sandbox',
    security: 'testSecret',
    query: queryParams(SandboxMessagesQuery, { to: 'E.164 number.' }),
    responses: { '200': { description: 'Messages.', schema: SandboxMessagesResponse } },
  },
  ...(['get', 'post'] as const).map(
    (method): Operation => ({
      method,
      path: '/v1/carriers/{carrier}/reports',
      operationId: `carrierReports${method === 'get' ? 'Get' : 'Post'}`,
      summary: "A live carrier's delivery reports (checked by its signature or URL token).",
      tag: 'Carriers',
      security: 'carrier',
      bodyOptional: true,
      // A report whose signature or URL token does not check; one larger than a carrier sends.
      errors: [401, 413],
      responses: { '200': { description: 'Applied.', schema: CarrierReportsResult } },
    }),
  ),
  {
    method: 'get',
    path: '/v1/webhooks/endpoints',
    operationId: 'listWebhookEndpoints',
    summary: "Webhook endpoints of the caller's mode.",
    tag: 'Webhooks',
    security: 'secret',
    responses: { '200': { description: 'Endpoints.', schema: WebhookEndpointList } },
  },
  {
    method: 'post',
    path: '/v1/webhooks/endpoints',
    operationId: 'createWebhookEndpoint',
    errors: [422],
    summary: 'Add an endpoint; the answer carries its `whsec_` secret once.',
    tag: 'Webhooks',
    security: 'secret',
    body: CreateWebhookEndpointRequest,
    responses: { '201': { description: 'Created.', schema: WebhookEndpointWithSecret } },
  },
  {
    method: 'get',
    path: '/v1/webhooks/endpoints/{id}',
    operationId: 'getWebhookEndpoint',
    summary: 'One endpoint.',
    tag: 'Webhooks',
    security: 'secret',
    responses: { '200': { description: 'The endpoint.', schema: WebhookEndpoint } },
  },
  {
    method: 'patch',
    path: '/v1/webhooks/endpoints/{id}',
    operationId: 'updateWebhookEndpoint',
    errors: [422],
    summary: 'Change the URL, events, description, or enable/disable.',
    tag: 'Webhooks',
    security: 'secret',
    body: UpdateWebhookEndpointRequest,
    responses: { '200': { description: 'Updated.', schema: WebhookEndpoint } },
  },
  {
    method: 'delete',
    path: '/v1/webhooks/endpoints/{id}',
    operationId: 'deleteWebhookEndpoint',
    summary: 'Delete an endpoint and its delivery log.',
    tag: 'Webhooks',
    security: 'secret',
    responses: { '204': { description: 'Deleted.' } },
  },
  {
    method: 'post',
    path: '/v1/webhooks/endpoints/{id}/rotate-secret',
    operationId: 'rotateWebhookSecret',
    summary: 'A new secret; the previous one keeps signing for a while.',
    tag: 'Webhooks',
    security: 'secret',
    body: RotateWebhookSecretRequest,
    bodyOptional: true,
    responses: { '200': { description: 'The new secret.', schema: WebhookEndpointWithSecret } },
  },
  {
    method: 'get',
    path: '/v1/webhooks/endpoints/{id}/deliveries',
    operationId: 'listWebhookDeliveries',
    summary: 'The delivery log: deliveries with every attempt.',
    tag: 'Webhooks',
    security: 'secret',
    query: queryParams(WebhookDeliveriesQuery, {
      state: 'Only this state.',
      limit: 'How many, 1–100 (50).',
    }),
    responses: { '200': { description: 'Deliveries, newest first.', schema: WebhookDeliveryList } },
  },
  {
    method: 'post',
    path: '/v1/webhooks/endpoints/{id}/replay',
    operationId: 'replayWebhookEndpoint',
    errors: [409],
    summary: 'Send every failed delivery again (same `webhook-id`).',
    tag: 'Webhooks',
    security: 'secret',
    body: ReplayWebhooksRequest,
    bodyOptional: true,
    responses: { '200': { description: 'How many.', schema: ReplayWebhooksResponse } },
  },
  {
    method: 'post',
    path: '/v1/webhooks/deliveries/{id}/replay',
    operationId: 'replayWebhookDelivery',
    errors: [409],
    summary: 'Send one delivery again (same `webhook-id`).',
    tag: 'Webhooks',
    security: 'secret',
    bodyOptional: true,
    responses: { '200': { description: 'How many (0 or 1).', schema: ReplayWebhooksResponse } },
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'liveness',
    summary: 'Liveness: the process answers.',
    tag: 'Operations',
    security: 'none',
    responses: {
      '200': { description: 'Alive.', schema: LivenessResponse },
      '503': { description: 'Shutting down.', schema: LivenessResponse },
    },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    summary: 'Readiness: database, migrations, outboxes.',
    tag: 'Operations',
    security: 'none',
    responses: {
      '200': { description: 'Ready.', schema: ReadinessResponse },
      '503': { description: 'Not ready; the failing check says why.', schema: ReadinessResponse },
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics (METRICS_TOKEN; or on METRICS_PORT).',
    tag: 'Operations',
    security: 'metrics',
    responses: {
      '200': { description: 'Prometheus text format 0.0.4.', contentType: 'text/plain' },
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document.',
    tag: 'Operations',
    security: 'none',
    responses: { '200': { description: 'OpenAPI 3.1.', contentType: 'application/json' } },
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'docs',
    summary: 'This document, readable (Swagger UI, self-hosted).',
    tag: 'Operations',
    security: 'none',
    responses: { '200': { description: 'HTML.', contentType: 'text/html' } },
  },
  {
    method: 'get',
    path: '/docs/{file}',
    operationId: 'docsAsset',
    summary:
      "The reference page's scripts and styles, and Swagger UI's licence files (LICENSE, NOTICE, swagger-ui-bundle.js.LICENSE.txt).",
    tag: 'Operations',
    security: 'none',
    responses: {
      '200': { description: 'A static file.', contentType: 'application/octet-stream' },
    },
  },
  {
    method: 'get',
    path: '/widget.js',
    operationId: 'widget',
    summary: 'The <textgate-verify> element, one ES module.',
    tag: 'Widget',
    security: 'none',
    responses: { '200': { description: 'JavaScript.', contentType: 'text/javascript' } },
  },
  {
    method: 'get',
    path: '/widget.licenses.txt',
    operationId: 'widgetLicenses',
    summary: 'The licence texts of the third-party code widget.js and its chunks bundle.',
    tag: 'Widget',
    security: 'none',
    responses: { '200': { description: 'Plain text.', contentType: 'text/plain' } },
  },
  {
    method: 'get',
    path: '/chunks/{name}',
    operationId: 'widgetChunk',
    summary: "The widget's lazy chunks (languages, phone metadata).",
    tag: 'Widget',
    security: 'none',
    responses: { '200': { description: 'JavaScript.', contentType: 'text/javascript' } },
  },
]

type JsonSchema = Record<string, unknown>

/** JSON Schema 2020-12 of a valibot schema; checks that JSON Schema cannot say are left out. */
export function jsonSchema(schema: v.GenericSchema, typeMode: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = toJsonSchema(schema, {
    target: 'draft-2020-12',
    typeMode,
    errorMode: 'ignore',
  }) as JsonSchema
  return rest
}

const SECURITY: Record<Security, Record<string, string[]>[]> = {
  publishable: [{ publishableKey: [] }],
  publishableOrSecret: [{ publishableKey: [] }, { secretKey: [] }],
  secret: [{ secretKey: [] }],
  testSecret: [{ secretKey: [] }],
  metrics: [{ metricsToken: [] }],
  carrier: [],
  none: [],
}

const ERROR_RESPONSE = {
  description: 'An error: `{ error: { code, message, …details } }` (see the `ErrorCode` enum).',
  headers: responseHeaders(['Retry-After']),
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
}

/**
 * Statuses any route may answer, left under `default`: a request Node's parser refuses (431), one
 * that took too long to arrive (408), a fault (500).
 */
export const ANY_ROUTE_STATUSES: ReadonlySet<number> = new Set([408, 431, 500])

/** Each error status and its codes, as `components.responses.Error<status>`. */
function errorResponses() {
  const codes = new Map<number, string[]>()
  for (const [code, { status }] of Object.entries(ERRORS)) {
    if (!ANY_ROUTE_STATUSES.has(status)) codes.set(status, [...(codes.get(status) ?? []), code])
  }
  return Object.fromEntries(
    [...codes].map(([status, list]) => [
      `Error${status}`,
      {
        description: `An error, its code one of ${list.map((code) => `\`${code}\``).join(', ')}.`,
        headers: responseHeaders(['Retry-After']),
        content: {
          'application/json': {
            schema: withFields(jsonSchema(ErrorResponse, 'output'), {
              properties: {
                error: {
                  type: 'object',
                  required: ['code', 'message'],
                  properties: { code: { type: 'string', enum: list }, message: { type: 'string' } },
                },
              },
            }),
          },
        },
      },
    ]),
  )
}

/**
 * The error statuses an operation documents: 400 (any URL), what its key (401, 403), body (413,
 * 415) and path parameters (404) imply, and its own `errors`.
 */
export function errorStatuses(op: Operation): number[] {
  // A URL holding control characters or broken percent-escapes (refused before any route runs).
  const statuses = new Set([400, ...(op.errors ?? [])])
  const add = (...list: number[]) => {
    for (const status of list) statuses.add(status)
  }
  if (op.security !== 'none' && op.security !== 'carrier') add(401, 403)
  if (op.body) add(413, 415)
  if (op.path.includes('{')) add(404)
  return [...statuses].sort((a, b) => a - b)
}

function operationObject(op: Operation) {
  const pathParams = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string)
  const parameters = [
    ...pathParams.map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
      description: name === 'id' ? 'The id.' : `The ${name}.`,
    })),
    ...(op.query ?? []).map((p) => ({
      name: p.name,
      in: 'query',
      required: p.required ?? false,
      description: p.description,
      schema: jsonSchema(p.schema, 'input'),
    })),
    ...(op.headers ?? []).map((p) => ({
      name: p.name,
      in: 'header',
      required: p.required ?? false,
      description: p.description,
      schema: jsonSchema(p.schema, 'input'),
    })),
  ]
  const responses: Record<string, unknown> = {}
  for (const [status, response] of Object.entries(op.responses)) {
    responses[status] = {
      description: response.description,
      headers: responseHeaders(response.headers),
      ...(response.schema
        ? { content: { 'application/json': { schema: jsonSchema(response.schema, 'output') } } }
        : response.contentType
          ? { content: { [response.contentType]: {} } }
          : {}),
    }
  }
  if (!op.internal) {
    for (const status of errorStatuses(op)) {
      responses[status] ??= { $ref: `#/components/responses/Error${status}` }
    }
  }
  responses.default = ERROR_RESPONSE
  return {
    operationId: op.operationId,
    summary: op.summary,
    tags: [op.tag],
    ...(op.internal ? { 'x-internal': true } : { security: SECURITY[op.security] }),
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: !op.bodyOptional,
            content: { 'application/json': { schema: jsonSchema(op.body, 'input') } },
          },
        }
      : {}),
    responses,
  }
}

/**
 * @example
 * app.get('/openapi.json', (c) => c.json(buildOpenApiDocument({ serverUrl: config.publicUrl })))
 */
export function buildOpenApiDocument({
  serverUrl,
  internalRoutes = [],
}: {
  serverUrl?: string
  /**
   * Routes of the operator console's own page API (session cookie, not for stores): listed so
   * that every served route is in the document, without schemas (see README).
   */
  internalRoutes?: { method: string; path: string }[]
} = {}) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const op of OPERATIONS) {
    paths[op.path] ??= {}
    ;(paths[op.path] as Record<string, unknown>)[op.method] = operationObject(op)
  }
  for (const route of internalRoutes) {
    const path = route.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')
    const method = route.method.toLowerCase() as Operation['method']
    paths[path] ??= {}
    ;(paths[path] as Record<string, unknown>)[method] ??= operationObject({
      method,
      path,
      operationId: `console_${method}_${path.replace(/[^a-zA-Z0-9]+/g, '_')}`,
      summary: 'Operator console (its own page API; session cookie, not for stores).',
      tag: 'Console (internal)',
      security: 'none',
      internal: true,
      responses: { '200': { description: 'See the console.' } },
    })
  }
  const webhooks: Record<string, unknown> = {}
  for (const type of WEBHOOK_EVENT_TYPES) {
    const option = WebhookEvent.options.find((o) => o.entries.type.literal === type)
    if (!option) continue
    webhooks[type] = {
      post: {
        summary: `${type} (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature)`,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: jsonSchema(option, 'output') } },
        },
        responses: { '2XX': { description: 'Received; any other answer is retried.' } },
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Textgate',
      version: '1',
      description:
        'Phone verification by SMS for online stores. Generated from the valibot schemas the server validates with.\n\n' +
        'Every error is `{ error: { code, message, …details } }` (the `Error` schema; each operation lists it as its `default` answer). ' +
        'A path the API does not have is `404 not_found`; a path it has, asked with a method it does not serve, is `405 method_not_allowed` ' +
        'with an `Allow` header listing the methods it does (HEAD wherever GET is; OPTIONS on the widget routes, which answer CORS preflights).',
      license: { name: 'See the repository' },
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    tags: [
      ...new Set([
        ...OPERATIONS.map((op) => op.tag),
        ...(internalRoutes.length ? ['Console (internal)'] : []),
      ]),
    ].map((name) => ({ name })),
    paths,
    webhooks,
    components: {
      securitySchemes: {
        publishableKey: {
          type: 'http',
          scheme: 'bearer',
          description: '`pk_test_…` / `pk_live_…`, from one of the key’s allowed origins.',
        },
        secretKey: {
          type: 'http',
          scheme: 'bearer',
          description: '`sk_test_…` / `sk_live_…`, from the store’s server only.',
        },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN.' },
      },
      headers: RESPONSE_HEADERS,
      responses: errorResponses(),
      schemas: {
        Error: withFields(jsonSchema(ErrorResponse, 'output'), {
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', enum: Object.keys(ERRORS) },
                message: { type: 'string' },
              },
            },
          },
        }),
      },
    },
  }
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>
