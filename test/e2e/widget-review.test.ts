/**
 * The widget as a reviewer sees it, in the demo store, in Chromium (issue 12):
 * - each step (phone, code, done) in light, dark and Arabic at 390 and 1280 px, saved as
 *   screenshots under test/.tmp/screens/ for review;
 * - in ar, de, ru and vi at 390 px no text is clipped or overflows (an element holding text whose
 *   scrollWidth is over its clientWidth);
 * - the demo store's own fixes: inputs not bold, the welcome page's number formatted, the inbox
 *   box following the number the shopper typed.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser'
import {
  type DemoStore,
  ROOT,
  sandboxNumber as randomNumber,
  sandboxCode,
  startDemoStore,
} from '../support/processes'

const SCREENS = join(ROOT, 'test/.tmp/screens')
/** The machine may be busy: polls wait up to 15 s. */
const POLL = { timeout: 15_000 }

/** Text the shopper cannot read in full: every element with a text node that overflows its box. */
function clippedText(): string[] {
  const found: string[] = []
  const visit = (root: Document | ShadowRoot) => {
    for (const element of root.querySelectorAll<HTMLElement>('*')) {
      if (element.shadowRoot) visit(element.shadowRoot)
      if (element.closest('.visually-hidden') || !element.checkVisibility?.()) continue
      const text = [...element.childNodes]
        .filter((node) => node.nodeType === Node.TEXT_NODE)
        .map((node) => node.textContent?.trim())
        .join('')
      if (!text) continue
      if (element.scrollWidth > element.clientWidth + 1) {
        found.push(`<${element.localName} part="${element.getAttribute('part') ?? ''}">${text}`)
      }
    }
  }
  const widget = document.querySelector('textgate-verify')
  if (widget?.shadowRoot) visit(widget.shadowRoot)
  return found
}

describe('the widget for review: screenshots, clipping, the demo store', () => {
  let demo: DemoStore
  let browser: Browser

  beforeAll(async () => {
    demo = await startDemoStore('Review store', 'tg-review-')
    browser = await launchChromium()
    mkdirSync(SCREENS, { recursive: true })
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await demo?.close()
  })

  const widget = (page: Page, part: string) => page.locator(`textgate-verify [part~="${part}"]`)

  /** Opens the register page at `width`, with the widget in `variant`'s look and language. */
  async function open(width: number, variant: { lang?: string; dark?: boolean }) {
    const page = await browser.newPage({ viewport: { width, height: 900 } })
    await page.goto(demo.url)
    await page.evaluate(({ lang, dark }) => {
      const el = document.querySelector('textgate-verify')!
      if (lang) el.setAttribute('lang', lang)
      if (dark) {
        document.documentElement.style.colorScheme = 'dark'
        document.body.style.background = '#111318'
        for (const card of document.querySelectorAll<HTMLElement>('.card')) {
          card.style.background = '#1b1f29'
          card.style.color = '#e8eaf0'
        }
      }
    }, variant)
    await expect.poll(() => widget(page, 'phone-input').isVisible(), POLL).toBe(true)
    if (variant.lang) {
      await expect
        .poll(() => widget(page, 'base').getAttribute('lang'), POLL)
        .toBe(variant.lang === 'ar' ? 'ar' : variant.lang)
    }
    return page
  }

  /** Walks the steps, calling `at` on each (phone with an error shown, code, done). */
  async function walk(page: Page, at: (step: string) => Promise<void>) {
    const phone = await randomNumber(demo.textgate.url, demo.project, 'GB')
    await widget(page, 'phone-input').fill('07400 12')
    await widget(page, 'consent-checkbox').check()
    await widget(page, 'submit-button').click()
    await expect
      .poll(async () => ((await widget(page, 'error').textContent()) ?? '').trim(), POLL)
      .not.toBe('')
    await at('phone')
    await widget(page, 'phone-input').fill(phone)
    await widget(page, 'submit-button').click()
    await expect.poll(() => widget(page, 'code-input').isVisible(), POLL).toBe(true)
    await at('code')
    await widget(page, 'code-input').fill(await sandboxCode(demo.textgate.url, demo.project, phone))
    await expect.poll(() => widget(page, 'done').isVisible(), POLL).toBe(true)
    await at('done')
    return phone
  }

  for (const [name, variant] of [
    ['light', {}],
    ['dark', { dark: true }],
    ['ar', { lang: 'ar' }],
  ] as const) {
    for (const width of [390, 1280]) {
      it(`saves each step in ${name} at ${width} px`, async () => {
        const page = await open(width, variant)
        const saved: string[] = []
        await walk(page, async (step) => {
          const file = join(SCREENS, `${name}-${width}-${step}.png`)
          await page.locator('textgate-verify').screenshot({ path: file })
          saved.push(file)
        })
        expect(saved).toHaveLength(3)
        await page.close()
      }, 60_000)
    }
  }

  for (const lang of ['ar', 'de', 'ru', 'vi']) {
    it(`clips no text in ${lang} at 390 px, in any step`, async () => {
      const page = await open(390, { lang })
      const clipped: string[] = []
      await walk(page, async (step) => {
        for (const text of await page.evaluate(clippedText)) clipped.push(`${step}: ${text}`)
        // The country list too, in the phone step.
        if (step === 'phone') {
          await widget(page, 'country-button').click()
          await expect.poll(() => widget(page, 'country-search').isVisible(), POLL).toBe(true)
          for (const text of await page.evaluate(clippedText)) clipped.push(`list: ${text}`)
          await page.keyboard.press('Escape')
        }
      })
      expect(clipped).toEqual([])
      await page.close()
    }, 60_000)
  }

  it('demo store: inputs are not bold, the inbox follows the typed number, the welcome page formats it', async () => {
    const page = await browser.newPage()
    await page.goto(demo.url)
    expect(await page.$eval('input[name="name"]', (e) => getComputedStyle(e).fontWeight)).toBe(
      '400',
    )
    const hint = await page.inputValue('#inbox-to')
    await page.fill('input[name="name"]', 'Grace Hopper')
    await page.fill('input[name="email"]', 'grace@example.com')
    let phone = await randomNumber(demo.textgate.url, demo.project, 'GB')
    while (phone === hint) phone = await randomNumber(demo.textgate.url, demo.project, 'GB')
    await widget(page, 'phone-input').fill(phone)
    await widget(page, 'consent-checkbox').check()
    await widget(page, 'submit-button').click()
    await expect.poll(() => widget(page, 'code-input').isVisible(), POLL).toBe(true)
    await expect.poll(() => page.inputValue('#inbox-to'), POLL).toBe(phone)
    await widget(page, 'code-input').fill(await sandboxCode(demo.textgate.url, demo.project, phone))
    await expect.poll(() => widget(page, 'done').isVisible(), POLL).toBe(true)
    await page.locator('form[action="/register"] > button[type="submit"]').click()
    await page.waitForURL(/\/welcome\//)
    const shown = (await page.locator('.phone').textContent()) ?? ''
    // +44 7400 123456: grouped as people write it, not the raw +447400123456.
    expect(shown).toMatch(/^\+44 \d{4} \d{6}$/)
    expect(shown.replace(/\s/g, '')).toBe(phone)
    await page.close()
  }, 60_000)
})
