/**
 * The demo store's /themes page: three differently themed widgets, under the store's strict CSP.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser'
import { type DemoStore, startDemoStore } from '../support/processes'

const THEMES = ['theme-light', 'theme-dark', 'theme-brand'] as const

describe('the demo store’s themes page', () => {
  let demo: DemoStore
  let browser: Browser

  beforeAll(async () => {
    demo = await startDemoStore('Themes', 'tg-themes-')
    browser = await launchChromium()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await demo?.close()
  })

  it('is linked from the footer and has no inline styles or scripts', async () => {
    const home = await (await fetch(demo.url, { headers: { Connection: 'close' } })).text()
    expect(home).toContain('<a href="/themes">')
    const response = await fetch(`${demo.url}/themes`, { headers: { Connection: 'close' } })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-security-policy')).toContain("style-src 'self'")
    const html = await response.text()
    expect(html).not.toMatch(/\sstyle=|<style|<script(?![^>]*\ssrc=)/)
    expect(html.match(/<textgate-verify /g)).toHaveLength(3)
  })

  it('shows three widgets that look different, with no console error', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text())
    })
    await page.goto(`${demo.url}/themes`)
    for (const id of THEMES) {
      await expect.poll(() => page.locator(`#${id} [part~="submit-button"]`).isVisible()).toBe(true)
    }
    const looks = await page.evaluate((ids) => {
      const read = (id: string, part: string) => {
        const element = document
          .getElementById(id)
          ?.shadowRoot?.querySelector(`[part~="${part}"]`) as HTMLElement | null
        if (!element) return null
        const style = getComputedStyle(element)
        return {
          background: style.backgroundColor,
          color: style.color,
          radius: style.borderTopLeftRadius,
          font: style.fontFamily,
          transform: style.textTransform,
        }
      }
      return ids.map((id) => ({
        id,
        button: read(id, 'submit-button'),
        input: read(id, 'phone-input'),
      }))
    }, THEMES)
    const [light, dark, brand] = looks
    // Three different "Send code" buttons…
    const buttons = new Set(looks.map((look) => JSON.stringify(look.button)))
    expect(buttons.size).toBe(3)
    // …a dark phone field only in the dark theme…
    expect(light!.input!.background).toBe('rgb(255, 255, 255)')
    expect(dark!.input!.background).toBe('rgb(27, 31, 41)')
    expect(dark!.input!.color).toBe('rgb(232, 235, 242)')
    // …and the brand's ::part() rules and custom properties.
    expect(brand!.button).toMatchObject({
      background: 'rgb(29, 35, 48)',
      color: 'rgb(255, 209, 102)',
      transform: 'uppercase',
      radius: '999px',
    })
    expect(brand!.input!.background).toBe('rgb(255, 253, 249)')
    expect(brand!.input!.font).toContain('Georgia')
    expect(light!.button!.background).toBe('rgb(31, 111, 92)')
    // The branded one offers the marketing opt-in, unticked.
    expect(await page.locator('#theme-brand [part~="marketing-checkbox"]').isChecked()).toBe(false)
    await page.close()
    expect(errors).toEqual([])
  })
})
