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
    // Without a message of its own, an error that lists issues says the first one: it names
    // what was wrong (a query parameter, a header), where the code's message speaks of a body.
    super(options.message ?? firstIssueMessage(details) ?? ERRORS[code].message)
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

function firstIssueMessage(details: Record<string, unknown>): string | undefined {
  const issues = details.issues
  if (!Array.isArray(issues)) return undefined
  const message = (issues[0] as { message?: unknown } | undefined)?.message
  return typeof message === 'string' && message !== '' ? message : undefined
}

/** Turns valibot issues into readable `{ path, message }` details. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]) {
  return issues.map((issue) => {
    const path = issue.path?.map((item) => String(item.key)).join('.') ?? ''
    return { path, message: plainMessage(issue, path) }
  })
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  Object: 'an object',
  Array: 'an array',
}

/**
 * The issue's message, in words that name the field, where valibot's default one would be sent
 * ("Invalid key: Expected never but received "x"", "Invalid type: Expected string but received
 * undefined"). A message the schema wrote itself is kept.
 */
function plainMessage(issue: v.BaseIssue<unknown>, path: string): string {
  if (!issue.message.startsWith('Invalid ')) return issue.message
  const field = path || 'the body'
  // A strict object's key that is not in the schema.
  if (issue.expected === 'never') return `${field} is not a field of this request`
  if (issue.received === 'undefined') return `${field} is required`
  const requirement = (issue as { requirement?: unknown }).requirement
  // A length is a list's entries or a text's characters.
  const characters = Array.isArray(issue.input)
    ? `${requirement} ${requirement === 1 ? 'entry' : 'entries'}`
    : `${requirement} character${requirement === 1 ? '' : 's'}`
  if (issue.type === 'max_length') return `${field} must be at most ${characters}`
  if (issue.type === 'min_length') return `${field} must be at least ${characters}`
  // A number out of range, a fraction, a date that is none: say what would do.
  if (issue.type === 'min_value') return `${field} must be at least ${requirement}`
  if (issue.type === 'max_value') return `${field} must be at most ${requirement}`
  if (issue.type === 'integer') return `${field} must be a whole number`
  if (issue.type === 'iso_timestamp') {
    return `${field} must be a date and time such as 2026-12-31T00:00:00Z`
  }
  if (issue.kind === 'schema' && issue.expected) {
    return `${field} must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${issue.received}`
  }
  return `${field} is not valid`
}
