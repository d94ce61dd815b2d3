/**
 * The valibot pieces every carrier's routing-file entry is made of: ids, ports, durations,
 * environment-variable names for secrets, URLs, senders. A carrier's own schema lives in its
 * folder (`carriers/<name>/entry.ts`).
 * @module
 */
import * as v from 'valibot'

export const Identifier = v.pipe(
  v.string('must be a string'),
  v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'must be letters, digits, "-" or "_" (at most 63)'),
)

export const Port = v.pipe(
  v.number('must be a number'),
  v.integer('must be a whole number'),
  v.minValue(1, 'must be 1 to 65535'),
  v.maxValue(65535, 'must be 1 to 65535'),
)

export const PositiveInteger = v.pipe(
  v.number('must be a number'),
  v.integer('must be a whole number'),
  v.minValue(1, 'must be at least 1'),
)

export const Milliseconds = v.pipe(
  v.number('must be a number of milliseconds'),
  v.integer('must be a whole number of milliseconds'),
  v.minValue(0, 'must not be negative'),
)

export const TemplateParam = v.picklist(
  ['code', 'minutes', 'brand'],
  'must be "code", "minutes" or "brand"',
)

/** Missing required fields and unknown fields are told apart. */
export const fieldMessage = (issue: v.BaseIssue<unknown>) =>
  issue.expected === 'never'
    ? 'is not a known field'
    : issue.expected?.startsWith('"')
      ? 'is required'
      : 'must be an object'

export const FilePath = v.pipe(v.string('must be a file path'), v.minLength(1, 'must not be empty'))

/** The name of an environment variable holding a secret: the file never holds the secret. */
export const EnvName = v.pipe(
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

export const HttpUrl = v.pipe(
  v.string('must be a URL'),
  v.check(isHttpUrl, 'must be an http or https URL such as https://api.example.com'),
)

export const Text = v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty'))

export const UtcOffset = v.pipe(
  v.string('must be a string'),
  v.regex(/^[+-]\d{2}:\d{2}$/, 'must be a UTC offset such as "+08:00"'),
)

export const Sender = v.pipe(
  v.string('must be a string'),
  v.regex(
    /^(\+?\d{1,15}|[A-Za-z0-9 ._-]{1,11})$/,
    'must be a number (up to 15 digits) or up to 11 letters and digits',
  ),
)

export const ReportStatusSchema = v.picklist(
  ['sent', 'delivered', 'failed', 'undelivered'],
  'must be "sent", "delivered", "failed" or "undelivered"',
)

export const HeaderName = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9-]+$/, 'header names must be letters, digits and "-"'),
)
