/**
 * Checks real answers against the OpenAPI document: the test harness runs every JSON answer of
 * every HTTP-level test through {@link checkResponse}, so each documented response schema is
 * held to the responses the contract tests actually see (ajv, JSON Schema 2020-12).
 * @module
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { buildOpenApiDocument } from './document'

interface Compiled {
  pattern: RegExp
  path: string
  method: string
  responses: Map<string, ValidateFunction | null>
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
      for (const [status, response] of Object.entries(
        (
          operation as {
            responses: Record<string, { content?: Record<string, { schema?: object }> }>
          }
        ).responses,
      )) {
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
      out.push({ pattern, path, method, responses })
    }
  }
  return out
}

/** Problems with one answer: undocumented route, or a body its documented schema refuses. */
export function checkResponse(
  method: string,
  url: string,
  status: number,
  contentType: string | null,
  body: unknown,
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
