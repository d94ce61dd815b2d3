import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness, ORIGIN } from '../../testing/harness'
import { checkResponse } from '../../testing/openapi-contract'
import type { buildOpenApiDocument } from './document'

describe('OpenAPI document', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness('sqlite')
  })
  afterAll(() => h.dispose())

  it('documents every route the app serves', async () => {
    const document = (await h.call('GET', '/openapi.json')).json as ReturnType<
      typeof buildOpenApiDocument
    >
    const served = h.app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => ({
        method: route.method.toLowerCase(),
        path: route.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}'),
      }))
    expect(served.length).toBeGreaterThan(30)
    const missing = served.filter(
      ({ method, path }) =>
        !(document.paths as Record<string, Record<string, unknown>>)[path]?.[method],
    )
    expect(missing).toEqual([])
    // …and documents nothing the app does not serve.
    const documented = Object.entries(document.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`),
    )
    const servedKeys = new Set(served.map((r) => `${r.method} ${r.path}`))
    expect(documented.filter((key) => !servedKeys.has(key))).toEqual([])
  })

  it('is OpenAPI 3.1 with JSON Schema 2020-12, and lists every webhook event', async () => {
    const response = await h.call('GET', '/openapi.json')
    expect(response.status).toBe(200)
    expect(response.json.openapi).toBe('3.1.0')
    expect(Object.keys(response.json.webhooks)).toEqual([
      'verification.approved',
      'verification.failed',
      'message.delivered',
      'message.failed',
      'fraud.restricted',
      'fraud.lifted',
      'consent.marketing',
      'key.revoked',
    ])
    const start = response.json.paths['/v1/verifications'].post
    expect(start.requestBody.content['application/json'].schema.properties.phone.type).toBe(
      'string',
    )
    expect(start.responses['201'].content['application/json'].schema.required).toContain(
      'expiresAt',
    )
    expect(response.json.components.schemas.Error.properties.error.properties.code.enum).toContain(
      'invalid_phone',
    )
  })

  it('passes an OpenAPI 3.1 validator (its published JSON Schemas), and names the codes DESIGN lists', async () => {
    const document = (await h.call('GET', '/openapi.json')).json
    const validator = new Validator()
    const result = await validator.validate(structuredClone(document))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
    const codes = document.components.schemas.Error.properties.error.properties.code.enum
    for (const code of [
      'invalid_phone',
      'country_not_allowed',
      'consent_required',
      'rate_limited',
      'blocked',
      'incorrect_code',
      'verification_expired',
      'max_attempts_reached',
    ]) {
      expect(codes).toContain(code)
    }
  })

  it('lists each error status a route answers, with the codes that status carries', async () => {
    const document = (await h.call('GET', '/openapi.json')).json
    const start = document.paths['/v1/verifications'].post
    expect(Object.keys(start.responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '409', '422', '428', '429', '503']),
    )
    expect(start.responses['429']).toEqual({ $ref: '#/components/responses/Error429' })
    const tooMany = document.components.responses.Error429
    expect(
      tooMany.content['application/json'].schema.properties.error.properties.code.enum,
    ).toEqual(['rate_limited', 'max_attempts_reached', 'max_sends_reached'])
    // A status the route does not list is a drift the contract check reports, as is an error
    // code its status does not carry.
    expect(
      checkResponse('GET', '/v1/keys', 409, 'application/json', {
        error: { code: 'idempotency_conflict', message: 'x' },
      }),
    ).toEqual([expect.stringContaining('GET /v1/keys answered 409')])
    expect(
      checkResponse('POST', '/v1/verifications', 429, 'application/json', {
        error: { code: 'invalid_phone', message: 'x' },
      }),
    ).toHaveLength(1)
    expect(
      checkResponse('POST', '/v1/verifications', 429, 'application/json', {
        error: { code: 'rate_limited', message: 'x' },
      }),
    ).toEqual([])
  })

  it('documents query parameters as the server reads them', async () => {
    const document = (await h.call('GET', '/openapi.json')).json
    const query = (path: string) =>
      Object.fromEntries(
        document.paths[path].get.parameters
          .filter((p: { in: string }) => p.in === 'query')
          .map((p: { name: string; required: boolean; schema: unknown }) => [
            p.name,
            { required: p.required, schema: p.schema },
          ]),
      )
    expect(query('/v1/fraud/events')).toEqual({
      limit: { required: false, schema: { type: 'string', pattern: '^\\d{1,3}$' } },
      decision: {
        required: false,
        schema: { type: 'string', enum: ['allow', 'challenge', 'block'] },
      },
    })
    expect(query('/v1/sandbox/messages').to.required).toBe(true)
    expect(query('/v1/webhooks/endpoints/{id}/deliveries').state.schema.enum).toEqual([
      'pending',
      'delivered',
      'failed',
    ])
  })

  it('refuses answers that do not match their documented schema', () => {
    expect(checkResponse('GET', '/healthz', 200, 'application/json', { status: 'ok' })).toEqual([])
    expect(
      checkResponse('GET', '/healthz', 200, 'application/json', { status: 'fine' }),
    ).toHaveLength(1)
    expect(
      checkResponse('POST', '/v1/verifications', 201, 'application/json', { id: 'ver_x' }),
    ).toHaveLength(1)
    expect(
      checkResponse('POST', '/v1/verifications', 400, 'application/json', {
        error: { code: 'nope', message: 'x' },
      }),
    ).toHaveLength(1)
    expect(checkResponse('GET', '/v1/undocumented', 200, 'application/json', {})).toHaveLength(1)
  })

  it('holds every answer header that is not plain HTTP to the headers documented for it', () => {
    const headers = (entries: Record<string, string>) => new Headers(entries)
    const plain = { 'content-type': 'application/json', 'x-request-id': 'r1', vary: 'Origin' }
    expect(
      checkResponse('GET', '/healthz', 200, 'application/json', { status: 'ok' }, headers(plain)),
    ).toEqual([])
    // A 429 says when to try again; a replayed start says so.
    expect(
      checkResponse(
        'POST',
        '/v1/verifications/ver_x/resend',
        429,
        'application/json',
        { error: { code: 'rate_limited', message: 'x' } },
        headers({ ...plain, 'retry-after': '30' }),
      ),
    ).toEqual([])
    const started = {
      id: 'ver_x',
      status: 'pending',
      to: '+44 ••••13',
      expiresAt: '2026-11-25T12:10:00.000Z',
      resendAfter: '2026-11-25T12:00:30.000Z',
      attemptsLeft: 5,
      codeLength: 6,
    }
    expect(
      checkResponse(
        'POST',
        '/v1/verifications',
        201,
        'application/json',
        started,
        headers({ ...plain, 'idempotent-replayed': 'true' }),
      ),
    ).toEqual([])
    // A header the document does not name for that answer is drift.
    for (const extra of [{ 'idempotent-replayed': 'true' }, { 'x-debug': '1' }] as Record<
      string,
      string
    >[]) {
      expect(
        checkResponse(
          'GET',
          '/healthz',
          200,
          'application/json',
          { status: 'ok' },
          headers({ ...plain, ...extra }),
        ),
      ).toHaveLength(1)
    }
  })

  it('documents each request header parameter with the checks the server applies', async () => {
    const document = (await h.call('GET', '/openapi.json')).json as ReturnType<
      typeof buildOpenApiDocument
    >
    const { publishableKey } = await h.project()
    const ajv = new Ajv2020({ strict: false })
    // (HTTP trims a field value's outer spaces, so none is sampled.)
    const samples = ['', 'a', 'order-42_retry:1', 'two words', 'é', 'x'.repeat(255)]
    samples.push('x'.repeat(256))
    let checked = 0
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations) as [
        string,
        { parameters?: { in: string; name: string; schema: object }[] },
      ][]) {
        for (const parameter of operation.parameters ?? []) {
          if (parameter.in !== 'header') continue
          const documented = ajv.compile(parameter.schema)
          for (const value of samples) {
            // A start with a body that is wrong, so nothing is sent: the header is checked first.
            const answer = await h.app.request(`http://textgate.test${path}`, {
              method: method.toUpperCase(),
              headers: {
                Authorization: `Bearer ${publishableKey}`,
                Origin: ORIGIN,
                'Content-Type': 'application/json',
                [parameter.name]: value,
              },
              body: '{}',
            })
            const body = (await answer.json()) as {
              error?: { issues?: { path: string }[] }
            }
            const refused = Boolean(
              body.error?.issues?.some((issue) => issue.path === parameter.name),
            )
            expect(refused, `${parameter.name}: ${JSON.stringify(value)}`).toBe(!documented(value))
            checked++
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(0)
  })

  it('has every $ref resolve inside the document', async () => {
    const document = (await h.call('GET', '/openapi.json')).json
    const refs: string[] = []
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk)
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value)
          else walk(value)
        }
      }
    }
    walk(document)
    expect(refs.length).toBeGreaterThan(0)
    const unresolved = refs.filter(
      (ref) =>
        !ref.startsWith('#/') ||
        ref
          .slice(2)
          .split('/')
          .reduce<unknown>(
            (node, part) => (node as Record<string, unknown> | undefined)?.[part],
            document,
          ) === undefined,
    )
    expect(unresolved).toEqual([])
  })

  it('serves /docs with a strict CSP and its assets from this server', async () => {
    const page = await h.app.request('http://textgate.test/docs')
    expect(page.status).toBe(200)
    const csp = page.headers.get('Content-Security-Policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    const html = await page.text()
    expect(html).not.toMatch(/https?:\/\//)
    for (const asset of ['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/init.js']) {
      expect(html).toContain(asset)
      const answer = await h.app.request(`http://textgate.test${asset}`)
      expect(answer.status, asset).toBe(200)
    }
    expect((await h.app.request('http://textgate.test/docs/..%2Fpackage.json')).status).toBe(404)
  })

  it('serves Swagger UI’s licence and NOTICE beside it, named by the page, and its files as shipped', async () => {
    // Apache-2.0 §4: a copy of the licence and the NOTICE file go with the redistributed files.
    const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
    const html = await (await h.app.request('http://textgate.test/docs')).text()
    for (const [path, says] of [
      ['/docs/LICENSE', 'Version 2.0, January 2004'],
      ['/docs/NOTICE', 'SmartBear Software'],
      ['/docs/swagger-ui-bundle.js.LICENSE.txt', 'Permission is hereby granted'],
    ] as const) {
      expect(html).toContain(`href="${path}"`)
      const answer = await h.app.request(`http://textgate.test${path}`)
      expect(answer.status, path).toBe(200)
      expect(answer.headers.get('Content-Type'), path).toBe('text/plain; charset=utf-8')
      const text = await answer.text()
      expect(text, path).toContain(says)
      expect(text, path).toBe(readFileSync(join(dist, path.slice('/docs/'.length)), 'utf8'))
    }
    // The script and the stylesheet keep the licence comments they ship with, and the script's
    // first line names a file that is served beside it.
    const script = await (
      await h.app.request('http://textgate.test/docs/swagger-ui-bundle.js')
    ).text()
    expect(script).toBe(readFileSync(join(dist, 'swagger-ui-bundle.js'), 'utf8'))
    const named = script.match(/^\/\*! For license information please see (\S+) \*\//)?.[1]
    expect(new URL(named ?? '', 'http://textgate.test/docs/swagger-ui-bundle.js').pathname).toBe(
      '/docs/swagger-ui-bundle.js.LICENSE.txt',
    )
    const css = await (await h.app.request('http://textgate.test/docs/swagger-ui.css')).text()
    expect(css).toBe(readFileSync(join(dist, 'swagger-ui.css'), 'utf8'))
    expect(css).toContain('/*! normalize.css')
  })
})
