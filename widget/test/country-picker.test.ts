/// <reference types="mocha" />
import { expect, fixture, oneEvent } from '@open-wc/testing'
import { sendKeys } from '@web/test-runner-commands'
import type {
  CountryPickEvent,
  TextgateCountryPicker,
} from '../src/country-picker/textgate-country-picker'
import { en } from '../src/i18n'
import { countryList } from '../src/phone'
import { mount, part } from './helpers'

const partIn = (picker: TextgateCountryPicker, name: string) =>
  picker.shadowRoot!.querySelector<HTMLElement>(`[part~="${name}"]`)

async function picker() {
  const countries = countryList('en')
  const el = await fixture<TextgateCountryPicker>(
    '<textgate-country-picker></textgate-country-picker>',
  )
  el.t = en
  el.countries = countries
  el.current = countries.find((c) => c.code === 'GB')
  await el.updateComplete
  return el
}

describe('<textgate-country-picker>', () => {
  it('shows the current country and opens a searchable list', async () => {
    const el = await picker()
    const button = partIn(el, 'country-button')!
    expect(button.textContent).to.contain('United Kingdom')
    expect(button.textContent).to.contain('+44')
    button.click()
    await el.updateComplete
    const search = partIn(el, 'country-search') as HTMLInputElement
    expect(el.shadowRoot!.activeElement).to.equal(search)
    search.value = 'germ'
    search.dispatchEvent(new Event('input'))
    await el.updateComplete
    const options = el.shadowRoot!.querySelectorAll('[part~="country-option"]')
    expect(options[0]!.id).to.equal('country-DE')
  })

  it('tells its host which country the shopper picked, and closes', async () => {
    const el = await picker()
    partIn(el, 'country-button')!.click()
    await el.updateComplete
    const picked = oneEvent(el, 'textgate-country-pick') as Promise<CountryPickEvent>
    await sendKeys({ type: 'France' })
    await sendKeys({ press: 'Enter' })
    expect((await picked).country.code).to.equal('FR')
    await el.updateComplete
    expect(partIn(el, 'country-panel')).to.equal(null)
  })

  it('does not open while disabled', async () => {
    const el = await picker()
    el.disabled = true
    await el.updateComplete
    await el.show()
    expect(partIn(el, 'country-panel')).to.equal(null)
  })

  it('its parts are styled from the page through <textgate-verify> (exportparts)', async () => {
    const style = document.createElement('style')
    style.textContent = 'textgate-verify::part(country-button) { outline-color: rgb(1, 2, 3) }'
    document.head.append(style)
    try {
      const { el } = await mount()
      const button = part(el, 'country-button')
      expect(getComputedStyle(button).outlineColor).to.equal('rgb(1, 2, 3)')
    } finally {
      style.remove()
    }
  })
})

describe('<textgate-country-picker> in forced colours', () => {
  it('marks the active option with an outline, which high contrast paints', async () => {
    // Forced colours drop the highlight background: in Chromium's forced-colors emulation the
    // option ↓ ↑ moved to looked like every other one. The outline (the primary colour in
    // normal colours, see theme.test.ts) shows there.
    const el = await picker()
    partIn(el, 'country-button')!.click()
    await el.updateComplete
    const active = el.shadowRoot!.querySelector('[part~="country-option"][aria-selected="true"]')!
    const style = getComputedStyle(active)
    expect([style.outlineStyle, Number.parseFloat(style.outlineWidth) >= 1]).to.deep.equal([
      'solid',
      true,
    ])
  })
})
