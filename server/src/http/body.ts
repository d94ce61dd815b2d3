/**
 * Reading request bodies: JSON only, validated by a shared valibot schema, with every failure
 * turned into the contract's 400/415 errors, never a 500.
 * @module
 */
import type { ErrorCode } from '@textgate/shared'
import type { Context } from 'hono'
import * as v from 'valibot'
import { ApiError, describeIssues } from './errors'

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

export async function readJson<TSchema extends v.GenericSchema>(
  c: Context,
  schema: TSchema,
): Promise<v.InferOutput<TSchema>> {
  const type = c.req.header('Content-Type') ?? ''
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new ApiError('unsupported_media_type')
  }
  let body: unknown
  try {
    body = await c.req.json()
  } catch {
    throw new ApiError('invalid_request', { issues: [{ path: '', message: 'body is not JSON' }] })
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('invalid_request', {
      issues: [{ path: '', message: 'body must be a JSON object' }],
    })
  }
  return validate(schema, body)
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
