/**
 * Stable error codes of the Textgate HTTP API, with the HTTP status each one is sent with.
 * Codes never change once published; add new ones instead.
 * @module
 */

/**
 * What the widget does with a code, declared with the code so that a new one cannot be forgotten:
 * - `'message'`: a publishable key may get it and the shopper is told why, so every widget
 *   locale has its own message for it (the widget's types and tests require one);
 * - `'generic'`: a publishable key may get it, but only when the widget's request itself went
 *   wrong or the server failed: the shopper sees "Something went wrong" (and Try again);
 * - `false`: never an answer to a publishable key (secret keys, the console, carrier callbacks);
 *   the route fuzz test checks the widget's routes never send it.
 */
export type WidgetHandling = 'message' | 'generic' | false

interface ErrorDefinition {
  status: number
  message: string
  widget: WidgetHandling
}

export const ERRORS = {
  invalid_request: { status: 400, message: 'The request body is not valid.', widget: 'generic' },
  invalid_phone: { status: 400, message: 'This is not a valid phone number.', widget: 'message' },
  unsupported_number_type: {
    status: 422,
    message: 'This phone number cannot receive text messages.',
    widget: 'message',
  },
  country_not_allowed: {
    status: 422,
    message: 'Phone numbers from this country are not accepted.',
    widget: 'message',
  },
  consent_required: {
    status: 400,
    message: 'Consent to receive a text message is required.',
    widget: 'message',
  },
  invalid_code_format: { status: 400, message: 'The code must be digits only.', widget: 'message' },
  incorrect_code: { status: 400, message: 'The code is incorrect.', widget: 'message' },
  invalid_api_key: {
    status: 401,
    message: 'The API key is missing, malformed or unknown.',
    widget: 'message',
  },
  invalid_signature: {
    status: 401,
    message: 'The callback signature or token is missing or wrong.',
    widget: false,
  },
  wrong_key_type: {
    status: 403,
    message: 'This endpoint does not accept this kind of key.',
    widget: 'message',
  },
  origin_not_allowed: {
    status: 403,
    message: 'This publishable key cannot be used from this origin.',
    widget: 'message',
  },
  blocked: { status: 403, message: 'This request cannot be completed.', widget: 'message' },
  challenge_required: {
    status: 428,
    message: 'Solve the challenge in this answer, then send the request again with it.',
    widget: 'message',
  },
  not_found: { status: 404, message: 'Not found.', widget: 'generic' },
  method_not_allowed: {
    status: 405,
    message: 'This path does not accept this method; the Allow header lists those it does.',
    widget: 'generic',
  },
  verification_not_found: { status: 404, message: 'No such verification.', widget: 'message' },
  webhook_endpoint_not_found: { status: 404, message: 'No such webhook endpoint.', widget: false },
  webhook_delivery_not_found: { status: 404, message: 'No such webhook delivery.', widget: false },
  webhook_url_not_allowed: {
    status: 422,
    message:
      'Webhook URLs must be https and reach a public address (plain http only to loopback, in test mode).',
    widget: false,
  },
  webhook_endpoint_disabled: {
    status: 409,
    message: 'This webhook endpoint is disabled: enable it before replaying.',
    widget: false,
  },
  idempotency_conflict: {
    status: 409,
    message: 'This Idempotency-Key was already used with a different request.',
    widget: 'generic',
  },
  verification_not_pending: {
    status: 409,
    message: 'This verification is no longer pending.',
    widget: 'message',
  },
  verification_expired: {
    status: 410,
    message: 'This verification has expired.',
    widget: 'message',
  },
  payload_too_large: { status: 413, message: 'The request body is too large.', widget: 'generic' },
  headers_too_large: {
    status: 431,
    message: 'The request line or headers are too large.',
    widget: 'generic',
  },
  malformed_request: {
    status: 400,
    message: 'The request is not well-formed HTTP.',
    widget: 'generic',
  },
  request_timeout: {
    status: 408,
    message: 'The request took too long to arrive.',
    widget: 'generic',
  },
  unsupported_media_type: {
    status: 415,
    message: 'Send the body as application/json.',
    widget: 'generic',
  },
  rate_limited: { status: 429, message: 'Too many requests. Try again later.', widget: 'message' },
  max_attempts_reached: {
    status: 429,
    message: 'Too many incorrect codes. Start a new verification.',
    widget: 'message',
  },
  max_sends_reached: {
    status: 429,
    message: 'Too many codes were sent. Start a new verification later.',
    widget: 'message',
  },
  unauthenticated: { status: 401, message: 'Log in to the console first.', widget: false },
  invalid_credentials: { status: 401, message: 'The email or password is wrong.', widget: false },
  invalid_totp: { status: 401, message: 'That authenticator code is not right.', widget: false },
  invalid_passkey: { status: 401, message: 'The passkey was not accepted.', widget: false },
  forbidden: { status: 403, message: 'Your role does not allow this.', widget: false },
  csrf_failed: {
    status: 403,
    message: 'The request did not come from the console.',
    widget: false,
  },
  misdirected_request: {
    status: 421,
    message: 'This server does not answer to that host name.',
    widget: false,
  },
  ip_not_allowed: {
    status: 403,
    message: 'This address is not on the project’s IP allowlist.',
    widget: false,
  },
  link_invalid: {
    status: 410,
    message: 'This link has expired or was already used.',
    widget: false,
  },
  weak_password: { status: 422, message: 'Choose a stronger password.', widget: false },
  operator_exists: {
    status: 409,
    message: 'An operator with this email already exists.',
    widget: false,
  },
  passkey_exists: {
    status: 409,
    message: 'This passkey is already registered.',
    widget: false,
  },
  signing_key_in_use: {
    status: 409,
    message: 'This key signs every token now: withdraw it together with a new key (rotate).',
    widget: false,
  },
  signing_key_changed: {
    status: 409,
    message:
      'Another rotation or withdrawal made a new signing key at the same moment: nothing changed.',
    widget: false,
  },
  internal_error: { status: 500, message: 'Something went wrong on our side.', widget: 'generic' },
  service_unavailable: {
    status: 503,
    message: 'The service is shutting down or unavailable.',
    widget: 'message',
  },
} as const satisfies Record<string, ErrorDefinition>

export type ErrorCode = keyof typeof ERRORS

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[]

/** The codes the widget words for the shopper itself (`widget: 'message'`). */
export type WidgetErrorCode = {
  [Code in ErrorCode]: (typeof ERRORS)[Code]['widget'] extends 'message' ? Code : never
}[ErrorCode]

/** The JSON body of every error response: `{ error: { code, message, ...details } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; [detail: string]: unknown }
}

/** True when `value` is an error body sent by a Textgate server. */
export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false
  const error = (value as { error: unknown }).error
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string'
  )
}

/** Reasons `POST /v1/tokens/redeem` gives for `{ valid: false }`. */
export const REDEEM_FAILURES = [
  'already_redeemed',
  'invalid_token',
  'expired',
  'wrong_project',
  /** A test-mode token sent with a live key, or a live token with a test key. */
  'wrong_mode',
] as const
export type RedeemFailure = (typeof REDEEM_FAILURES)[number]
