/**
 * The operator console in a real Chromium against a real Textgate process: the first owner from
 * the CLI through the setup page, TOTP login with the keyboard only, what each role sees and
 * what the server refuses it, axe in light and dark, a strict CSP, 390 px wide, and a screenshot
 * of every page under test/.tmp/console/.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser'
import {
  apiFromPage,
  axeViolations,
  CONSOLE_PASSWORD,
  createOperatorCli,
  freshTotp,
  loginWithKeyboard,
  nextTotp,
  setUpThroughApi,
  watchPage,
  wrongTotp,
} from '../support/console'
import {
  type CreatedProject,
  cliAsync,
  createProject,
  ROOT,
  sandboxNumber,
  startTextgate,
  verifyThroughApi,
} from '../support/processes'

const SHOTS = join(ROOT, 'test', '.tmp', 'console')

/** The pages each role's navigation offers, in order. */
const ROLE_PAGES: Record<string, string[]> = {
  owner: [
    'overview',
    'verifications',
    'lookup',
    'fraud',
    'messaging',
    'settings',
    'audit',
    'sandbox',
  ],
  developer: ['messaging', 'settings', 'sandbox'],
  analyst: ['overview', 'verifications', 'fraud', 'messaging'],
  support: ['lookup'],
}

/** Secrets in the routing file the server runs with: no console page may show one. */
const ROUTING_SECRETS = {
  literal: 'literal-api-key-0d9c7b',
  urlPassword: 'url-password-5e4f3a',
  envToken: 'env-token-value-81f2e3',
}

function writeRoutingFile(dir: string): string {
  const file = join(dir, 'routes.json')
  writeFileSync(
    file,
    JSON.stringify({
      carriers: [
        {
          id: 'gateway',
          type: 'generic',
          url: `https://shop:${ROUTING_SECRETS.urlPassword}@127.0.0.1:9/send`,
          body: { to: '{{to}}', text: '{{text}}', api_key: ROUTING_SECRETS.literal },
          headersEnv: { Authorization: 'E2E_GATEWAY_TOKEN' },
          responseIdPath: 'id',
        },
      ],
      projects: { '*': { rules: [{ routes: [{ carrier: 'gateway', costPerSegment: 0.04 }] }] } },
    }),
  )
  return file
}

/** How far the page scrolls sideways, and elements (through shadow roots) that stick out. */
function sidewaysOverflow(page: Page): Promise<{ scroll: number; wide: string[] }> {
  return page.evaluate(() => {
    const wide: string[] = []
    const walk = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll('*')) {
        const box = el.getBoundingClientRect()
        if (box.right > window.innerWidth + 1 && !el.parentElement?.closest('.scroll, .wrap'))
          wide.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(box.right)}`)
        if (el.shadowRoot) walk(el.shadowRoot)
      }
    }
    walk(document)
    return {
      scroll: document.documentElement.scrollWidth - window.innerWidth,
      wide: wide.slice(0, 5),
    }
  })
}

/** Every text of the page, through shadow roots (inputs' values too). */
function pageText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const parts: string[] = []
    const walk = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll('*')) {
        if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement)
          parts.push(el.value)
        if (el.shadowRoot) walk(el.shadowRoot)
      }
      for (const node of root.childNodes) parts.push(node.textContent ?? '')
    }
    walk(document)
    return parts.join('\n')
  })
}

describe('the operator console in Chromium', () => {
  let textgate: Awaited<ReturnType<typeof startTextgate>>
  let project: CreatedProject
  let browser: Browser
  const secrets: Record<string, string> = {}
  const emails: Record<string, string> = {}
  const verifiedPhones: string[] = []

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    const routesDir = mkdtempSync(join(tmpdir(), 'tg-console-routes-'))
    textgate = await startTextgate({
      env: {
        TEXTGATE_ROUTES_FILE: writeRoutingFile(routesDir),
        E2E_GATEWAY_TOKEN: `Bearer ${ROUTING_SECRETS.envToken}`,
      },
    })
    project = createProject(textgate.env, 'Console shop', ['https://shop.example'])
    // Traffic for the overview: verified shoppers, one token redeemed.
    for (let i = 0; i < 3; i += 1) {
      const phone = await sandboxNumber(textgate.url, project, 'GB')
      verifiedPhones.push(phone)
      const token = await verifyThroughApi(textgate.url, project, phone)
      if (i === 0) {
        await fetch(`${textgate.url}/v1/tokens/redeem`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${project.secretKey}`,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({ token }),
        })
      }
    }
    for (const role of ['developer', 'analyst', 'support']) {
      emails[role] = `${role}@shop.example`
      const made = await createOperatorCli(textgate.env, emails[role]!, role, project.projectId)
      secrets[role] = await setUpThroughApi(textgate.url, made.setupUrl)
    }
    browser = await launchChromium()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await textgate?.close()
  })

  async function newPage(
    width = 1280,
  ): Promise<{ page: Page; watch: Awaited<ReturnType<typeof watchPage>> }> {
    const context = await browser.newContext({ viewport: { width, height: 900 } })
    const page = await context.newPage()
    const watch = await watchPage(page)
    return { page, watch }
  }

  /** A new page, in a context of its own, with `role` logged in through the keyboard. */
  async function loggedIn(role: string, width?: number) {
    const opened = await newPage(width)
    await loginWithKeyboard(opened.page, textgate.url, emails[role]!, secrets[role]!)
    return opened
  }

  /** The address of the project's console page `name`, e.g. `messaging`. */
  const projectPage = (name: string) => `${textgate.url}/console/p/${project.projectId}/${name}`

  it('sets up the first owner from the CLI link: password rules, QR code, authenticator code', async () => {
    const made = await createOperatorCli(textgate.env, 'owner@shop.example', 'owner')
    expect(made.setupUrl).toMatch(new RegExp(`^${textgate.url}/console/setup#token=`))
    emails.owner = made.email
    const { page, watch } = await newPage()
    await page.goto(made.setupUrl)
    await page.locator('#password').waitFor()
    expect(await page.locator('tg-qr-code svg rect').count()).toBeGreaterThan(100)
    await page.screenshot({ path: join(SHOTS, 'setup.png'), fullPage: true })
    expect(await axeViolations(page)).toEqual([])
    const secret = (await page.locator('[data-testid="totp-secret"]').textContent())!.trim()
    // A breached password is refused, in words.
    await page.locator('#password').fill('password123456')
    await page.locator('#confirm').fill('password123456')
    await page.locator('#code').fill(nextTotp(secret, 0))
    await page.getByRole('button', { name: 'Finish setup' }).click()
    await expect.poll(() => page.locator('[role="alert"]').textContent()).toMatch(/breached/)
    await page.locator('#password').fill(CONSOLE_PASSWORD)
    await page.locator('#confirm').fill(CONSOLE_PASSWORD)
    await page.locator('#code').fill(nextTotp(secret, 0))
    await page.getByRole('button', { name: 'Finish setup' }).click()
    await expect.poll(() => page.locator('[role="status"]').first().textContent()).toMatch(/ready/)
    secrets.owner = secret
    // The link works once.
    const again = await newPage()
    await again.page.goto(made.setupUrl)
    await expect
      .poll(() => again.page.locator('[role="alert"]').textContent())
      .toMatch(/expired|used/)
    expect(await watch.violations()).toEqual([])
    expect(watch.errors).toEqual([])
    await page.context().close()
    await again.page.context().close()
  }, 60_000)

  it('refuses a wrong authenticator code, then logs in with the right one', async () => {
    const { page, watch } = await newPage()
    await page.goto(`${textgate.url}/console/`)
    await page.locator('#email').fill(emails.owner!)
    await page.locator('#password').fill(CONSOLE_PASSWORD)
    await page.screenshot({ path: join(SHOTS, 'login.png'), fullPage: true })
    expect(await axeViolations(page)).toEqual([])
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.locator('#totp').fill(wrongTotp(secrets.owner!))
    await page.getByRole('button', { name: 'Log in' }).click()
    await expect.poll(() => page.locator('[role="alert"]').textContent()).toMatch(/not right/)
    await page.screenshot({ path: join(SHOTS, 'login-totp.png'), fullPage: true })
    await page.locator('#totp').fill(await freshTotp(secrets.owner!))
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.locator('nav#nav').waitFor()
    expect(await watch.violations()).toEqual([])
    await page.context().close()
  }, 60_000)

  for (const role of ['owner', 'developer', 'analyst', 'support']) {
    it(`${role}: sees only its pages, each with 0 axe violations in light and dark; the server refuses the rest`, async () => {
      const { page, watch } = await loggedIn(role)
      const nav = await page.locator('nav#nav a').allTextContents()
      const expected = ROLE_PAGES[role]!
      expect(nav.length).toBe(expected.length)
      for (const name of expected) {
        await page.goto(projectPage(name))
        await page.locator('main h1').first().waitFor()
        await expect
          .poll(() => page.locator('main [role="status"]').first().textContent())
          .not.toMatch(/Loading/)
        for (const scheme of ['light', 'dark'] as const) {
          await page.emulateMedia({ colorScheme: scheme })
          const violations = await axeViolations(page)
          expect({ role, name, scheme, violations }).toEqual({ role, name, scheme, violations: [] })
          await page.screenshot({
            path: join(SHOTS, `${role}-${name}-${scheme}.png`),
            fullPage: true,
          })
        }
      }
      const p = `/projects/${project.projectId}`
      const statuses = {
        overview: await apiFromPage(
          page,
          'GET',
          `${p}/overview?from=${Date.now() - 86_400_000}&to=${Date.now()}`,
        ),
        audit: await apiFromPage(page, 'GET', `${p}/audit`),
        settings: await apiFromPage(page, 'GET', `${p}/settings`),
        settingsWrite: await apiFromPage(page, 'PUT', `${p}/settings`, { brand: 'Console shop' }),
        keys: await apiFromPage(page, 'GET', `${p}/settings/keys`),
        messaging: await apiFromPage(page, 'GET', `${p}/messaging`),
        delivery: await apiFromPage(page, 'GET', `${p}/messaging/delivery`),
        templatesWrite: await apiFromPage(page, 'PUT', `${p}/messaging/templates`, {
          templates: { en: '{code} is your {brand} code' },
        }),
        fraudWrite: await apiFromPage(page, 'POST', `${p}/fraud/lists`, {
          list: 'block',
          kind: 'prefix',
          value: '+999',
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      }
      const refused = {
        overview: 403,
        audit: 403,
        settings: 403,
        settingsWrite: 403,
        keys: 403,
        messaging: 403,
        delivery: 403,
        templatesWrite: 403,
        fraudWrite: 403,
      }
      const expectedStatuses: Record<string, typeof statuses> = {
        owner: {
          overview: 200,
          audit: 200,
          settings: 200,
          settingsWrite: 200,
          keys: 200,
          messaging: 200,
          delivery: 200,
          templatesWrite: 200,
          fraudWrite: 201,
        },
        developer: {
          ...refused,
          settings: 200,
          settingsWrite: 200,
          keys: 200,
          messaging: 200,
          delivery: 200,
          templatesWrite: 200,
        },
        analyst: { ...refused, overview: 200, delivery: 200 },
        support: refused,
      }
      expect(statuses).toEqual(expectedStatuses[role])
      // A page outside the role, typed into the address bar: the page says so.
      if (!expected.includes('audit')) {
        await page.goto(projectPage('audit'))
        await expect.poll(() => page.locator('main [role="alert"]').textContent()).toMatch(/role/)
      }
      expect(await watch.violations()).toEqual([])
      expect(watch.errors).toEqual([])
      await page.context().close()
    }, 90_000)
  }

  it('overview figures match the traffic, at 390 px without sideways scrolling', async () => {
    const { page } = await loggedIn('analyst', 390)
    await page.goto(projectPage('overview'))
    await expect.poll(() => page.locator('[data-testid="funnel-started"]').textContent()).toBe('3')
    expect(await page.locator('[data-testid="funnel-verified"]').textContent()).toBe('3')
    expect(await page.locator('[data-testid="funnel-redeemed"]').textContent()).toBe('1')
    const overflow = await sidewaysOverflow(page)
    expect(overflow).toEqual({ scroll: 0, wide: [] })
    // The menu opens with the keyboard.
    await page.getByRole('button', { name: 'Menu' }).focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => page.locator('nav#nav').isVisible()).toBe(true)
    await page.screenshot({ path: join(SHOTS, 'overview-390.png'), fullPage: true })
    await page.context().close()
  }, 60_000)

  it('every page fits 390 px without sideways scrolling', async () => {
    const { page, watch } = await loggedIn('owner', 390)
    const wide: Record<string, { scroll: number; wide: string[] }> = {}
    for (const name of ROLE_PAGES.owner!) {
      await page.goto(projectPage(name))
      await page.locator('main h1').first().waitFor()
      await expect
        .poll(() => page.locator('main [role="status"]').first().textContent())
        .not.toMatch(/Loading/)
      const overflow = await sidewaysOverflow(page)
      if (overflow.scroll > 0 || overflow.wide.length > 0) wide[name] = overflow
      await page.screenshot({ path: join(SHOTS, `owner-${name}-390.png`), fullPage: true })
    }
    expect(wide).toEqual({})
    expect(await watch.violations()).toEqual([])
    expect(watch.errors).toEqual([])
    await page.context().close()
  }, 120_000)

  it('messaging with the keyboard alone: tab to the template, type, the preview follows', async () => {
    const { page } = await loggedIn('owner')
    await page.goto(projectPage('messaging'))
    await page.locator('[data-testid="preview-text"]').waitFor()
    const focusedId = () =>
      page.evaluate(() => {
        let el: Element | null = document.activeElement
        while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement
        return el?.id ?? ''
      })
    let steps = 0
    while ((await focusedId()) !== 'template' && steps < 40) {
      await page.keyboard.press('Tab')
      steps += 1
    }
    expect(await focusedId()).toBe('template')
    await page.keyboard.press('ControlOrMeta+A')
    await page.keyboard.type('Use {code} at {brand}')
    await expect
      .poll(() => page.locator('[data-testid="preview-text"]').textContent())
      .toMatch(/^Use \d{6} at Console shop/)
    await page.context().close()
  }, 60_000)

  it('support looks up one shopper by full number (audited); the analyst sees numbers masked', async () => {
    const { page } = await loggedIn('support')
    await page.goto(projectPage('lookup'))
    await page.locator('#phone').fill(verifiedPhones[0]!)
    await page.keyboard.press('Enter')
    await expect
      .poll(() => page.locator('[data-testid="detail-phone"]').first().textContent())
      .toBe(verifiedPhones[0])
    await page.screenshot({ path: join(SHOTS, 'support-lookup-result.png'), fullPage: true })
    // The list is not support's: the server says so too.
    expect(await apiFromPage(page, 'GET', `/projects/${project.projectId}/verifications`)).toBe(403)
    await page.context().close()

    const analyst = await loggedIn('analyst')
    await analyst.page.goto(projectPage('verifications'))
    const firstLink = analyst.page.locator('tg-table a').first()
    await firstLink.waitFor()
    await firstLink.focus()
    await analyst.page.keyboard.press('Enter')
    const shown = await analyst.page.locator('[data-testid="detail-phone"]').textContent()
    expect(shown).toContain('•')
    expect(verifiedPhones).not.toContain(shown)
    for (const scheme of ['light', 'dark'] as const) {
      await analyst.page.emulateMedia({ colorScheme: scheme })
      expect(await axeViolations(analyst.page)).toEqual([])
    }
    await analyst.page.screenshot({
      path: join(SHOTS, 'analyst-verification-detail.png'),
      fullPage: true,
    })
    expect(
      await apiFromPage(
        analyst.page,
        'POST',
        `/projects/${project.projectId}/verifications/lookup`,
        { phone: verifiedPhones[0] },
      ),
    ).toBe(403)
    await analyst.page.context().close()
  }, 90_000)

  it('sandbox: the plain-language box gives a number and sends a code that shows in the live inbox', async () => {
    const { page, watch } = await loggedIn('developer')
    await page.goto(projectPage('sandbox'))
    await page.locator('#ask').fill('give me a random UK number')
    await page.keyboard.press('Enter')
    await expect
      .poll(() => page.locator('[data-testid="ask-answer"]').textContent())
      .toMatch(/\+44\d{10}/)
    const phone = /\+44\d{10}/.exec(
      (await page.locator('[data-testid="ask-answer"]').textContent())!,
    )![0]
    await page.locator('#ask').fill(`send a test code to ${phone}`)
    await page.keyboard.press('Enter')
    // The inbox refreshes by itself. Its row for this number: the project's inbox also holds
    // earlier tests' texts, and this one is written once the dispatcher has sent it.
    await expect
      .poll(
        () =>
          page
            .locator('tr', { hasText: phone })
            .locator('[data-testid="inbox-body"]')
            .first()
            .textContent({ timeout: 1_000 })
            .catch(() => ''),
        { timeout: 15_000 },
      )
      .toMatch(/\d{6}/)
    await page.locator('#ask').fill(`show the last 2 messages to ${phone}`)
    await page.keyboard.press('Enter')
    await expect
      .poll(() => page.locator('[data-testid="ask-answer"]').textContent())
      .toContain(phone)
    // A refused send is said with its field's label, as Settings says it.
    await page.locator('#send-phone').fill('+44 12')
    await page.locator('#send-phone').press('Enter')
    await expect
      .poll(() => page.locator('[data-testid="sandbox-note"]').textContent())
      .toBe('Test number: This is not a valid phone number.')
    await page.locator('#country').fill('ZZ')
    await page.locator('#country').press('Enter')
    await expect
      .poll(() => page.locator('[data-testid="sandbox-note"]').textContent())
      .toMatch(/^Country: /)
    await page.locator('#ask').fill('make me a sandwich')
    await page.keyboard.press('Enter')
    await expect.poll(() => page.locator('tg-sandbox-page [role="status"] li').count()).toBe(4)
    // "why was … blocked" reads the fraud log: not a developer's.
    expect(
      await apiFromPage(page, 'POST', `/projects/${project.projectId}/sandbox/ask`, {
        text: `why was ${phone} blocked?`,
      }),
    ).toBe(403)
    await page.screenshot({ path: join(SHOTS, 'developer-sandbox-ask.png'), fullPage: true })
    expect(await watch.violations()).toEqual([])
    expect(watch.errors).toEqual([])
    await page.context().close()
  }, 90_000)

  it('messaging: the live preview follows the draft (GSM-7 to UCS-2, parts, cost), the routing file shows no secret', async () => {
    const { page, watch } = await loggedIn('developer')
    await page.goto(projectPage('messaging'))
    await expect
      .poll(() => page.locator('[data-testid="preview-encoding"]').textContent())
      .toBe('GSM-7')
    const template = page.locator('#template')
    await template.fill('{code} is your {brand} code')
    await expect
      .poll(() => page.locator('[data-testid="preview-text"]').textContent())
      .toMatch(/^\d{6} is your Console shop code/)
    expect(await page.locator('[data-testid="preview-segments"]').textContent()).toBe('1')
    // A registration the API refuses is named by the section's title and the key written.
    await page.locator('#registrations').fill('{"signName": 5}')
    await page.getByRole('button', { name: 'Save registrations' }).click()
    await expect
      .poll(() => page.locator('[data-testid="messaging-note"]').textContent())
      .toMatch(/^China and India registrations: signName: /)
    await page.locator('#registrations').fill('')
    // A Russian template: Cyrillic needs UCS-2 (70 characters a part), so it takes two parts
    // and costs twice as much on the route.
    await page.locator('#new-locale').fill('ru')
    await page.getByRole('button', { name: 'Add a locale' }).click()
    await expect.poll(() => template.inputValue()).toContain('ваш код подтверждения')
    await template.fill(
      'Код {code} для входа в {brand}. Никому его не сообщайте: он действует {minutes} минут.',
    )
    await expect
      .poll(() => page.locator('[data-testid="preview-encoding"]').textContent())
      .toBe('UCS-2')
    const parts = Number(await page.locator('[data-testid="preview-segments"]').textContent())
    expect(parts).toBeGreaterThan(1)
    await expect
      .poll(() => page.locator('[data-testid="preview"] table').textContent())
      .toContain((0.04 * parts).toFixed(2))
    await page.getByRole('button', { name: 'Save templates' }).click()
    await expect
      .poll(() => page.locator('[data-testid="messaging-note"]').textContent())
      .toBe('Saved.')
    // The routing file is there, and none of its secrets.
    await expect
      .poll(() => page.locator('[data-testid="routing-file"]').textContent())
      .toContain('E2E_GATEWAY_TOKEN')
    const text = await pageText(page)
    for (const secret of Object.values(ROUTING_SECRETS)) expect(text).not.toContain(secret)
    // The README's picture: templates, preview and cost per route in one view.
    await page.setViewportSize({ width: 1280, height: 1450 })
    await page.screenshot({ path: join(SHOTS, 'messaging.png') })
    expect(await watch.violations()).toEqual([])
    expect(watch.errors).toEqual([])
    await page.context().close()

    // The analyst sees the figures only, and the server keeps templates from them.
    const analyst = await loggedIn('analyst', 390)
    await analyst.page.goto(projectPage('messaging'))
    await analyst.page.locator('[data-testid="outbox"]').waitFor()
    expect(await analyst.page.locator('#template').count()).toBe(0)
    expect(await analyst.page.locator('[data-testid="routing-file"]').count()).toBe(0)
    const wide = await analyst.page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    )
    expect(wide).toBe(0)
    await analyst.page.screenshot({
      path: join(SHOTS, 'analyst-messaging-390.png'),
      fullPage: true,
    })
    // An operator of this project sees its outbox, not the whole server's…
    expect(await analyst.page.locator('[data-testid="server-outbox"]').count()).toBe(0)
    await analyst.page.context().close()

    // …the owner, an operator of every project, sees both.
    const owner = await loggedIn('owner')
    await owner.page.goto(projectPage('messaging'))
    await owner.page.locator('[data-testid="server-outbox"]').waitFor()
    expect(await owner.page.locator('[data-testid="outbox"]').count()).toBe(1)
    expect(await owner.watch.violations()).toEqual([])
    expect(owner.watch.errors).toEqual([])
    await owner.page.context().close()
  }, 90_000)

  it('fraud list entry with an expiry, consent versions and a key rotation, from the pages', async () => {
    const { page, watch } = await loggedIn('owner')
    await page.goto(projectPage('fraud'))
    // A refusal names the field by its label, not the API's field name, and has no prefix.
    await page.locator('#value').fill('abc')
    await page.getByRole('button', { name: 'Add entry' }).click()
    await expect
      .poll(() => page.locator('[data-testid="fraud-note"]').textContent())
      .toBe('Value: a phone is written +<digits>, like +4474001')
    await page.locator('#value').fill('+4474009')
    await page.locator('#note').fill('pumping from this range')
    await page.locator('#expires').fill('2099-01-02T03:04')
    await page.getByRole('button', { name: 'Add entry' }).click()
    // The row of the new entry (the decision log may hold numbers in that range too).
    const row = page.locator('tg-fraud-page tr', { hasText: 'pumping from this range' })
    await expect.poll(() => row.count()).toBe(1)
    expect(await row.textContent()).toContain('+4474009')
    expect(await row.textContent()).toMatch(/2099/)
    await page.screenshot({ path: join(SHOTS, 'owner-fraud-expiry.png'), fullPage: true })

    await page.goto(projectPage('settings'))
    // A code of the right shape that is no country (UK for GB) is named on the page; nothing saved.
    // Each refusal is said at its field and with its label, not the API's field name
    // ("codeLength must be at least 4"), and the first field refused has the focus.
    await page.locator('#codeLength').fill('')
    await page.locator('#countries').fill('GB, UK')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await expect
      .poll(() => page.locator('[data-testid="settings-message"]').textContent())
      .toBe(
        'Code length: must be at least 4; Allowed countries: "UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)',
      )
    for (const [id, error] of [
      ['codeLength', 'must be at least 4'],
      ['countries', '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)'],
    ] as const) {
      const field = page.locator(`#${id}`)
      expect(await field.getAttribute('aria-invalid')).toBe('true')
      expect(
        await page.locator(`#${await field.getAttribute('aria-describedby')}`).textContent(),
      ).toBe(error)
    }
    expect(
      await page.evaluate(() => {
        let el = document.activeElement
        while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement
        return el?.id
      }),
    ).toBe('codeLength')
    await page.screenshot({ path: join(SHOTS, 'owner-settings-errors.png'), fullPage: true })
    await page.locator('#codeLength').fill('6')
    await page.locator('#countries').fill('')
    await page.locator('#consentVersions').fill('2026-12\n2026-01')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await expect
      .poll(() => page.locator('[data-testid="settings-message"]').textContent())
      .toBe('Saved.')
    const start = (version: string) =>
      fetch(`${textgate.url}/v1/verifications`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${project.publishableKey}`,
          Origin: 'https://shop.example',
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ phone: '+447400123999', consent: { accepted: true, version } }),
      })
    await expect.poll(async () => (await start('2020-01')).status, { timeout: 10_000 }).toBe(400)
    await page
      .getByRole('button', { name: /^Rotate sk_test_/ })
      .first()
      .click()
    await expect
      .poll(() => page.locator('[data-testid="rotated-key"]').textContent())
      .toMatch(/^sk_test_/)
    const rotated = (await page.locator('[data-testid="rotated-key"]').textContent())!
    const redeem = await fetch(`${textgate.url}/v1/tokens/redeem`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${rotated}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: 'not-a-token' }),
    })
    expect(redeem.status).not.toBe(401)
    await page.locator('#consentVersions').fill('')
    await page.getByRole('button', { name: 'Save settings' }).click()
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      expect(await axeViolations(page)).toEqual([])
    }
    expect(await watch.violations()).toEqual([])
    expect(watch.errors).toEqual([])
    await page.context().close()
  }, 90_000)

  it('audits the console actions and verifies the chain from the CLI', async () => {
    const { page } = await loggedIn('owner')
    await page.goto(projectPage('audit'))
    await expect
      .poll(() => page.locator('tg-audit-page table').textContent())
      .toMatch(/settings\.update/)
    await page.getByRole('button', { name: 'Check the hash chain' }).click()
    await expect
      .poll(() => page.locator('[data-testid="chain"]').textContent())
      .toMatch(/Chain intact/)
    const verified = await cliAsync(['audit', 'verify', '--json'], textgate.env)
    expect(verified.status).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true })
    await page.context().close()

    // Someone with the database file lifts the append-only triggers and edits one row.
    const file = new Database(textgate.env.DATABASE_URL!.slice('sqlite:'.length))
    const row = file
      .prepare(
        "select id, seq from audit_log where project_id = ? and action = 'settings.update' order by seq limit 1",
      )
      .get(project.projectId) as { id: string; seq: number }
    expect(() =>
      file.prepare('update audit_log set actor_label = ? where id = ?').run('x', row.id),
    ).toThrow(/append-only/)
    file.exec('drop trigger audit_log_no_update')
    file
      .prepare('update audit_log set actor_label = ? where id = ?')
      .run('someone-else@shop.example', row.id)
    file.close()
    const broken = await cliAsync(['audit', 'verify', '--json'], textgate.env)
    expect(broken.status).toBe(1)
    expect(JSON.parse(broken.stdout)).toMatchObject({
      ok: false,
      broken: { projectId: project.projectId, seq: row.seq, id: row.id, reason: 'hash_mismatch' },
    })
    const human = await cliAsync(['audit', 'verify'], textgate.env)
    expect(human.stdout).toContain(`at entry #${row.seq} (${row.id}): hash mismatch`)
  }, 60_000)
})
