/**
 * The HTTP contract as an outside client meets it, on a real server process: every operation
 * `/openapi.json` documents, called without a key, with each kind of key, with a key that does
 * not exist and with bad bodies, answers a status that operation documents, in the documented
 * shape (`{ error: { code, message } }` for errors); and `/metrics`, scraped after hostile
 * requests, parses as Prometheus text with no attacker input in a label and no secret.
 */
import { request } from 'node:http'
import { checkResponse } from '@textgate/server/testing/openapi-contract'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CreatedProject,
  createProject,
  startTextgate,
  TEST_SECRET,
} from '../support/processes'

const ORIGIN = 'https://shop.example'
const METRICS_TOKEN = 'metrics-token-for-the-live-contract'

describe('the HTTP contract on a real server process', () => {
  let server: Awaited<ReturnType<typeof startTextgate>>
  let project: CreatedProject

  beforeAll(async () => {
    server = await startTextgate({ env: { METRICS_TOKEN } })
    project = createProject(server.env, 'Shop', [ORIGIN])
  }, 60_000)
  afterAll(() => server?.close())

  async function probe(method: string, path: string, init: RequestInit = {}) {
    const response = await fetch(`${server.url}${path}`, {
      ...init,
      method,
      redirect: 'manual',
    })
    const text = await response.text()
    let json: unknown
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      json = undefined
    }
    const problems = checkResponse(
      method,
      path,
      response.status,
      response.headers.get('content-type'),
      json,
      response.headers,
    )
    if (response.status >= 400) {
      const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error
      if (typeof error?.code !== 'string' || typeof error.message !== 'string') {
        problems.push(`an error answer without { error: { code, message } }: ${text.slice(0, 80)}`)
      }
    }
    if (response.status >= 500) problems.push(`answered ${response.status}`)
    return problems.map((problem) => `${method} ${path} → ${response.status}: ${problem}`)
  }

  it('answers every documented operation as documented, whoever calls and with whatever body', {
    timeout: 120_000,
  }, async () => {
    const document = await (await fetch(`${server.url}/openapi.json`)).json()
    const json = { 'content-type': 'application/json' }
    const publishable = { authorization: `Bearer ${project.publishableKey}`, origin: ORIGIN }
    const secret = { authorization: `Bearer ${project.secretKey}` }
    const callers: [string, RequestInit][] = [
      ['no key', {}],
      ['a key that does not exist', { headers: { authorization: 'Bearer sk_test_nope' } }],
      ['the publishable key', { headers: publishable }],
      ['the secret key', { headers: secret }],
      ['an empty object', { headers: { ...publishable, ...json }, body: '{}' }],
      ['an empty object, secret key', { headers: { ...secret, ...json }, body: '{}' }],
      ['broken JSON', { headers: { ...secret, ...json }, body: '{"phone":' }],
      ['a JSON array', { headers: { ...publishable, ...json }, body: '[1,2]' }],
    ]
    const problems: string[] = []
    let calls = 0
    for (const [path, operations] of Object.entries<Record<string, unknown>>(document.paths)) {
      // Ids that do not exist, of the right shape where one is asked for.
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) =>
        name === 'id' ? 'ver_0000000000000000000000' : `x_${name}`,
      )
      for (const method of Object.keys(operations)) {
        for (const [, init] of callers) {
          const bodyless = method === 'get' || method === 'head' || method === 'delete'
          const sent = bodyless ? { headers: init.headers ?? {} } : init
          problems.push(...(await probe(method.toUpperCase(), concrete, sent)))
          calls++
        }
      }
    }
    // What any route may meet: no route, a method it does not take, a body too large or not
    // JSON, a webhook URL that is refused.
    const big = JSON.stringify({ phone: 'x'.repeat(1_000_000) })
    problems.push(
      ...(await probe('GET', '/v1/no-such-route')),
      ...(await probe('PUT', '/v1/verifications', { headers: publishable })),
      ...(await probe('POST', '/v1/verifications', {
        headers: { ...publishable, ...json },
        body: big,
      })),
      ...(await probe('POST', '/v1/verifications', {
        headers: { ...publishable, 'content-type': 'text/plain' },
        body: '{}',
      })),
      ...(await probe('POST', '/v1/webhooks/endpoints', {
        headers: { ...secret, ...json },
        body: JSON.stringify({ url: 'https://169.254.169.254/latest/meta-data' }),
      })),
      ...(await probe('GET', '/metrics', { headers: { authorization: 'Bearer wrong' } })),
    )
    expect(calls).toBeGreaterThan(300)
    expect(problems).toEqual([])
  })

  /** A request as any client may send it, with a method fetch would refuse. */
  function raw(method: string, path: string, headers: Record<string, string> = {}) {
    return new Promise<number>((resolve) => {
      const sent = request(`${server.url}${path}`, { method, headers }, (answer) => {
        answer.resume()
        answer.on('end', () => resolve(answer.statusCode ?? 0))
      })
      sent.on('error', () => resolve(-1))
      sent.end()
    })
  }

  it('serves /metrics as Prometheus text, with no caller input in a label and no secret', {
    timeout: 120_000,
  }, async () => {
    const secret = { authorization: `Bearer ${project.secretKey}` }
    for (let i = 0; i < 20; i++) {
      const n = String(i).padStart(3, '0')
      await raw('GET', `/hostile-${n}/+447400123${n}`, { 'user-agent': `agent-${n}` })
      await raw('POST', `/v1/verifications/ver_hostile${n}/check`)
      await raw('POST', `/v1/carriers/carrier-hostile-${n}/reports`)
      await raw(['PROPFIND', 'MKCOL', 'PURGE', 'LINK', 'SEARCH'][i % 5] as string, `/v1/x${n}`)
      await raw('GET', `/v1/sandbox/numbers/random?country=Q${n}`, secret)
      await raw('GET', `/v1/sandbox/messages?to=%2B447400123${n}`, secret)
      await raw('GET', `/console/hostile-${n}`)
      await raw('GET', `/docs/hostile-${n}.js`)
    }
    const scraped = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    })
    expect(scraped.status).toBe(200)
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await scraped.text()

    // Every line is a comment (# HELP / # TYPE) or a sample, as the text format 0.0.4 writes
    // them; the parser below is lenient, so the grammar is held here.
    const name = '[a-zA-Z_:][a-zA-Z0-9_:]*'
    const label = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"'
    const sample = new RegExp(
      `^${name}(?:\\{(?:${label})(?:,${label})*,?\\})? (?:[-+]?(?:\\d+(?:\\.\\d*)?(?:e[-+]?\\d+)?|Inf)|NaN)(?: -?\\d+)?$`,
    )
    const comment = new RegExp(
      `^# (?:HELP ${name} .*|TYPE ${name} (?:counter|gauge|histogram|summary|untyped))$`,
    )
    const bad = text
      .split('\n')
      .filter((line) => line !== '' && !sample.test(line) && !comment.test(line))
    expect(bad).toEqual([])

    const families = parsePrometheusTextFormat(text)
    expect(families.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'textgate_http_requests_total',
        'textgate_http_request_duration_seconds',
        'textgate_webhook_queue_depth',
      ]),
    )
    const values = new Map<string, Set<string>>()
    for (const family of families) {
      for (const metric of family.metrics) {
        for (const [key, value] of Object.entries(metric.labels ?? {})) {
          const seen = values.get(`${family.name}.${key}`) ?? new Set<string>()
          seen.add(value)
          values.set(`${family.name}.${key}`, seen)
        }
      }
    }
    const methods = values.get('textgate_http_requests_total.method') ?? new Set()
    for (const method of methods) {
      expect(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER']).toContain(
        method,
      )
    }
    const routes = [...(values.get('textgate_http_requests_total.route') ?? [])]
    expect(routes).toContain('unmatched')
    // Route patterns only (the first test called every documented one): as many as the app
    // has, whatever the callers sent.
    const document = await (await fetch(`${server.url}/openapi.json`)).json()
    const documented = new Set(
      Object.keys(document.paths).map((path) => path.replace(/\{(\w+)\}/g, ':$1')),
    )
    const undocumented = routes.filter(
      (route) => route !== 'unmatched' && !documented.has(route.replace(/\{[^}]*\}$/, '')),
    )
    expect(undocumented).toEqual([])
    // Nothing a caller typed: no path, number, id, agent, country or carrier name of theirs.
    for (const typed of ['hostile', '447400123', 'agent-', 'Q0', 'PROPFIND', 'x00']) {
      expect(text).not.toContain(typed)
    }
    for (const secret of [project.secretKey, project.publishableKey, METRICS_TOKEN, TEST_SECRET]) {
      expect(text).not.toContain(secret)
    }
  })
})
