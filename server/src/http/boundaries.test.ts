/**
 * What the server tells browsers: CORS only on the widget's routes, only for a project's
 * origins (any other reads only the refusal made before its key is read), no-store on JSON, nosniff everywhere, widget.js loadable by stores and revalidated by
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

    it('answers preflights of widget routes from any origin', async () => {
      const ok = await preflight('/v1/verifications', ORIGIN)
      expect(ok.status).toBe(204)
      expect(ok.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)
      const check = await preflight('/v1/verifications/ver_x/check', ORIGIN)
      expect(check.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)
      // An origin no project allows: the browser may send the request, whose refusal the page
      // then reads (below), instead of failing as if the server could not be reached.
      for (const [path, method] of [
        ['/v1/verifications', 'POST'],
        ['/v1/config', 'GET'],
      ] as const) {
        const evil = await preflight(path, EVIL, method)
        expect(evil.headers.get('Access-Control-Allow-Origin')).toBe(EVIL)
        expect(evil.headers.get('Access-Control-Allow-Headers')).toContain('Authorization')
      }
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

    it('lets a page on an origin no project allows read only a refusal made before its key is read', async () => {
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: PHONE, consent: { accepted: true } },
      })
      expect(started.status).toBe(201)
      expect(started.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN)
      const count = () => h.db.selectFrom('verifications').select('id').execute()
      const before = (await count()).length
      const other = '+447400123998'
      const body = { phone: other, consent: { accepted: true } }
      // The same answer for the project's key, a key that does not exist and a secret key: the
      // key is never read (no oracle for keys; a secret key a page holds does nothing).
      for (const key of [pk, `pk_test_${'x'.repeat(32)}`, sk]) {
        const evil = await h.call('POST', '/v1/verifications', { key, origin: EVIL, body })
        expect(evil.status).toBe(403)
        expect(evil.headers.get('Access-Control-Allow-Origin')).toBe(EVIL)
        expect(evil.json.error).toMatchObject({ code: 'origin_not_allowed', origin: EVIL })
      }
      const config = await h.call('GET', '/v1/config', { key: pk, origin: EVIL })
      expect([config.status, config.json.error.code]).toEqual([403, 'origin_not_allowed'])
      // Nothing ran: no verification, so no text.
      expect(await count()).toHaveLength(before)
      // The server's own pages (/docs' "Try it out", same-origin in the browser's words) may
      // still start with a secret key, as before.
      const own = await h.call('POST', '/v1/verifications', {
        key: sk,
        origin: 'http://textgate.test',
        headers: { 'Sec-Fetch-Site': 'same-origin' },
        body,
      })
      expect(own.status).toBe(201)
      expect(own.headers.get('Access-Control-Allow-Origin')).toBeNull()
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
          if (origin === EVIL && path.startsWith('/v1/sandbox/')) {
            // A widget route from an origin no project allows: refused before the key is read,
            // so this is no secret-key answer (and the same for any key).
            expect([res.status, res.json.error.code]).toEqual([403, 'origin_not_allowed'])
            continue
          }
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
