/// <reference types="mocha" />
// Round 2 defects 10, 11, 13 and 14: the globe without emoji fonts, consent boxes that keep their
// size, the code step at 390 px and its expiry in the shopper's format, store text's direction.
import { expect, fixture, waitUntil } from '@open-wc/testing'
import { setViewport } from '@web/test-runner-commands'
import type { TextgateCountryPicker } from '../src/country-picker/textgate-country-picker'
import { LOCALES } from '../src/i18n'
import { fakeServer, mount, part, reachCodeStep, started } from './helpers'

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

  for (const lang of LOCALES) {
    it(`defect 13: the code step's three buttons share one row at 390 px (${lang})`, async () => {
      await setViewport({ width: 390, height: 800 })
      server = fakeServer({ '/v1/verifications': [started()] })
      const { el } = await mount(`default-country="GB" lang="${lang}"`)
      await reachCodeStep(el)
      await waitUntil(() => part(el, 'code-input'))
      const tops = ['submit-button', 'resend-button', 'change-button'].map(
        (name) => part(el, name).getBoundingClientRect().top,
      )
      expect(new Set(tops).size, `tops ${tops}`).to.equal(1)
      for (const name of ['submit-button', 'resend-button', 'change-button']) {
        const button = part(el, name)
        expect(button.scrollWidth, name).to.be.at.most(button.clientWidth)
      }
      expect(el.getBoundingClientRect().right).to.be.at.most(390)
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
