import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { KEY_CACHE_TTL_MS } from '@textgate/server/keys/cache'
import Database from 'better-sqlite3'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser'
import {
  cliAsync,
  type DemoStore,
  sandboxNumber as randomNumber,
  sandboxCode,
  startDemoStore,
} from '../support/processes'

describe('a shopper registers at the demo store', () => {
  let demo: DemoStore
  let browser: Browser

  beforeAll(async () => {
    demo = await startDemoStore('Demo store', 'tg-e2e-')
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await demo?.close()
  })

  const sandboxNumber = (country = 'GB') => randomNumber(demo.textgate.url, demo.project, country)
  const latestCode = (phone: string) => sandboxCode(demo.textgate.url, demo.project, phone)

  const widget = (page: Page, part: string) => page.locator(`textgate-verify [part~="${part}"]`)

  async function sendCode(page: Page, phone: string) {
    await widget(page, 'phone-input').fill(phone)
    await widget(page, 'consent-checkbox').check()
    await widget(page, 'submit-button').click()
    await expect.poll(() => widget(page, 'code-input').isVisible()).toBe(true)
  }

  it('verifies the number, submits the form and sees the welcome page', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    // The store serves a strict CSP (no inline scripts or styles): a violation is an error here.
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text())
    })
    await page.goto(demo.url)
    await page.fill('input[name="name"]', 'Ada Lovelace')
    await page.fill('input[name="email"]', 'ada@example.com')
    const phone = await sandboxNumber('GB')
    await sendCode(page, phone)
    const code = await latestCode(phone)
    await widget(page, 'code-input').fill(code)
    await expect.poll(() => widget(page, 'done').isVisible(), { timeout: 10_000 }).toBe(true)
    await page.locator('form[action="/register"] > button[type="submit"]').click()
    await page.waitForURL(/\/welcome\//)
    const text = (await page.locator('body').textContent()) ?? ''
    expect(text).toContain('Ada Lovelace')
    expect(text.replace(/\s/g, '')).toContain(phone)
    expect(text).not.toContain('offers by text')
    expect(errors).toEqual([])
    await page.close()
  })

  it('a double click on Create account sends the form once and lands on the welcome page', async () => {
    const page = await browser.newPage()
    await page.goto(demo.url)
    await page.fill('input[name="name"]', 'Katherine Johnson')
    await page.fill('input[name="email"]', 'katherine@example.com')
    const phone = await sandboxNumber('GB')
    await sendCode(page, phone)
    await widget(page, 'code-input').fill(await latestCode(phone))
    await expect.poll(() => widget(page, 'done').isVisible(), { timeout: 10_000 }).toBe(true)
    // A slow connection: each answer takes a while, so the shopper clicks again meanwhile, as
    // people do (Playwright's own dblclick lands both clicks in one task, which browsers merge).
    const posts: string[] = []
    await page.route('**/register', async (route) => {
      posts.push(route.request().method())
      const response = await route.fetch({ maxRedirects: 0 })
      await new Promise((resolve) => setTimeout(resolve, 500))
      // The page of a submission the browser gave up on is no longer wanted.
      await route.fulfill({ response }).catch(() => {})
    })
    // Two presses 150 ms apart, the second while the first is on its way (a disabled button
    // takes no press, as for a person).
    await page.evaluate(() => {
      const create = document.querySelector<HTMLButtonElement>('form[action="/register"] > button')!
      create.click()
      setTimeout(() => create.click(), 150)
    })
    // (The page that ends up shown: the second press, when it went out, aborts the first.)
    await expect.poll(() => new URL(page.url()).pathname).not.toBe('/')
    await page.waitForLoadState()
    expect(await page.locator('body').textContent()).not.toContain('already used')
    expect(page.url()).toMatch(/\/welcome\/\d+$/)
    expect(await page.locator('h1').textContent()).toContain('Katherine Johnson')
    expect(posts).toHaveLength(1)
    const accounts = new Database(join(demo.dir, 'store.db'), { readonly: true })
    const rows = accounts
      .prepare('SELECT id FROM accounts WHERE email = ?')
      .all('katherine@example.com')
    accounts.close()
    expect(rows).toHaveLength(1)
    await page.close()
  })

  it('submits the optional marketing opt-in beside the token when the shopper ticks it', async () => {
    const page = await browser.newPage()
    await page.goto(demo.url)
    await page.fill('input[name="name"]', 'Mary Somerville')
    await page.fill('input[name="email"]', 'mary@example.com')
    expect(await widget(page, 'marketing-checkbox').isChecked()).toBe(false)
    await widget(page, 'marketing-checkbox').check()
    const phone = await sandboxNumber('GB')
    await sendCode(page, phone)
    await widget(page, 'code-input').fill(await latestCode(phone))
    await expect.poll(() => widget(page, 'done').isVisible(), { timeout: 10_000 }).toBe(true)
    await page.locator('form[action="/register"] > button[type="submit"]').click()
    await page.waitForURL(/\/welcome\//)
    expect(await page.locator('.offers').textContent()).toContain('offers by text')
    await page.close()
  })

  it('keeps the form from submitting until the number is verified', async () => {
    const page = await browser.newPage()
    await page.goto(demo.url)
    await page.fill('input[name="name"]', 'Grace Hopper')
    await page.fill('input[name="email"]', 'grace@example.com')
    await page.locator('form[action="/register"] > button[type="submit"]').click()
    await page.waitForTimeout(300)
    expect(page.url()).toBe(`${demo.url}/`)
    await page.close()
  })

  it('locks the verification after five wrong codes', async () => {
    const page = await browser.newPage()
    await page.goto(demo.url)
    const phone = await sandboxNumber('US')
    await sendCode(page, phone)
    const code = await latestCode(phone)
    const wrong = code === '000000' ? '111111' : '000000'
    for (let i = 0; i < 4; i++) {
      await widget(page, 'code-input').fill(wrong)
      await expect.poll(() => widget(page, 'error').textContent()).toMatch(new RegExp(`${4 - i}`))
    }
    await widget(page, 'code-input').fill(wrong)
    await expect.poll(() => widget(page, 'error').textContent()).toMatch(/too many/i)
    // The verification is over: the widget takes no more codes and offers to start again.
    expect(await widget(page, 'code-input').isDisabled()).toBe(true)
    expect(await widget(page, 'submit-button').count()).toBe(0)
    expect(await widget(page, 'change-button').textContent()).toMatch(/start again/i)
    expect(await widget(page, 'done').count()).toBe(0)
    await page.close()
  })

  it('says to try later or use another number once the number is out of wrong codes for the day', async () => {
    // The number's wrong codes over 24 hours (maxWrongCodesPerNumber, 15 by default) are spent
    // at the third verification's fifth: the server says retry "later", and starting again with
    // the same number would only fail at its first check.
    const page = await browser.newPage()
    await page.goto(demo.url)
    const phone = await sandboxNumber('GB')
    for (let round = 0; round < 3; round++) {
      await sendCode(page, phone)
      const code = await latestCode(phone)
      const wrong = code === '000000' ? '111111' : '000000'
      for (let i = 0; i < 5; i++) {
        await widget(page, 'code-input').fill(wrong)
        await expect.poll(() => widget(page, 'error').textContent()).not.toBe('')
        if (i < 4) await expect.poll(() => widget(page, 'code-input').inputValue()).toBe('')
      }
      const ended = (await widget(page, 'error').textContent()) ?? ''
      if (round < 2) {
        expect(ended).toMatch(/Start again with your number/)
        expect(await widget(page, 'change-button').textContent()).toMatch(/start again/i)
        await widget(page, 'change-button').click()
      } else {
        expect(ended).toBe(
          'Too many wrong codes for this number. Try again later or use another number.',
        )
        expect(await widget(page, 'change-button').textContent()).toMatch(/change number/i)
      }
    }
    await page.close()
  }, 60_000)

  it('tells the shopper when the code has expired', async () => {
    const page = await browser.newPage()
    await page.goto(demo.url)
    const phone = await sandboxNumber('GB')
    await sendCode(page, phone)
    const code = await latestCode(phone)
    // Ten minutes pass: move the verification's expiry into the past in Textgate's database.
    const db = new Database(String(demo.textgate.env.DATABASE_URL).replace(/^sqlite:/, ''))
    db.prepare('UPDATE verifications SET expires_at = ? WHERE phone = ?').run(Date.now() - 1, phone)
    db.close()
    await widget(page, 'code-input').fill(code)
    await expect.poll(() => widget(page, 'error').textContent()).toMatch(/expired/i)
    expect(await widget(page, 'done').count()).toBe(0)
    await page.close()
  })

  it("solves the fraud guard's proof-of-work challenge without the shopper noticing", async () => {
    // From now on, every start from this address after its first in two hours is challenged.
    const settings = join(demo.dir, 'fraud.json')
    writeFileSync(
      settings,
      // The caller check stays out of it: Playwright's Chromium reports navigator.webdriver and
      // fills fields without keys, which the widget's caller signals now tell the guard.
      JSON.stringify({
        velocity: { rules: [{ scope: 'ip', window: '2h', challengeAt: 1 }] },
        callers: { mode: 'off' },
      }),
    )
    const set = await cliAsync(
      ['fraud', 'settings', '--project', demo.project.projectId, '--file', settings],
      demo.textgate.env,
    )
    expect(set.status, set.stderr).toBe(0)
    // A running server reads a project's settings afresh once its key cache entry expires.
    await new Promise((resolve) => setTimeout(resolve, KEY_CACHE_TTL_MS + 100))
    try {
      const page = await browser.newPage()
      await page.goto(demo.url)
      await sendCode(page, await sandboxNumber('GB'))
      await page.reload()
      const phone = await sandboxNumber('GB')
      await sendCode(page, phone)
      const code = await latestCode(phone)
      await widget(page, 'code-input').fill(code)
      await expect.poll(() => widget(page, 'done').isVisible(), { timeout: 10_000 }).toBe(true)
      const events = await fetch(`${demo.textgate.url}/v1/fraud/events?limit=3`, {
        headers: { Authorization: `Bearer ${demo.project.secretKey}` },
      })
      const [solved, challenged, first] = (await events.json()) as {
        outcome: string
        phone: string
      }[]
      expect([solved?.outcome, challenged?.outcome, first?.outcome]).toEqual([
        'solved',
        'challenged',
        'sent',
      ])
      expect(solved?.phone).toBe(phone)
      await page.close()
    } finally {
      writeFileSync(settings, '{}')
      await cliAsync(
        ['fraud', 'settings', '--project', demo.project.projectId, '--file', settings],
        demo.textgate.env,
      )
    }
  }, 60_000)

  it('refuses the widget on a page from an origin the project does not allow', async () => {
    const page = await browser.newPage()
    // localhost and 127.0.0.1 are different origins; only the latter is allowed.
    await page.goto(demo.url.replace('127.0.0.1', 'localhost'))
    const phone = await sandboxNumber('GB')
    await widget(page, 'phone-input').fill(phone)
    await widget(page, 'consent-checkbox').check()
    const refused = page.evaluate(
      () =>
        new Promise<string>((resolve) =>
          document.addEventListener('textgate-error', (e) =>
            resolve((e as CustomEvent).detail.code),
          ),
        ),
    )
    await widget(page, 'submit-button').click()
    // The page reads why (the server's readable refusal), not "We could not reach the server".
    expect(await refused).toBe('origin_not_allowed')
    await expect.poll(() => widget(page, 'error').textContent()).toContain('site not allowed')
    expect(await widget(page, 'code-input').count()).toBe(0)
    await page.close()
  })
})
