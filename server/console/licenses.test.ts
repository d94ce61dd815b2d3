/**
 * The built console carries the licences of the third-party code inside its script (the plugin
 * it shares with the widget, scripts/vite-licenses.ts): assets/console.licenses.txt beside the
 * entry holds each bundled package's licence texts, the entry opens with a banner naming them
 * and that file, and the server's console routes answer the banner's URL. The build runs as
 * `vite build` runs it, into a temporary folder: never into server/console/dist, which a server
 * under test elsewhere may be serving.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { noticeSections, viteBuild } from '../../test/support/licenses'
import { consoleAsset, consolePage } from '../src/console/static'

const consoleDir = import.meta.dirname
const out = mkdtempSync(join(tmpdir(), 'tg-console-licenses-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('third-party licences of the built console', () => {
  const dist = join(out, 'dist')
  beforeAll(() => {
    viteBuild(consoleDir, dist)
  }, 180_000)

  it('writes assets/console.licenses.txt with the licence texts of Lit, SimpleWebAuthn, uPlot and uqr', () => {
    const notices = noticeSections(readFileSync(join(dist, 'assets/console.licenses.txt'), 'utf8'))
    expect([...notices].map(([name, { license }]) => `${name} ${license}`)).toEqual([
      '@lit/reactive-element BSD-3-Clause',
      '@simplewebauthn/browser MIT',
      'lit BSD-3-Clause',
      'lit-element BSD-3-Clause',
      'lit-html BSD-3-Clause',
      'uplot MIT',
      'uqr MIT',
    ])
    for (const name of ['@lit/reactive-element', 'lit', 'lit-element', 'lit-html']) {
      expect(notices.get(name)?.text).toContain('Redistribution and use in source and binary forms')
    }
    for (const name of ['@simplewebauthn/browser', 'uplot', 'uqr']) {
      expect(notices.get(name)?.text, name).toContain('Permission is hereby granted')
    }
  })

  it('opens the script with a banner naming them and the notices, which the console routes serve', async () => {
    const routes = new Hono()
    routes.get('/assets/:name', consoleAsset(dist))
    routes.get('/*', consolePage(dist))
    const app = new Hono().route('/console', routes)
    // From the page the server sends, to the script it loads, to the notices its banner names.
    const page = await (await app.request('http://textgate.test/console/')).text()
    const src = page.match(/<script type="module"[^>]* src="([^"]+)"/)?.[1] ?? ''
    const script = new URL(src, 'http://textgate.test/console/')
    expect(script.pathname).toMatch(/^\/console\/assets\/index-[\w-]+\.js$/)
    const code = await (await app.request(script)).text()
    const banner = code.match(/^\/\*!.*\*\/\n/)?.[0] ?? ''
    expect(banner).toBe(
      '/*! Textgate console. Bundles @lit/reactive-element, lit, lit-element, lit-html (BSD-3-Clause); @simplewebauthn/browser, uplot, uqr (MIT). Licence texts: ./console.licenses.txt */\n',
    )
    const named = new URL(banner.match(/Licence texts: (\S+)/)?.[1] ?? '', script)
    const notices = await app.request(named)
    expect(notices.status).toBe(200)
    expect(notices.headers.get('Content-Type')).toBe('text/plain; charset=utf-8')
    const entry = script.pathname.slice('/console/assets/'.length)
    expect(await notices.text()).toContain(
      `Textgate console: the third-party software in ${entry} and the chunks it loads`,
    )
    // Once, atop the script: the stylesheet has no banner of Textgate's.
    for (const file of readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.css'))) {
      expect(readFileSync(join(dist, 'assets', file), 'utf8'), file).not.toContain('Textgate')
    }
  })
})
