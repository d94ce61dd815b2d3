/**
 * The one error type of the HTTP API and the handlers that turn anything thrown into the
 * contract's `{ error: { code, message, ...details } }` body.
 * @module
 */
import { ERRORS, type ErrorBody, type ErrorCode } from '@textgate/shared'
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type * as v from 'valibot'
import { withFields } from '../with-fields'

export class ApiError extends Error {
  readonly status: ContentfulStatusCode
  constructor(
    readonly code: ErrorCode,
    readonly details: Record<string, unknown> = {},
    options: { message?: string; retryAfterSeconds?: number } = {},
  ) {
    super(options.message ?? ERRORS[code].message)
    this.name = 'ApiError'
    this.status = ERRORS[code].status as ContentfulStatusCode
    this.retryAfterSeconds = options.retryAfterSeconds
  }
  readonly retryAfterSeconds: number | undefined

  toBody(): ErrorBody {
    return { error: withFields(this.details, { code: this.code, message: this.message }) }
  }
}

/** Sends `error` as the contract's JSON error, with Retry-After on 429. */
export function sendError(c: Context, error: ApiError): Response {
  if (error.retryAfterSeconds !== undefined) {
    c.header('Retry-After', String(Math.max(1, Math.ceil(error.retryAfterSeconds))))
  }
  return c.json(error.toBody(), error.status)
}

/** Turns valibot issues into readable `{ path, message }` details. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]) {
  return issues.map((issue) => ({
    path: issue.path?.map((item) => String(item.key)).join('.') ?? '',
    message: issue.message,
  }))
}
