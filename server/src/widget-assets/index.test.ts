import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { Hono } from 'hono'
import { afterAll, describe, expect, it } from 'vitest'
import { ApiError, sendError } from '../http/errors'
import { widgetChunks, widgetFile, widgetLicenses } from './index'

const dir = mkdtempSync(join(tmpdir(), 'tg-widget-'))
mkdirSync(join(dir, 'chunks'))
writeFileSync(join(dir, 'widget.js'), 'import("./chunks/fr-Ab12Cd34.js")\n')
writeFileSync(join(dir, 'chunks', 'fr-Ab12Cd34.js'), 'export default { $code: "fr" }\n')
writeFileSync(join(dir, 'secret.js'), 'not a chunk\n')
const LICENSES = 'Textgate widget: the third-party software in widget.js …\nlit 3.3.3\n'
writeFileSync(join(dir, 'widget.licenses.txt'), LICENSES)

const app = new Hono()
app.get('/widget.js', widgetFile(join(dir, 'widget.js')))
app.get('/chunks/:name', widgetChunks(join(dir, 'widget.js')))
app.get('/widget.licenses.txt', widgetLicenses(join(dir, 'widget.js')))
app.onError((error, c) =>
  sendError(c, error instanceof ApiError ? error : new ApiError('internal_error')),
)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('widget files', () => {
  it('serves widget.js for a short while, with CORS for module scripts from a store', async () => {
    const response = await app.request('/widget.js')
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toBe('text/javascript; charset=utf-8')
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=300')
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe('*')
  })

  it('serves a lazy chunk, compressed, cached for good (its name has a content hash)', async () => {
    const response = await app.request('/chunks/fr-Ab12Cd34.js', {
      headers: { 'Accept-Encoding': 'gzip' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toBe('text/javascript; charset=utf-8')
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable')
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe('*')
    expect(response.headers.get('Content-Encoding')).toBe('gzip')
    const body = gunzipSync(Buffer.from(await response.arrayBuffer())).toString()
    expect(body).toBe('export default { $code: "fr" }\n')
    const etag = response.headers.get('ETag')!
    const again = await app.request('/chunks/fr-Ab12Cd34.js', {
      headers: { 'If-None-Match': etag },
    })
    expect(again.status).toBe(304)
  })

  it('answers 304 to any If-None-Match naming the ETag: a list, a weak tag, or *', async () => {
    const etag = (await app.request('/widget.js')).headers.get('ETag')!
    for (const header of [etag, `"other", ${etag}`, `W/${etag}`, '*']) {
      const response = await app.request('/widget.js', { headers: { 'If-None-Match': header } })
      expect([header, response.status]).toEqual([header, 304])
    }
    const other = await app.request('/widget.js', { headers: { 'If-None-Match': '"other"' } })
    expect(other.status).toBe(200)
  })

  it('never sends a coding Accept-Encoding refuses with q=0', async () => {
    for (const [accept, expected] of [
      ['gzip;q=0', null],
      ['br;q=0, gzip', 'gzip'],
      ['br;q=0.0, gzip;q=0', null],
      ['GZIP', 'gzip'],
      ['gzip;q=0.5, br;q=1', 'br'],
    ] as const) {
      const response = await app.request('/widget.js', { headers: { 'Accept-Encoding': accept } })
      expect([accept, response.headers.get('Content-Encoding')]).toEqual([accept, expected])
    }
  })

  it('serves the licences of what widget.js bundles as text, beside it, cached as it is', async () => {
    const response = await app.request('/widget.licenses.txt')
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toBe('text/plain; charset=utf-8')
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=300')
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(await response.text()).toBe(LICENSES)
    const compressed = await app.request('/widget.licenses.txt', {
      headers: { 'Accept-Encoding': 'gzip' },
    })
    expect(gunzipSync(Buffer.from(await compressed.arrayBuffer())).toString()).toBe(LICENSES)
    const again = await app.request('/widget.licenses.txt', {
      headers: { 'If-None-Match': compressed.headers.get('ETag')! },
    })
    expect(again.status).toBe(304)
  })

  it('answers not_found for the licences when the widget is not built', async () => {
    const unbuilt = new Hono()
    unbuilt.get('/widget.licenses.txt', widgetLicenses(join(dir, 'missing', 'widget.js')))
    unbuilt.onError((error, c) => sendError(c, error as ApiError))
    const response = await unbuilt.request('/widget.licenses.txt')
    expect(response.status).toBe(404)
    expect((await response.json()).error.code).toBe('not_found')
  })

  it('serves nothing else from the disk', async () => {
    for (const path of [
      '/chunks/missing-Ab12Cd34.js',
      '/chunks/..%2Fsecret.js',
      '/chunks/..%2Fwidget.js',
      '/chunks/%2E%2E%2Fsecret.js',
      '/chunks/fr-Ab12Cd34.ts',
    ]) {
      const response = await app.request(path)
      expect(response.status, path).toBe(404)
      expect((await response.json()).error.code, path).toBe('not_found')
    }
  })
})
