/**
 * What the widget tells the shopper when the server or the network refuses a step.
 * @module
 */
import { TextgateApiError } from './api/client'
import type { Translation } from './translations/en'
import { waitIn } from './wait'

/** Error codes after which the verification cannot go on: the shopper starts again. */
export const TERMINAL = new Set([
  'verification_expired',
  'max_attempts_reached',
  'verification_not_pending',
  'verification_not_found',
])

/** Failures worth repeating as they were: "Try again" offers that. */
export const RETRYABLE = new Set(['network_error', 'service_unavailable', 'internal_error'])

/** Any thrown value as an API error (`unknown` when it is not one). */
export const asApiError = (error: unknown): TextgateApiError =>
  error instanceof TextgateApiError ? error : new TextgateApiError('unknown', String(error), 0)

/** The shopper's message for a refusal, in the widget's language. */
export function errorMessage(error: TextgateApiError, t: Translation): string {
  const errors = t.errors as Record<string, string | undefined>
  if (error.code === 'rate_limited') return rateLimitMessage(error.retryAfterSeconds, t)
  // The server's word for a number with an extension; the field itself never sends one.
  if (error.code === 'invalid_phone' && error.details.reason === 'extension') {
    return t.phoneErrors.extension
  }
  // Out of wrong codes for the number, not just this verification: starting again would not help.
  if (error.code === 'max_attempts_reached' && error.details.retry === 'later') {
    return t.wrongCodesLater
  }
  // Its own keys only: a code such as "constructor" or "toString" names no message.
  const message = (Object.hasOwn(errors, error.code) && errors[error.code]) || t.errors.unknown
  if (error.code === 'incorrect_code' && typeof error.details.attemptsLeft === 'number') {
    return `${message} ${t.attemptsLeft(error.details.attemptsLeft)}`
  }
  return message
}

/** "Too many attempts. Try again in 10 minutes.", or "… later." when the wait is not known. */
export const rateLimitMessage = (seconds: number | undefined, t: Translation): string =>
  seconds ? t.rateLimited(waitIn(seconds, t.$code)) : t.errors.rate_limited
