/**
 * Passkeys as the console's second factor, in a real Chromium with a virtual WebAuthn
 * authenticator (DevTools protocol) against a real Textgate process whose public URL is
 * http://localhost:PORT (WebAuthn takes a host name as relying party, never an IP address).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser'
import {
  apiFromPage,
  axeViolations,
  CONSOLE_PASSWORD,
  createOperatorCli,
  loginWithKeyboard,
  setUpThroughApi,
  watchPage,
} from '../support/console'
import { createProject, ROOT, startTextgate } from '../support/processes'

const SHOTS = join(ROOT, 'test', '.tmp', 'console')

describe('console passkeys in Chromium', () => {
  let textgate: Awaited<ReturnType<typeof startTextgate>>
  let browser: Browser
  let base: string
  let secret: string
  const email = 'owner@passkeys.example'

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    textgate = await startTextgate({ publicHost: 'localhost' })
    base = `http://localhost:${textgate.port}`
    createProject(textgate.env, 'Passkey shop', ['https://shop.example'])
    const made = await createOperatorCli(textgate.env, email, 'owner')
    secret = await setUpThroughApi(base, made.setupUrl)
    browser = await launchChromium()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await textgate?.close()
  })

  it('adds a passkey on the account page, then logs in with it instead of the code', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const watch = await watchPage(page)
    const cdp = await context.newCDPSession(page)
    await cdp.send('WebAuthn.enable')
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    })

    await loginWithKeyboard(page, base, email, secret)
    // Without a passkey yet, the login offers only the code (checked below after adding one).
    await page.getByRole('link', { name: 'Your account' }).click()
    // No project page is the current one here.
    await page.locator('#passkey-name').waitFor()
    expect(await page.locator('nav#nav a[aria-current="page"]').count()).toBe(0)
    await page.locator('#passkey-name').fill('This laptop')
    await page.getByRole('button', { name: 'Add a passkey' }).click()
    await expect
      .poll(() => page.locator('[data-testid="account-note"]').textContent(), { timeout: 15_000 })
      .toBe('Passkey added.')
    await expect
      .poll(() => page.locator('[data-testid="passkeys"]').textContent())
      .toContain('This laptop')
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      expect(await axeViolations(page)).toEqual([])
      await page.screenshot({ path: join(SHOTS, `owner-account-${scheme}.png`), fullPage: true })
    }
    // The browser's authenticator holds the one passkey the server registered.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
    expect(credentials).toHaveLength(1)
    await page.getByRole('button', { name: 'Log out', exact: true }).click()

    // Password, then the passkey instead of the authenticator code.
    await page.locator('#email').fill(email)
    await page.locator('#password').fill(CONSOLE_PASSWORD)
    await page.keyboard.press('Enter')
    const usePasskey = page.getByRole('button', { name: 'Log in with a passkey instead' })
    await usePasskey.waitFor()
    await usePasskey.click()
    await page.locator('nav#nav').waitFor({ state: 'attached', timeout: 15_000 })
    expect(await apiFromPage(page, 'GET', '/passkeys')).toBe(200)
    expect(await watch.violations()).toEqual([])
    expect(watch.errors).toEqual([])
    await context.close()
  }, 90_000)

  it('refuses a passkey login that the server did not ask for, and a forged response', async () => {
    const login = await fetch(`${base}/console/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: base },
      body: JSON.stringify({ email, password: CONSOLE_PASSWORD }),
    })
    expect(login.status).toBe(200)
    const { csrfToken, passkey } = (await login.json()) as { csrfToken: string; passkey: boolean }
    expect(passkey).toBe(true)
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!
    const headers = {
      'Content-Type': 'application/json',
      Origin: base,
      Cookie: cookie,
      'X-CSRF-Token': csrfToken,
    }
    const forged = {
      id: 'AAAA',
      rawId: 'AAAA',
      type: 'public-key',
      response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' },
      clientExtensionResults: {},
    }
    // No challenge pending: refused.
    const early = await fetch(`${base}/console/api/login/passkey`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ response: forged }),
    })
    expect(early.status).toBe(401)
    // A challenge pending, a forged answer: refused too, and the session stays at the first factor.
    const options = await fetch(`${base}/console/api/login/passkey/options`, {
      method: 'POST',
      headers,
    })
    expect(
      ((await options.json()) as { options: { challenge: string } }).options.challenge,
    ).toBeTruthy()
    const bad = await fetch(`${base}/console/api/login/passkey`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ response: forged }),
    })
    expect(bad.status).toBe(401)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_passkey')
    const session = await fetch(`${base}/console/api/session`, { headers: { Cookie: cookie } })
    expect(session.status).toBe(401)
  }, 30_000)
})
