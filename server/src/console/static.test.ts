/**
 * The console's built files as the server answers them, from a small built folder of its own
 * (never server/console/dist, which a server under test elsewhere may be serving): the page,
 * its hashed assets cached for good, and the licence texts of what its script bundles, beside
 * it under the name the script's banner gives, revalidated since that name has no hash. Every
 * answer keeps the console's CSP.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Hono } from 'hono'
import { afterAll, describe, expect, it } from 'vitest'
import { CONSOLE_CSP, consoleHeaders } from './security'
import { consoleAsset, consolePage } from './static'

const dir = mkdtempSync(join(tmpdir(), 'tg-console-'))
mkdirSync(join(dir, 'assets'))
writeFileSync(
  join(dir, 'index.html'),
  '<!doctype html><script type="module" src="/console/assets/index-Ab12Cd34.js"></script>\n',
)
const SCRIPT =
  '/*! Textgate console. Bundles lit (BSD-3-Clause). Licence texts: ./console.licenses.txt */\n'
writeFileSync(join(dir, 'assets', 'index-Ab12Cd34.js'), SCRIPT)
const LICENSES = 'Textgate console: the third-party software in index-Ab12Cd34.js …\nlit 3.3.3\n'
writeFileSync(join(dir, 'assets', 'console.licenses.txt'), LICENSES)
writeFileSync(join(dir, 'assets', 'notes.md'), 'not served\n')
writeFileSync(join(dir, 'secret.txt'), 'outside assets/\n')

// Mounted as consoleRoutes mounts them (./index.ts), without the API and its database.
const routes = new Hono()
routes.use(consoleHeaders())
routes.get('/assets/:name', consoleAsset(dir))
const page = consolePage(dir)
routes.get('/', page)
routes.get('/*', page)
const app = new Hono().route('/console', routes)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('console files', () => {
  it('serves the page for every console path, revalidated, under the console CSP', async () => {
    for (const path of ['/console/', '/console/projects/prj_1/overview']) {
      const response = await app.request(path)
      expect(response.status, path).toBe(200)
      expect(response.headers.get('Cache-Control'), path).toBe('no-cache')
      expect(response.headers.get('Content-Security-Policy'), path).toBe(CONSOLE_CSP)
    }
  })

  it('serves a hashed asset cached for good, under the console CSP', async () => {
    const response = await app.request('/console/assets/index-Ab12Cd34.js')
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toBe('text/javascript; charset=utf-8')
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable')
    expect(response.headers.get('Content-Security-Policy')).toBe(CONSOLE_CSP)
    expect(await response.text()).toBe(SCRIPT)
  })

  it('serves the licences at the URL the script’s banner names, as text, revalidated', async () => {
    const script = 'http://textgate.test/console/assets/index-Ab12Cd34.js'
    const named = new URL(SCRIPT.match(/Licence texts: (\S+)/)![1]!, script)
    expect(named.pathname).toBe('/console/assets/console.licenses.txt')
    const response = await app.request(named.pathname)
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toBe('text/plain; charset=utf-8')
    // No hash in its name: a new build's notices must not wait a year behind a cached copy.
    expect(response.headers.get('Cache-Control')).toBe('no-cache')
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(response.headers.get('Content-Security-Policy')).toBe(CONSOLE_CSP)
    expect(await response.text()).toBe(LICENSES)
  })

  it('serves nothing else from the disk', async () => {
    for (const path of [
      '/console/assets/notes.md',
      '/console/assets/missing-Ab12Cd34.js',
      '/console/assets/..%2Fsecret.txt',
      '/console/assets/%2E%2E%2Fsecret.txt',
      '/console/assets/..%2Findex.html',
    ]) {
      expect((await app.request(path)).status, path).toBe(404)
    }
  })
})
