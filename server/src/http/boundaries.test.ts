/**
 * What the server tells browsers: CORS only on the widget's routes and only for a project's
 * origins, no-store on JSON, nosniff everywhere, widget.js loadable by stores and revalidated by
 * ETag, and error bodies without stacks or SQL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness, ORIGIN } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'

const PHONE = '+447400123999'
const EVIL = 'https://evil.example'

for (const dialect of DIALECTS) {
  describe(`CORS and response headers (${dialect})`, () => {
    let h: Harness
    let pk: string
    let sk: string
    const dir = mkdtempSync(join(tmpdir(), 'tg-boundaries-'))

    beforeAll(async () => {
      writeFileSync(join(dir, 'widget.js'), 'export const widget = 1\n')
      h = await createHarness(dialect, { widgetPath: join(dir, 'widget.js') })
      const created = await h.project({ name: 'Boundaries' })
      pk = created.publishableKey
      sk = created.secretKey
    })
    afterAll(async () => {
      await h.dispose()
      rmSync(dir, { recursive: true, force: true })
    })

    const preflight = (path: string, origin: string, method = 'POST') =>
      h.app.request(`http://textgate.test${path}`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': method },
      })

    it('answers preflights of widget routes for project origins only', async () => {
      const ok = await preflight('/v1/verifications', ORIGIN)
      expect(ok.status).toBe(204)
      expect(ok.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)
      const check = await preflight('/v1/verifications/ver_x/check', ORIGIN)
      expect(check.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)
      const evil = await preflight('/v1/verifications', EVIL)
      expect(evil.headers.get('Access-Control-Allow-Origin')).toBeNull()
      expect(evil.headers.get('Access-Control-Allow-Methods')).toBeNull()
    })

    it('answers no preflight of a secret-key route, whatever the origin', async () => {
      for (const [path, method] of [
        ['/v1/tokens/redeem', 'POST'],
        ['/v1/fraud/lists', 'GET'],
        ['/v1/keys', 'GET'],
        ['/v1/verifications/ver_x', 'GET'],
      ] as const) {
        const res = await preflight(path, ORIGIN, method)
        expect([path, res.headers.get('Access-Control-Allow-Origin')]).toEqual([path, null])
      }
    })

    it('lets only the project’s origins read widget answers', async () => {
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: PHONE, consent: { accepted: true } },
      })
      expect(started.status).toBe(201)
      expect(started.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)
      const evil = await h.call('POST', '/v1/verifications', {
        key: pk,
        origin: EVIL,
        body: { phone: PHONE, consent: { accepted: true } },
      })
      expect(evil.status).toBe(403)
      expect(evil.headers.get('Access-Control-Allow-Origin')).toBeNull()
    })

    it('never sends CORS headers with a secret-key answer', async () => {
      for (const [method, path, body] of [
        ['GET', '/v1/fraud/lists', undefined],
        ['POST', '/v1/tokens/redeem', { token: 'x.y.z' }],
        ['GET', '/v1/keys', undefined],
        ['GET', `/v1/sandbox/messages?to=${encodeURIComponent(PHONE)}`, undefined],
      ] as const) {
        for (const origin of [ORIGIN, EVIL]) {
          const res = await h.call(method, path, { key: sk, origin, body })
          expect(res.status, path).toBeLessThan(500)
          expect([path, res.headers.get('Access-Control-Allow-Origin')]).toEqual([path, null])
        }
      }
    })

    it('marks JSON answers no-store and every answer nosniff', async () => {
      const answers = [
        await h.call('POST', '/v1/verifications', {
          key: pk,
          body: { phone: PHONE, consent: { accepted: true } },
        }),
        await h.call('GET', '/v1/fraud/lists', { key: sk, origin: null }),
        await h.call('GET', '/v1/nothing-here'),
        await h.call('POST', '/v1/tokens/redeem', { key: sk, origin: null, body: '{' }),
      ]
      for (const res of answers) {
        expect(res.headers.get('Cache-Control')).toBe('no-store')
        expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
      }
      // The JWKS is public and meant to be cached.
      const jwks = await h.call('GET', '/.well-known/jwks.json')
      expect(jwks.headers.get('Cache-Control')).toMatch(/public, max-age=\d+/)
    })

    it('serves widget.js as JavaScript that stores may load, revalidated by ETag', async () => {
      const res = await h.app.request('http://textgate.test/widget.js')
      expect(res.status).toBe(200)
      expect(res.headers.get('Content-Type')).toBe('text/javascript; charset=utf-8')
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
      expect(res.headers.get('Cross-Origin-Resource-Policy')).toBe('cross-origin')
      expect(res.headers.get('Cache-Control')).toMatch(/max-age=\d+/)
      const etag = res.headers.get('ETag')
      expect(etag).toMatch(/^"[\w-]+"$/)
      const again = await h.app.request('http://textgate.test/widget.js', {
        headers: { 'If-None-Match': etag as string },
      })
      expect(again.status).toBe(304)
    })

    it('keeps stacks and SQL out of error bodies, even when the database fails', async () => {
      await h.db.schema.dropTable('fraud_list_entries').execute()
      const res = await h.call('GET', '/v1/fraud/lists', { key: sk, origin: null })
      expect(res.status).toBe(500)
      expect(res.json).toEqual({
        error: { code: 'internal_error', message: 'Something went wrong on our side.' },
      })
    })
  })
}
