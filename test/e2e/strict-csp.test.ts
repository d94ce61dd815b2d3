/**
 * The widget under the strictest everyday CSP: everything from 'self', no inline anything.
 * A tiny loopback server serves the store page with exactly that policy and reverse-proxies
 * /widget.js, /chunks/* and /v1/* to a real Textgate process, so every request is same-origin;
 * the project's only allowed origin is that server's. The whole flow runs, and the page must
 * report no `securitypolicyviolation` event, no console error and no page error.
 */
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser'
import {
  type CreatedProject,
  createProject,
  sandboxCode,
  sandboxNumber,
  startTextgate,
} from '../support/processes'

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'"

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Strict CSP store</title>
<script type="module" src="/widget.js"></script>
</head>
<body>
<form method="post" action="/register">
  <textgate-verify publishable-key="PUBLISHABLE_KEY" name="phone_token" required default-country="GB"></textgate-verify>
  <button type="submit">Create account</button>
</form>
</body>
</html>`

/** A page that breaks the policy on purpose: shows that violations are seen. */
const CONTROL = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Control</title>
<style>body { color: red }</style></head><body><p>inline style</p></body></html>`

const PROXIED = /^\/(widget\.js$|chunks\/|v1\/)/

/** The store's server: the page with the policy, and a reverse proxy to Textgate. */
function startStore(textgateUrl: string, page: () => string): Promise<Server> {
  const target = new URL(textgateUrl)
  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    if (PROXIED.test(path)) {
      const upstream = request(
        {
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path,
          headers: { ...req.headers, host: target.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      upstream.on('error', () => {
        res.writeHead(502).end()
      })
      req.pipe(upstream)
      return
    }
    if (path === '/' || path === '/control') {
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': CSP,
      })
      res.end(path === '/' ? page() : CONTROL)
      return
    }
    res.writeHead(path === '/favicon.ico' ? 204 : 404).end()
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

describe('the widget under a strict same-origin CSP', () => {
  let textgate: Awaited<ReturnType<typeof startTextgate>>
  let store: Server
  let storeUrl: string
  let project: CreatedProject
  let browser: Browser

  beforeAll(async () => {
    textgate = await startTextgate()
    let key = ''
    store = await startStore(textgate.url, () => PAGE.replace('PUBLISHABLE_KEY', key))
    storeUrl = `http://127.0.0.1:${(store.address() as AddressInfo).port}`
    project = createProject(textgate.env, 'Strict store', [storeUrl])
    key = project.publishableKey
    browser = await launchChromium()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => store?.close(resolve))
    await textgate?.close()
  })

  /** A page that records CSP violations (init scripts are not subject to the page's CSP). */
  async function watchedPage() {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`))
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`)
    })
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`)
    })
    await page.addInitScript(() => {
      const seen: string[] = []
      ;(window as unknown as { cspViolations: string[] }).cspViolations = seen
      document.addEventListener('securitypolicyviolation', (event) => {
        seen.push(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}`)
      })
    })
    const violations = (p: Page) =>
      p.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)
    return { page, errors, violations: () => violations(page) }
  }

  it('sees a violation when a page breaks the policy (the watch works)', async () => {
    const { page, violations } = await watchedPage()
    const response = await page.goto(`${storeUrl}/control`)
    expect(response?.headers()['content-security-policy']).toBe(CSP)
    await expect.poll(violations).toEqual(['style-src-elem blocked inline'])
    await page.close()
  })

  it('verifies a number with zero violations, console errors or page errors', async () => {
    const { page, errors, violations } = await watchedPage()
    const response = await page.goto(storeUrl)
    expect(response?.headers()['content-security-policy']).toBe(CSP)
    const widget = (part: string) => page.locator(`textgate-verify [part~="${part}"]`)
    const phone = await sandboxNumber(textgate.url, project, 'GB')
    await widget('phone-input').fill(phone)
    await widget('consent-checkbox').check()
    // The country picker's popup too: it is positioned by script, never by inline styles.
    await widget('country-button').click()
    await expect.poll(() => widget('country-panel').isVisible()).toBe(true)
    await page.keyboard.press('Escape')
    await widget('submit-button').click()
    await expect.poll(() => widget('code-input').isVisible(), { timeout: 10_000 }).toBe(true)
    const code = await sandboxCode(textgate.url, project, phone)
    await widget('code-input').fill(code)
    await expect.poll(() => widget('done').isVisible(), { timeout: 10_000 }).toBe(true)
    const token = await page.evaluate(() =>
      new FormData(document.querySelector('form')!).get('phone_token'),
    )
    expect(String(token).split('.')).toHaveLength(3)
    expect(await violations()).toEqual([])
    expect(errors).toEqual([])
    await page.close()
  })
})
