/**
 * Checks real answers against the OpenAPI document: the test harness runs every JSON answer of
 * every HTTP-level test through {@link checkResponse}, so each documented response schema is
 * held to the responses the contract tests actually see (ajv, JSON Schema 2020-12), and each
 * header of an answer that is not plain HTTP (CORS, caching, security headers) to the headers
 * documented for its route and status.
 * @module
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { ANY_ROUTE_STATUSES, buildOpenApiDocument } from '../src/openapi/document'

interface Compiled {
  pattern: RegExp
  path: string
  method: string
  responses: Map<string, ValidateFunction | null>
  /** Header names (lower case) documented per status. */
  headers: Map<string, Set<string>>
}

/**
 * Headers any answer may carry without being documented per operation: HTTP's own, CORS and
 * the security and caching headers. Every other header an answer carries is part of the API
 * (`Retry-After`, `Idempotent-Replayed`, `X-Request-Id`, …) and must be documented.
 */
const PLAIN_HTTP_HEADERS = new Set([
  'accept-encoding',
  'cache-control',
  'connection',
  'content-disposition',
  'content-encoding',
  'content-length',
  'content-security-policy',
  'content-type',
  'cross-origin-resource-policy',
  'date',
  'etag',
  'keep-alive',
  'last-modified',
  'set-cookie',
  'transfer-encoding',
  'vary',
  'www-authenticate',
  'x-content-type-options',
])

interface DocumentedResponse {
  content?: Record<string, { schema?: object }>
  headers?: Record<string, unknown>
}

let compiled: Compiled[] | undefined

function compile(): Compiled[] {
  const document = buildOpenApiDocument()
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  ;(addFormats as unknown as (a: Ajv2020) => void)(ajv)
  ajv.addSchema(document.components.schemas.Error, '#/components/schemas/Error')
  const out: Compiled[] = []
  for (const [path, operations] of Object.entries(document.paths)) {
    const pattern = new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+').replace(/\./g, '\\.')}$`)
    for (const [method, operation] of Object.entries(operations)) {
      const responses = new Map<string, ValidateFunction | null>()
      const headers = new Map<string, Set<string>>()
      for (const [status, listed] of Object.entries(
        (operation as { responses: Record<string, DocumentedResponse | { $ref: string }> })
          .responses,
      )) {
        const response =
          '$ref' in listed
            ? (document.components.responses[
                listed.$ref.replace('#/components/responses/', '')
              ] as DocumentedResponse)
            : listed
        headers.set(
          status,
          new Set(Object.keys(response.headers ?? {}).map((name) => name.toLowerCase())),
        )
        const schema = response.content?.['application/json']?.schema
        responses.set(
          status,
          schema
            ? ajv.compile(
                status === 'default' ? document.components.schemas.Error : (schema as object),
              )
            : null,
        )
      }
      out.push({ pattern, path, method, responses, headers })
    }
  }
  return out
}

/**
 * Problems with one answer: undocumented route, a header not documented for its status, or a
 * body its documented schema refuses.
 */
export function checkResponse(
  method: string,
  url: string,
  status: number,
  contentType: string | null,
  body: unknown,
  headers?: Headers,
): string[] {
  compiled ??= compile()
  const path = new URL(url, 'http://x').pathname
  const lower = method.toLowerCase()
  if (lower === 'options' || lower === 'head') return []
  // The console's own page API is listed without schemas (internal to its page).
  if (path === '/console' || path.startsWith('/console/')) return []
  const operation =
    compiled.find((op) => op.method === lower && op.path === path) ??
    compiled.find((op) => op.method === lower && op.pattern.test(path))
  if (!operation) {
    // Unknown paths answer the documented 404 error; nothing else may be undocumented.
    return status === 404 || status === 405 ? [] : [`${method} ${path} is not documented`]
  }
  if (
    status >= 400 &&
    !ANY_ROUTE_STATUSES.has(status) &&
    !operation.responses.has(String(status))
  ) {
    return [
      `${method} ${operation.path} answered ${status}, which its document leaves to \`default\`: add it to the operation's errors`,
    ]
  }
  const documented =
    operation.headers.get(String(status)) ?? operation.headers.get('default') ?? new Set()
  const undocumented = [...(headers?.keys() ?? [])].filter(
    (name) =>
      !PLAIN_HTTP_HEADERS.has(name) && !name.startsWith('access-control-') && !documented.has(name),
  )
  if (undocumented.length > 0) {
    return [
      `${method} ${operation.path} ${status} sends undocumented headers: ${undocumented.join(', ')}`,
    ]
  }
  if (!contentType?.includes('json') || body === undefined) return []
  const validate = operation.responses.has(String(status))
    ? operation.responses.get(String(status))
    : operation.responses.get('default')
  if (validate === undefined) return [`${method} ${operation.path} ${status} is not documented`]
  if (validate === null || validate(body)) return []
  return [
    `${method} ${operation.path} ${status} does not match its documented schema: ${JSON.stringify(validate.errors?.slice(0, 3))}`,
  ]
}

/** Responses seen per operation and status, for the coverage test. */
export const seen = new Set<string>()
