/**
 * The whole widget flow with the keyboard only, in Chromium against a real server and the demo
 * store, at 390 and 1280 px, in English and Arabic: Tab order, the country list (opened with a
 * key, searched, picked with Enter, closed with Escape), consent with Space, Send with Enter, a
 * wrong code, "Send a new code", "Change number", the done step and the token's expiry. After
 * each key, where focus is, and that it shows a ring.
 */
import Database from 'better-sqlite3'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser'
import {
  createProject,
  type DemoStore,
  sandboxCode,
  sandboxNumber,
  startDemoStore,
} from '../support/processes'

/** The machine may be busy: polls wait up to 15 s. */
const POLL = { timeout: 15_000 }

/** The focused element, through shadow roots: its part (or name, or tag), and whether it shows a ring. */
function focusedPart(): string {
  let el: Element | null = document.activeElement
  while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement
  if (!el || el === document.body) return 'body'
  const name = el.getAttribute('part') ?? el.getAttribute('name') ?? el.localName
  const style = getComputedStyle(el)
  const ring = el.matches(':focus-visible') && style.outlineStyle !== 'none'
  return ring ? name : `${name} (no ring)`
}

/**
 * Where Chromium's accessibility tree gives `text` to a screen reader on a focus move: the
 * focused node's description, and any live region (not `off`) whose text holds it.
 */
interface AXNode {
  nodeId: string
  parentId?: string
  childIds?: string[]
  ignored: boolean
  name?: { value?: string }
  description?: { value?: string }
  properties?: { name: string; value: { value?: unknown } }[]
}

async function newCodeReadings(page: Page, text: string): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page)
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: AXNode[] }
  await cdp.detach()
  const byId = new Map(nodes.map((node) => [node.nodeId, node]))
  const prop = (node: AXNode, name: string) =>
    node.properties?.find((p) => p.name === name)?.value.value
  const live = (node: AXNode | undefined) => {
    const value = node && prop(node, 'live')
    return value && value !== 'off' ? String(value) : ''
  }
  const textOf = (node: AXNode): string =>
    [node.name?.value ?? '', ...(node.childIds ?? []).map((id) => textOf(byId.get(id)!))].join(' ')
  const readings: string[] = []
  for (const node of nodes) {
    if (node.ignored) continue
    if (prop(node, 'focused') && String(node.description?.value ?? '').includes(text)) {
      readings.push('description of the focused field')
    }
    // A live region's root (its parent is not live): its text is what it announces.
    if (live(node) && !live(byId.get(node.parentId ?? '')) && textOf(node).includes(text)) {
      readings.push(`live region (${live(node)})`)
    }
  }
  return readings
}

describe('the widget with the keyboard only', () => {
  let demo: DemoStore
  let browser: Browser

  beforeAll(async () => {
    demo = await startDemoStore('Keyboard store', 'tg-keyboard-')
    browser = await launchChromium()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await demo?.close()
  })

  const widget = (page: Page, part: string) => page.locator(`textgate-verify [part~="${part}"]`)

  it('shows the allowed territory (IM), not GB, for a +44 7924 number on a project that allows only IM', async () => {
    const manx = createProject(demo.textgate.env, 'Manx store', [demo.url])
    const db = new Database(String(demo.textgate.env.DATABASE_URL).replace(/^sqlite:/, ''))
    db.prepare('UPDATE projects SET allowed_countries = ? WHERE id = ?').run(
      JSON.stringify(['IM']),
      manx.projectId,
    )
    db.close()
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto(demo.url)
    await page.evaluate(
      (key) => document.querySelector('textgate-verify')!.setAttribute('publishable-key', key),
      manx.publishableKey,
    )
    await expect.poll(() => widget(page, 'country-button').textContent(), POLL).toContain('+44')
    expect(await widget(page, 'country-button').textContent()).toContain('Isle of Man')
    await widget(page, 'phone-input').focus()
    await page.keyboard.type('+44 7924 123456')
    await page.waitForTimeout(300)
    const shown = (await widget(page, 'country-button').textContent()) ?? ''
    expect(shown).toContain('Isle of Man')
    expect(shown).not.toContain('United Kingdom')
    await page.close()
  }, 60_000)

  it('sends a Manx +44 7924 number as IM, as the server counts it', async () => {
    // Sure's 07924 is in GB's ranges too (libphonenumber-js reads GB): the widget reads it by the
    // server's rule (@textgate/shared/territory) and sends IM; the server reads the country from
    // the number whatever the widget sends.
    const isles = createProject(demo.textgate.env, 'Isles store', [demo.url])
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto(demo.url)
    await page.evaluate(
      (key) => document.querySelector('textgate-verify')!.setAttribute('publishable-key', key),
      isles.publishableKey,
    )
    await expect.poll(() => widget(page, 'phone-input').isVisible(), POLL).toBe(true)
    await widget(page, 'phone-input').fill('+44 7924 123456')
    await widget(page, 'consent-checkbox').check()
    const started = page.waitForResponse(
      (res) => res.url().endsWith('/v1/verifications') && res.request().method() === 'POST',
    )
    await widget(page, 'submit-button').click()
    const response = await started
    expect(JSON.parse(response.request().postData() ?? '{}')).toMatchObject({
      phone: '+447924123456',
      country: 'IM',
    })
    expect(response.status()).toBe(201)
    const { id } = (await response.json()) as { id: string }
    const details = await fetch(`${demo.textgate.url}/v1/verifications/${id}`, {
      headers: { Authorization: `Bearer ${isles.secretKey}` },
    })
    expect(((await details.json()) as { country: string }).country).toBe('IM')
    await page.close()
  }, 60_000)

  it('shows a focus ring in forced colours (high contrast), on every control Tab reaches', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    await page.emulateMedia({ forcedColors: 'active' })
    await page.goto(demo.url)
    await expect.poll(() => widget(page, 'phone-input').isVisible(), POLL).toBe(true)
    await page.focus('input[name="email"]')
    const rings: string[] = []
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab')
      rings.push(
        await page.evaluate(() => {
          let el: Element | null = document.activeElement
          while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement
          const style = getComputedStyle(el!)
          const name = el!.getAttribute('part') ?? el!.localName
          return `${name}: ${style.outlineStyle} ${style.outlineColor === getComputedStyle(document.body).backgroundColor ? 'unseen' : 'seen'}`
        }),
      )
    }
    expect(rings.filter((ring) => !ring.startsWith('a:'))).toEqual([
      'country-button: solid seen',
      'phone-input: solid seen',
      'consent-checkbox: solid seen',
      'marketing-checkbox: solid seen',
      'submit-button: solid seen',
    ])
    await page.close()
  }, 60_000)

  for (const [lang, width, resend] of [
    ['en', 390, false],
    ['en', 1280, true],
    ['ar', 390, true],
    ['ar', 1280, false],
  ] as const) {
    it(`${lang} at ${width} px${resend ? ', with Send a new code' : ''}`, async () => {
      const page = await browser.newPage({ viewport: { width, height: 800 } })
      // The page's timers run on a clock the test can move: the token's expiry is minutes away.
      await page.clock.install()
      await page.goto(demo.url)
      await page.evaluate(
        (l) => document.querySelector('textgate-verify')!.setAttribute('lang', l),
        lang,
      )
      await expect.poll(() => widget(page, 'base').getAttribute('lang'), POLL).toBe(lang)
      const at = () => page.evaluate(focusedPart)
      const press = async (key: string, expected: string) => {
        await page.keyboard.press(key)
        await expect.poll(at, { ...POLL, message: `after ${key}` }).toBe(expected)
      }
      const button = () => widget(page, 'country-button').textContent()

      // Tab order: into the widget, through it, and out to the store's button.
      await page.focus('input[name="email"]')
      await press('Tab', 'country-button')
      await press('Tab', 'phone-input')
      await press('Tab', 'consent-checkbox')
      await press('Tab', 'a') // the store's link in its consent text
      await press('Tab', 'marketing-checkbox')
      await press('Tab', 'submit-button')
      await press('Tab', 'button')
      for (const part of ['submit-button', 'marketing-checkbox', 'a', 'consent-checkbox']) {
        await press('Shift+Tab', part)
      }
      await press('Shift+Tab', 'phone-input')
      await press('Shift+Tab', 'country-button')

      // The country list: Space opens it on its search, Enter picks, Escape closes.
      await press('Space', 'country-search')
      await page.keyboard.type('germ')
      await press('Enter', 'phone-input')
      expect(await button()).toContain('+49')
      expect(await widget(page, 'country-panel').count()).toBe(0)
      await press('Shift+Tab', 'country-button')
      await press('ArrowDown', 'country-search')
      await press('ArrowDown', 'country-search')
      await press('Escape', 'country-button')
      expect(await widget(page, 'country-panel').count()).toBe(0)
      expect(await button()).toContain('+49')
      await press('Enter', 'country-search')
      await page.keyboard.type('united k')
      await press('Enter', 'phone-input')
      expect(await button()).toContain('+44')

      // Number, consent with Space, Send with Enter: focus on the code.
      const phone = await sandboxNumber(demo.textgate.url, demo.project, 'GB')
      await page.keyboard.type(phone.replace('+44', '0'))
      await press('Tab', 'consent-checkbox')
      await page.keyboard.press('Space')
      expect(await widget(page, 'consent-checkbox').isChecked()).toBe(true)
      await press('Tab', 'a')
      await press('Tab', 'marketing-checkbox')
      await press('Tab', 'submit-button')
      await press('Enter', 'code-input')
      let code = await sandboxCode(demo.textgate.url, demo.project, phone)

      // A wrong code: the field is emptied and keeps focus.
      await page.keyboard.type(code === '000000' ? '111111' : '000000')
      await expect.poll(() => widget(page, 'error').textContent(), POLL).not.toBe('')
      await expect.poll(at, POLL).toBe('code-input')
      expect(await widget(page, 'code-input').inputValue()).toBe('')

      if (resend) {
        // Send a new code, once its wait is over (30 s): focus goes back to the code field.
        await expect
          .poll(() => widget(page, 'resend-button').isEnabled(), { timeout: 45_000 })
          .toBe(true)
        await press('Tab', 'submit-button')
        await press('Tab', 'resend-button')
        await press('Enter', 'code-input')
        // One reading of "A new code is on its way": the focused field's description, or a live
        // region's text, not both (Chromium read the status, polite, and the field it describes).
        const said = await page.evaluate(() => {
          const t = document.querySelector('textgate-verify')!.shadowRoot!
          return t.querySelector('[part~="status"]')!.textContent!.trim()
        })
        expect(await newCodeReadings(page, said)).toEqual(['description of the focused field'])
        const previous = code
        await expect
          .poll(
            async () => (code = await sandboxCode(demo.textgate.url, demo.project, phone)),
            POLL,
          )
          .not.toBe(previous)
      }

      // Change number: back to the number, kept; consent asked again.
      // (Send a new code waits: disabled, it is skipped.)
      await press('Tab', 'submit-button')
      await press('Tab', 'change-button')
      await press('Enter', 'phone-input')
      expect(await widget(page, 'phone-input').inputValue()).not.toBe('')
      await press('Tab', 'consent-checkbox')
      await page.keyboard.press('Space')
      await press('Tab', 'a')
      await press('Tab', 'marketing-checkbox')
      await press('Tab', 'submit-button')
      await press('Enter', 'code-input')
      const previous = code
      await expect
        .poll(async () => (code = await sandboxCode(demo.textgate.url, demo.project, phone)), POLL)
        .not.toBe(previous)

      // The done step: focus on the verified message (not in the Tab order), then Change number.
      await page.keyboard.type(code)
      await expect.poll(at, POLL).toBe('done')
      await press('Tab', 'change-button')
      await press('Shift+Tab', 'email')
      await press('Tab', 'change-button')

      // The token's expiry (10 minutes, less a margin): back to the number, focus on it.
      await page.clock.fastForward('10:00')
      await expect.poll(at, POLL).toBe('phone-input')
      expect(await widget(page, 'error').textContent()).not.toBe('')
      await page.close()
    }, 120_000)
  }
})
