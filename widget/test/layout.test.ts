/// <reference types="mocha" />
// Round 2 defects 10, 11, 13 and 14: the globe without emoji fonts, consent boxes that keep their
// size, the code step at 390 px and its expiry in the shopper's format, store text's direction.
import { expect, fixture, waitUntil } from '@open-wc/testing'
import { setViewport } from '@web/test-runner-commands'
import type { TextgateCountryPicker } from '../src/country-picker/textgate-country-picker'
import { LOCALES } from '../src/i18n'
import { fakeServer, mount, part, reachCodeStep, refusal, started, type } from './helpers'

// This page draws no colour emoji, as on a system without an emoji font: every canvas reads back
// empty, so the widget's emoji check says no.
CanvasRenderingContext2D.prototype.getImageData = (_x, _y, w, h) => new ImageData(w, h)

describe('layout (round 2)', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(async () => {
    server?.restore()
    document.documentElement.lang = ''
    await setViewport({ width: 800, height: 600 })
  })

  it('defect 10: without emoji fonts the no-country globe falls back to a drawn icon', async () => {
    const picker = await fixture<TextgateCountryPicker>(
      '<textgate-country-picker></textgate-country-picker>',
    )
    const button = picker.shadowRoot!.querySelector('[part~="country-button"]')!
    expect(button.textContent).to.not.contain('🌐')
    const icon = button.querySelector('.flag svg')!
    expect(icon, 'no drawn globe').to.exist
    const box = icon.getBoundingClientRect()
    expect(box.width).to.be.greaterThan(10)
    expect(box.height).to.be.greaterThan(10)
  })

  it('defect 11: the consent and marketing boxes keep the same size when their text wraps', async () => {
    await setViewport({ width: 390, height: 800 })
    const { el } = await mount(
      `default-country="GB" marketing-text="Send me offers" consent-text="${'I agree to receive a one-time code by text message, and to the terms. '.repeat(3)}"`,
    )
    const consent = part(el, 'consent-checkbox').getBoundingClientRect()
    const marketing = part(el, 'marketing-checkbox').getBoundingClientRect()
    expect(part(el, 'consent').getBoundingClientRect().height).to.be.greaterThan(60)
    expect(consent.width).to.be.closeTo(marketing.width, 0.5)
    expect(consent.height).to.be.closeTo(marketing.height, 0.5)
    expect(consent.width).to.be.closeTo(consent.height, 0.5)
    expect(consent.width).to.be.at.least(16)
  })

  /**
   * How many lines a button's label takes: its text's line boxes, told apart by their tops (an
   * Arabic label with digits in it has several boxes on one line). And whether it overflows.
   */
  function labelLines(button: HTMLElement) {
    const range = document.createRange()
    range.selectNodeContents(button)
    const tops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)))
    return { lines: tops.size, overflows: button.scrollWidth > button.clientWidth }
  }

  /** The code step at 390 px, in a store's card: the widget is 302 px wide, as in the demo. */
  async function codeStepAt390(lang: string, resendInMs?: number) {
    await setViewport({ width: 390, height: 800 })
    server = fakeServer({ '/v1/verifications': [started(resendInMs)] })
    const { el, form } = await mount(`default-country="GB" lang="${lang}"`)
    form.style.paddingInline = '36px'
    await reachCodeStep(el)
    await waitUntil(() => part(el, 'code-input'))
    expect(el.getBoundingClientRect().width).to.be.closeTo(302, 1)
    return el
  }

  // Round 2 review: in Arabic (and other long languages) the three labels wrapped inside their
  // buttons. Verify is the step's one button; Send a new code and Change number are text links
  // below it, side by side when they fit, else one under the other, never broken inside.
  for (const lang of LOCALES) {
    for (const [state, resendInMs] of [
      ['countdown', 30_000],
      ['new code ready', 0],
    ] as const) {
      it(`defect 13: no code-step label wraps at 390 px (${lang}, ${state})`, async () => {
        const el = await codeStepAt390(lang, resendInMs)
        if (resendInMs === 0) {
          await waitUntil(() => !part<HTMLButtonElement>(el, 'resend-button').disabled)
        }
        const box = el.getBoundingClientRect()
        for (const name of ['submit-button', 'resend-button', 'change-button']) {
          const button = part(el, name)
          const rect = button.getBoundingClientRect()
          const label = `${name} "${button.textContent?.trim()}"`
          expect(labelLines(button), label).to.deep.equal({ lines: 1, overflows: false })
          expect(rect.height, `${label} touch target`).to.be.at.least(44)
          expect(rect.width, `${label} touch target`).to.be.at.least(44)
          expect(rect.left, label).to.be.at.least(box.left - 0.5)
          expect(rect.right, label).to.be.at.most(box.right + 0.5)
        }
        // Verify has a row of its own; the links are below it.
        const verify = part(el, 'submit-button').getBoundingClientRect()
        for (const name of ['resend-button', 'change-button']) {
          expect(part(el, name).getBoundingClientRect().top, name).to.be.at.least(verify.bottom)
        }
        expect(box.right).to.be.at.most(390)
      })
    }
  }

  for (const lang of ['ar', 'de', 'ru', 'vi']) {
    it(`defect 13: "Start again" after a refusal fits on one line at 390 px (${lang})`, async () => {
      const el = await codeStepAt390(lang)
      server!.restore()
      server = fakeServer({
        '/v1/verifications/:id/check': [refusal(410, 'verification_expired')],
      })
      type(part<HTMLInputElement>(el, 'code-input'), '123456')
      await waitUntil(() => !part(el, 'submit-button'), 'the verification never ended')
      const change = part(el, 'change-button')
      expect(labelLines(change)).to.deep.equal({ lines: 1, overflows: false })
      expect(change.getBoundingClientRect().height).to.be.at.least(44)
    })
  }

  it('defect 13: the expiry uses the shopper’s own clock format (en-GB: 24-hour)', async () => {
    document.documentElement.lang = 'en-GB'
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount()
    await reachCodeStep(el)
    const hint = el.shadowRoot!.querySelector('.hint')!.textContent!
    expect(hint).to.not.match(/AM|PM/i)
    expect(hint).to.match(/\d{2}:\d{2}/)
  })

  it('defect 14: store text in an Arabic widget keeps its own direction', async () => {
    document.documentElement.lang = 'ar'
    const { el } = await mount(
      'default-country="GB" consent-text="I agree to receive texts." marketing-text="Send me offers."',
    )
    await waitUntil(() => part(el, 'base').getAttribute('dir') === 'rtl', 'not in Arabic')
    const text = part(el, 'consent').querySelector('slot')!.parentElement!
    expect(getComputedStyle(text).direction).to.equal('ltr')
    const slotted = document.createElement('span')
    slotted.slot = 'consent'
    slotted.innerHTML = 'I agree to the <a href="#">terms</a>.'
    el.append(slotted)
    await el.updateComplete
    expect(getComputedStyle(slotted).direction).to.equal('ltr')
    const marketing = part(el, 'marketing').querySelector('slot')!.parentElement!
    expect(getComputedStyle(marketing).direction).to.equal('ltr')
    // The widget's own texts stay right to left.
    expect(getComputedStyle(part(el, 'submit-button')).direction).to.equal('rtl')
  })
})
