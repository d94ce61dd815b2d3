/**
 * A known path asked with a method it does not serve is 405 with `Allow`, read from the app's
 * route table; an unknown path is 404. Preflights on the widget's routes still pass.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, makeOperator } from '../../testing/console'
import { createHarness, type Harness, METRICS_TOKEN, ORIGIN } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { allowedMethods } from './allowed-methods'

it('reads the methods of a path from a route table, middleware left out', () => {
  const handler = () => undefined
  const route = (method: string, path: string) => ({ basePath: '/', method, path, handler })
  const methodsOf = allowedMethods({
    routes: () => [
      route('ALL', '/*'),
      route('ALL', '/v1/*'),
      route('POST', '/v1/things'),
      route('GET', '/v1/things/:id'),
      route('DELETE', '/v1/things/:id'),
      route('POST', '/v1/things/:id/check'),
    ],
    preflight: (path) => path.endsWith('/check'),
  })
  expect(methodsOf('/v1/things')).toEqual(['POST'])
  expect(methodsOf('/v1/things/t_1')).toEqual(['GET', 'HEAD', 'DELETE'])
  expect(methodsOf('/v1/things/t_1/check')).toEqual(['POST', 'OPTIONS'])
  // Only middleware matches: no route serves it.
  expect(methodsOf('/v1/nothing')).toEqual([])
  expect(methodsOf('/v1/things/t_1/check/more')).toEqual([])
})

for (const dialect of DIALECTS) {
  describe(`methods a path does not serve (${dialect})`, () => {
    let h: Harness
    let sk: string
    let projectId: string
    const dir = mkdtempSync(join(tmpdir(), 'tg-methods-'))

    beforeAll(async () => {
      writeFileSync(join(dir, 'widget.js'), 'export const widget = 1\n')
      h = await createHarness(dialect, { widgetPath: join(dir, 'widget.js') })
      const created = await h.project({ name: 'Methods' })
      sk = created.secretKey
      projectId = created.project.id
    })
    afterAll(async () => {
      await h.dispose()
      rmSync(dir, { recursive: true, force: true })
    })

    const ask = (method: string, path: string, headers: Record<string, string> = {}) =>
      h.app.request(`http://textgate.test${path}`, { method, headers })

    it('answers 405 with the JSON error and Allow for a known path', async () => {
      for (const [method, path, allow] of [
        ['DELETE', '/v1/verifications', 'POST, OPTIONS'],
        ['GET', '/v1/verifications/ver_x/check', 'POST, OPTIONS'],
        ['PUT', '/v1/verifications/ver_x', 'GET, HEAD'],
        ['PUT', '/.well-known/jwks.json', 'GET, HEAD'],
        ['POST', '/healthz', 'GET, HEAD'],
        ['DELETE', '/metrics', 'GET, HEAD'],
        ['PATCH', '/v1/tokens/redeem', 'POST'],
        ['PUT', '/v1/fraud/lists', 'GET, HEAD, POST'],
        ['PUT', '/v1/carriers/twilio/reports', 'GET, HEAD, POST'],
        ['POST', '/widget.js', 'GET, HEAD'],
        ['DELETE', '/chunks/lit-abc123.js', 'GET, HEAD'],
        ['POST', '/console/login', 'GET, HEAD'],
      ]) {
        const res = await ask(method as string, path as string)
        const where = `${method} ${path}`
        expect([where, res.status]).toEqual([where, 405])
        expect([where, res.headers.get('Allow')]).toEqual([where, allow])
        expect(res.headers.get('Content-Type')).toMatch(/^application\/json/)
        expect(await res.json()).toEqual({
          error: {
            code: 'method_not_allowed',
            message: `This path does not accept ${method}; it accepts ${allow}.`,
            allow: (allow as string).split(', '),
          },
        })
      }
    })

    it('answers a secret-key route asked with another method after its key', async () => {
      // The key is checked before the route: no key, no map of what the path serves.
      const anonymous = await ask('PUT', '/v1/webhooks/endpoints')
      expect(anonymous.status).toBe(401)
      const keyed = await ask('PUT', '/v1/webhooks/endpoints', { Authorization: `Bearer ${sk}` })
      expect(keyed.status).toBe(405)
      expect(keyed.headers.get('Allow')).toBe('GET, HEAD, POST')
    })

    it('keeps 404 for unknown paths and for what a served method does not find', async () => {
      for (const [method, path] of [
        ['GET', '/nope'],
        ['DELETE', '/v1/nope'],
        ['OPTIONS', '/v1/nope'],
        ['GET', '/v1/verifications/ver_x/check/more'],
        ['GET', '/healthz/'],
        ['GET', '/chunks/missing-chunk.js'],
        ['HEAD', '/chunks/missing-chunk.js'],
      ]) {
        const res = await ask(method as string, path as string, { Origin: ORIGIN })
        expect([`${method} ${path}`, res.status]).toEqual([`${method} ${path}`, 404])
        expect(res.headers.get('Allow')).toBeNull()
      }
      // HEAD wherever GET is, with GET's answer.
      expect((await ask('HEAD', '/healthz')).status).toBe(200)
      expect((await ask('HEAD', '/widget.js')).status).toBe(200)
      const metrics = await ask('GET', '/metrics', { Authorization: `Bearer ${METRICS_TOKEN}` })
      expect(metrics.status).toBe(200)
    })

    it('answers preflights on the widget routes, and OPTIONS elsewhere as a method not served', async () => {
      const preflight = await ask('OPTIONS', '/v1/verifications/ver_x/check', {
        Origin: ORIGIN,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type',
      })
      expect(preflight.status).toBe(204)
      expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)
      expect(preflight.headers.get('Allow')).toBe('POST, OPTIONS')
      // Without an Origin it is a plain OPTIONS: what the path serves, no CORS.
      const plain = await ask('OPTIONS', '/v1/config')
      expect(plain.status).toBe(204)
      expect(plain.headers.get('Allow')).toBe('GET, HEAD, OPTIONS')
      expect(plain.headers.get('Access-Control-Allow-Origin')).toBeNull()
      // A secret-key route answers no preflight at all.
      const secret = await ask('OPTIONS', '/v1/tokens/redeem', {
        Origin: ORIGIN,
        'Access-Control-Request-Method': 'POST',
      })
      expect(secret.status).toBe(405)
      expect(secret.headers.get('Allow')).toBe('POST')
      expect(secret.headers.get('Access-Control-Allow-Origin')).toBeNull()
    })

    it('answers the console’s paths: its page for GET, its API by its routes', async () => {
      const owner = await login(
        h,
        await makeOperator(h, 'owner@methods.example', 'owner', projectId),
      )
      const wrong = await owner.call('DELETE', `/projects/${projectId}/settings`)
      expect(wrong.status).toBe(405)
      expect(wrong.headers.get('Allow')).toBe('GET, HEAD, PUT')
      expect(wrong.json.error.code).toBe('method_not_allowed')
      // A path under /console/api no route serves is not the page's: 404 for any method.
      for (const method of ['GET', 'POST']) {
        const unknown = await owner.call(method, '/nothing-here')
        expect([method, unknown.status]).toEqual([method, 404])
        expect(unknown.json.error.code).toBe('not_found')
      }
      // Any other path under /console is the page (it routes in the browser).
      for (const path of ['/console', '/console/', '/console/login', '/console/p/prj_x/overview']) {
        const page = await ask('GET', path)
        expect([path, page.status]).not.toEqual([path, 404])
        expect([path, page.status]).not.toEqual([path, 405])
      }
    })
  })
}
