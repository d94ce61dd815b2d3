/**
 * The API reference at /docs in a real Chromium, served by a real Textgate process under the
 * page's own strict CSP (everything from 'self', nothing inline): it must render every tag and
 * operation of /openapi.json with no CSP violation, no console error and no request elsewhere.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser'
import { startTextgate } from '../support/processes'

describe('/docs', () => {
  let browser: Browser
  let textgate: Awaited<ReturnType<typeof startTextgate>>

  beforeAll(async () => {
    textgate = await startTextgate()
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await textgate?.close()
  })

  it('renders every operation of the document under its strict CSP', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    const foreign: string[] = []
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`)
    })
    page.on('request', (request) => {
      if (!request.url().startsWith(textgate.url)) foreign.push(request.url())
    })
    await page.addInitScript(() => {
      const seen: string[] = []
      ;(window as unknown as { cspViolations: string[] }).cspViolations = seen
      document.addEventListener('securitypolicyviolation', (event) => {
        seen.push(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}`)
      })
    })
    const response = await page.goto(`${textgate.url}/docs`)
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/)
    const spec = (await (await fetch(`${textgate.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>
      webhooks: Record<string, unknown>
    }
    // Every operation, and every webhook event (Swagger UI shows those as operations too).
    const operations =
      Object.values(spec.paths).reduce((n, ops) => n + Object.keys(ops).length, 0) +
      Object.keys(spec.webhooks).length
    await page.waitForSelector('.opblock', { timeout: 20_000 })
    await expect.poll(() => page.locator('.opblock').count(), { timeout: 10_000 }).toBe(operations)
    expect(await page.locator('.opblock-tag').count()).toBeGreaterThanOrEqual(8)
    // The document keeps OpenAPI 3.1's own schema dialect, which Swagger UI renders without its
    // "value different from the default … not supported" warning.
    expect(await page.locator('body').textContent()).not.toMatch(/different from the default/i)
    // Opening an operation shows its schema.
    await page.locator('.opblock-summary').first().click()
    await page.waitForSelector('.opblock-body', { timeout: 5_000 })
    const violations = await page.evaluate(
      () => (window as unknown as { cspViolations: string[] }).cspViolations,
    )
    expect(violations).toEqual([])
    expect(errors).toEqual([])
    expect(foreign).toEqual([])
  }, 60_000)
})
