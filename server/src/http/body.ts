/**
 * Reading request bodies: JSON only, validated by a shared valibot schema, with every failure
 * turned into the contract's 400/415 errors, never a 500.
 * @module
 */
import type { ErrorCode } from '@textgate/shared'
import type { Context } from 'hono'
import * as v from 'valibot'
import { ApiError, describeIssues } from './errors'
import { answerHeaders } from './headers'

/**
 * The error code for a schema failure whose first issue is at this path. Only a missing or
 * refused consent is `consent_required`; a wrong `consent.version` or `consent.marketing` is a
 * plain validation error naming the field (the shopper did consent).
 */
const FIELD_CODES: ReadonlyMap<string, ErrorCode> = new Map([
  ['phone', 'invalid_phone'],
  ['consent', 'consent_required'],
  ['consent.accepted', 'consent_required'],
  ['code', 'invalid_code_format'],
])

/** `application/json`, or a structured-syntax type `application/<name>+json` (RFC 6839). */
const JSON_ESSENCE = /^application\/(?:[a-z0-9!#$&^_.+-]+\+)?json$/

/**
 * Refuses a body whose Content-Type does not say JSON: not `application/json` or
 * `application/<name>+json` (`application/json-seq`, `application/jsonx`, `text/json` are
 * other formats), or a charset other than UTF-8, the only one JSON is read in.
 */
export function checkJsonContentType(header: string | undefined): void {
  const [essence = '', ...parameters] = (header ?? '').split(';')
  if (!JSON_ESSENCE.test(essence.trim().toLowerCase())) {
    throw new ApiError('unsupported_media_type')
  }
  for (const parameter of parameters) {
    const equals = parameter.indexOf('=')
    if (equals === -1 || parameter.slice(0, equals).trim().toLowerCase() !== 'charset') continue
    const charset = parameter
      .slice(equals + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
    if (charset.toLowerCase() !== 'utf-8') {
      throw new ApiError('unsupported_media_type', {}, { message: 'Send the JSON body in UTF-8.' })
    }
  }
}

/**
 * Refuses a body sent compressed (`Content-Encoding: gzip`, `br`…): it is read as it arrives,
 * and would otherwise be "not JSON". 415 with `Accept-Encoding: identity`, as RFC 9110 §15.5.16
 * says for a content coding the server does not take.
 */
export function checkContentEncoding(header: string | undefined): void {
  const codings = (header ?? '').split(',').map((coding) => coding.trim().toLowerCase())
  if (codings.every((coding) => coding === '' || coding === 'identity')) return
  throw new ApiError(
    'unsupported_media_type',
    {},
    { message: 'Send the body uncompressed, without Content-Encoding.' },
  )
}

export async function readJson<TSchema extends v.GenericSchema>(
  c: Context,
  schema: TSchema,
): Promise<v.InferOutput<TSchema>> {
  checkJsonContentType(c.req.header('Content-Type'))
  try {
    checkContentEncoding(c.req.header('Content-Encoding'))
  } catch (error) {
    answerHeaders(c)['accept-encoding'] = 'identity'
    throw error
  }
  let text: string
  let body: unknown
  try {
    text = await c.req.text()
    body = JSON.parse(text)
  } catch {
    throw new ApiError('invalid_request', { issues: [{ path: '', message: 'body is not JSON' }] })
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('invalid_request', {
      issues: [{ path: '', message: 'body must be a JSON object' }],
    })
  }
  // Only an escape can put a NUL or a lone surrogate in a JSON string: nearly every body is
  // passed over in one scan.
  const unstorable = UNSTORABLE_ESCAPE.test(text) ? findUnstorable(body) : undefined
  if (unstorable) {
    const { path, message } = unstorable
    throw new ApiError(FIELD_CODES.get(path) ?? 'invalid_request', { issues: [{ path, message }] })
  }
  return validate(schema, body)
}

/** `\u0000`, or a surrogate's escape (paired ones, as `\ud83d\ude00`, are looked at too). */
const UNSTORABLE_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/
const LONE_SURROGATE = /\p{Cs}/u

function problemOf(text: string, path: string): string | undefined {
  if (text.includes('\0')) return `${path} must not contain NUL characters`
  if (LONE_SURROGATE.test(text)) return `${path} must be valid Unicode (it holds a lone surrogate)`
  return undefined
}

/**
 * The first string or key no database keeps as sent, with its dotted path and what is wrong:
 * a NUL (U+0000), which PostgreSQL refuses in text and JSON columns (a 500, where a field's own
 * schema did not refuse control characters), or a lone surrogate, which is stored as U+FFFD
 * (the answer would say one thing and the row another). No field of any request holds either.
 * Without recursion: a 16 KiB body nests thousands deep.
 */
function findUnstorable(body: object): { path: string; message: string } | undefined {
  const stack: [unknown, string][] = [[body, '']]
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [value, path] = item
    if (typeof value === 'string') {
      const message = problemOf(value, path)
      if (message) return { path, message }
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        const childPath = path ? `${path}.${key}` : key
        const shown = JSON.stringify(childPath).slice(1, -1)
        const message = problemOf(key, shown)
        if (message) return { path: shown, message }
        stack.push([child, childPath])
      }
    }
  }
  return undefined
}

/**
 * A body that may be left out: none, or an empty one whatever its Content-Type (a client that
 * sends `Content-Type: application/json` on every request), reads as `empty`; anything else is
 * read as by {@link readJson}.
 * @example
 * const { locale } = await readOptionalJson(c, ResendVerificationRequest, {})
 */
export async function readOptionalJson<TSchema extends v.GenericSchema>(
  c: Context,
  schema: TSchema,
  empty: v.InferOutput<TSchema>,
): Promise<v.InferOutput<TSchema>> {
  if ((await c.req.text()).trim() === '') return empty
  return readJson(c, schema)
}

export function validate<TSchema extends v.GenericSchema>(
  schema: TSchema,
  input: unknown,
): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, input)
  if (result.success) return result.output
  const issues = describeIssues(result.issues)
  // A Map: a body key named `toString` or `__proto__` must not find Object.prototype's members.
  const code = FIELD_CODES.get(issues[0]?.path ?? '') ?? 'invalid_request'
  throw new ApiError(code, { issues }, { message: issues[0]?.message })
}
