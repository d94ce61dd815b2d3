/**
 * Stable error codes of the Textgate HTTP API, with the HTTP status each one is sent with.
 * Codes never change once published; add new ones instead.
 * @module
 */

export const ERRORS = {
  invalid_request: { status: 400, message: 'The request body is not valid.' },
  invalid_phone: { status: 400, message: 'This is not a valid phone number.' },
  unsupported_number_type: {
    status: 422,
    message: 'This phone number cannot receive text messages.',
  },
  country_not_allowed: {
    status: 422,
    message: 'Phone numbers from this country are not accepted.',
  },
  consent_required: { status: 400, message: 'Consent to receive a text message is required.' },
  invalid_code_format: { status: 400, message: 'The code must be digits only.' },
  incorrect_code: { status: 400, message: 'The code is incorrect.' },
  invalid_api_key: { status: 401, message: 'The API key is missing, malformed or unknown.' },
  invalid_signature: {
    status: 401,
    message: 'The callback signature or token is missing or wrong.',
  },
  wrong_key_type: { status: 403, message: 'This endpoint does not accept this kind of key.' },
  origin_not_allowed: {
    status: 403,
    message: 'This publishable key cannot be used from this origin.',
  },
  blocked: { status: 403, message: 'This request cannot be completed.' },
  challenge_required: {
    status: 428,
    message: 'Solve the challenge in this answer, then send the request again with it.',
  },
  not_found: { status: 404, message: 'Not found.' },
  verification_not_found: { status: 404, message: 'No such verification.' },
  webhook_endpoint_not_found: { status: 404, message: 'No such webhook endpoint.' },
  webhook_delivery_not_found: { status: 404, message: 'No such webhook delivery.' },
  webhook_url_not_allowed: {
    status: 422,
    message:
      'Webhook URLs must be https and reach a public address (plain http only to loopback, in test mode).',
  },
  webhook_endpoint_disabled: {
    status: 409,
    message: 'This webhook endpoint is disabled: enable it before replaying.',
  },
  idempotency_conflict: {
    status: 409,
    message: 'This Idempotency-Key was already used with a different request.',
  },
  verification_not_pending: { status: 409, message: 'This verification is no longer pending.' },
  verification_expired: { status: 410, message: 'This verification has expired.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, message: 'Send the body as application/json.' },
  rate_limited: { status: 429, message: 'Too many requests. Try again later.' },
  max_attempts_reached: {
    status: 429,
    message: 'Too many incorrect codes. Start a new verification.',
  },
  max_sends_reached: {
    status: 429,
    message: 'Too many codes were sent. Start a new verification later.',
  },
  unauthenticated: { status: 401, message: 'Log in to the console first.' },
  invalid_credentials: { status: 401, message: 'The email or password is wrong.' },
  invalid_totp: { status: 401, message: 'That authenticator code is not right.' },
  forbidden: { status: 403, message: 'Your role does not allow this.' },
  csrf_failed: { status: 403, message: 'The request did not come from the console.' },
  ip_not_allowed: {
    status: 403,
    message: 'This address is not on the project’s IP allowlist.',
  },
  link_invalid: { status: 410, message: 'This link has expired or was already used.' },
  weak_password: { status: 422, message: 'Choose a stronger password.' },
  operator_exists: { status: 409, message: 'An operator with this email already exists.' },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
  service_unavailable: { status: 503, message: 'The service is shutting down or unavailable.' },
} as const satisfies Record<string, { status: number; message: string }>

export type ErrorCode = keyof typeof ERRORS

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[]

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
