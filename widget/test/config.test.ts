/// <reference types="mocha" />
import { aTimeout, expect, waitUntil } from '@open-wc/testing'
import { countryFromLanguages } from '../src/phone'
import {
  config,
  fakeServer,
  fillPhone,
  insertText,
  mount,
  part,
  pickerRoot,
  started,
} from './helpers'

const countryShown = (el: HTMLElement) => part(el, 'country-button')!.textContent ?? ''

describe('project settings from GET /v1/config', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it('asks once on connect, with the publishable key', async () => {
    server = fakeServer({ '/v1/config': [config()] })
    const { el } = await mount()
    await waitUntil(() => server!.calls.length === 1)
    const [call] = server.calls
    expect(call!.url).to.equal('https://verify.example/v1/config')
    expect(call!.method).to.equal('GET')
    expect(call!.headers.get('Authorization')).to.equal('Bearer pk_test_x')
    // A same-origin GET has no Origin header: the server then reads the Referer's origin.
    expect(call!.referrerPolicy).to.equal('origin')
    el.setAttribute('lang', 'fr')
    el.setAttribute('default-country', 'FR')
    await el.updateComplete
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(server.calls).to.have.length(1)
  })

  it('asks again when the page sets another key or server, and takes the latest answer', async () => {
    let slow!: () => void
    server = fakeServer({
      '/v1/config': [
        config({ allowedCountries: ['GB'] }),
        { ...config({ allowedCountries: ['DE'] }), after: new Promise<void>((r) => (slow = r)) },
        config({ allowedCountries: ['FR'] }),
      ],
    })
    const { el } = await mount('default-country="GB"')
    await waitUntil(() => server!.calls.length === 1)
    el.publishableKey = 'pk_test_other'
    await waitUntil(() => server!.calls.length === 2, 'not asked for the new key')
    el.server = 'https://verify.example/'
    await waitUntil(() => server!.calls.length === 3, 'not asked at the new server')
    await waitUntil(() => countryShown(el).includes('France'), 'the new settings not taken')
    // The answer for the key set in between comes last: it is not the page's project any more.
    slow()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await el.updateComplete
    expect(countryShown(el)).to.contain('France')
    expect(server.calls.map((call) => call.headers.get('Authorization'))).to.deep.equal([
      'Bearer pk_test_x',
      'Bearer pk_test_other',
      'Bearer pk_test_other',
    ])
  })

  it('without default-country, takes the server hint before the browser languages', async () => {
    server = fakeServer({ '/v1/config': [config({ country: 'JP' })] })
    const { el } = await mount('')
    await waitUntil(() => countryShown(el).includes('Japan'), 'the hint was not applied')
  })

  it('keeps default-country over the server hint', async () => {
    server = fakeServer({ '/v1/config': [config({ country: 'JP' })] })
    const { el } = await mount('default-country="FR"')
    await waitUntil(() => server!.calls.length === 1)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await el.updateComplete
    expect(countryShown(el)).to.contain('France')
  })

  it('without a hint, falls back to the browser languages', async () => {
    server = fakeServer({ '/v1/config': [config()] })
    const { el } = await mount('')
    await waitUntil(() => server!.calls.length === 1)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await el.updateComplete
    const fromLanguages = countryFromLanguages(navigator.languages)
    const name = fromLanguages
      ? new Intl.DisplayNames(['en'], { type: 'region' }).of(fromLanguages)!
      : 'Choose a country'
    expect(countryShown(el)).to.contain(name)
  })

  it('never overrides a country the shopper typed with + or chose', async () => {
    let answer!: () => void
    const slow = new Promise<void>((resolve) => (answer = resolve))
    server = fakeServer({ '/v1/config': [{ ...config({ country: 'JP' }), after: slow }] })
    const { el } = await mount('')
    insertText(part<HTMLInputElement>(el, 'phone-input'), '+33 6 12 34 56 78')
    await waitUntil(() => countryShown(el).includes('France'))
    answer()
    await waitUntil(() => server!.calls.length === 1)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await el.updateComplete
    expect(countryShown(el)).to.contain('France')

    let answer2!: () => void
    const slow2 = new Promise<void>((resolve) => (answer2 = resolve))
    server.restore()
    server = fakeServer({ '/v1/config': [{ ...config({ country: 'JP' }), after: slow2 }] })
    const second = await mount('default-country="GB"')
    part<HTMLButtonElement>(second.el, 'country-button').click()
    await second.el.updateComplete
    insertText(part<HTMLInputElement>(second.el, 'country-search'), 'Germany')
    await second.el.updateComplete
    part<HTMLInputElement>(second.el, 'country-search').dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }),
    )
    await second.el.updateComplete
    answer2()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await second.el.updateComplete
    expect(countryShown(second.el)).to.contain('Germany')
  })

  it('never moves a number being typed to another country when the settings come late', async () => {
    let answer!: () => void
    const slow = new Promise<void>((resolve) => (answer = resolve))
    server = fakeServer({ '/v1/config': [{ ...config({ country: 'JP' }), after: slow }] })
    const { el } = await mount('')
    const before = countryShown(el)
    const phone = part<HTMLInputElement>(el, 'phone-input')
    insertText(phone, '2015550123')
    await el.updateComplete
    const typed = phone.value
    answer()
    await waitUntil(() => server!.calls.length === 1)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await el.updateComplete
    expect(countryShown(el)).to.equal(before)
    expect(phone.value).to.equal(typed)
  })

  it('lists only the allowed countries and starts on one of them', async () => {
    server = fakeServer({ '/v1/config': [config({ allowedCountries: ['FR', 'BE'] })] })
    const { el } = await mount('default-country="GB"')
    await waitUntil(() => countryShown(el).includes('France'), 'not moved to an allowed country')
    part<HTMLButtonElement>(el, 'country-button').click()
    await el.updateComplete
    const options = [...pickerRoot(el).querySelectorAll('[part~="country-option"]')].map(
      (o) => o.id,
    )
    expect(options).to.have.members(['country-FR', 'country-BE'])
  })

  it('explains at the field, before any start, that a number of another country is refused', async () => {
    server = fakeServer({
      '/v1/config': [config({ allowedCountries: ['FR', 'BE'] })],
      '/v1/verifications': [started()],
    })
    const { el } = await mount('default-country="FR"')
    // The settings have arrived (a start sent before would meet the server's own refusal).
    await waitUntil(
      () => (el as unknown as { phone: { allowed: unknown } }).phone.allowed !== null,
      'the settings never arrived',
    )
    await fillPhone(el, '+44 7400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error').textContent?.includes('United Kingdom'), 'no message', {
      timeout: 5000,
    })
    expect(part(el, 'error').textContent).to.contain('can’t be used here')
    expect(part(el, 'phone-input').getAttribute('aria-invalid')).to.equal('true')
    expect(server.calls.map((c) => c.url)).to.deep.equal(['https://verify.example/v1/config'])
    // A French number goes through.
    const input = part<HTMLInputElement>(el, 'phone-input')
    input.select()
    insertText(input, '+33 6 12 34 56 78')
    await el.updateComplete
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'code-input'), 'code step never showed')
    expect(server.calls.at(-1)!.body).to.include({ phone: '+33612345678', country: 'FR' })
  })

  it('sends a number its own parse reads as GB to a project that allows only IM, as IM', async () => {
    // Sure's Manx 07924 numbers are in GB's ranges too: the server counts them as IM (a number of
    // GB's own ranges it refuses with country_not_allowed), and so does the widget.
    server = fakeServer({
      '/v1/config': [config({ allowedCountries: ['IM'] })],
      '/v1/verifications': [started()],
    })
    const { el } = await mount('default-country="IM"')
    await waitUntil(
      () => (el as unknown as { phone: { allowed: unknown } }).phone.allowed !== null,
      'the settings never arrived',
    )
    await fillPhone(el, '+44 7924 123456')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'code-input'), 'code step never showed', { timeout: 5000 })
    expect(server.calls.at(-1)!.body).to.include({ phone: '+447924123456', country: 'IM' })
  })

  it('shows the allowed territory, not the country it shares a numbering plan with, for a + number', async () => {
    // Typing "+44 7924 …" on a project that allows only IM moved the picker to GB, a country the
    // project does not offer (and the list does not hold): the server reads the number as IM.
    server = fakeServer({ '/v1/config': [config({ allowedCountries: ['IM', 'JE'] })] })
    const { el } = await mount('default-country="FR"')
    await waitUntil(
      () => (el as unknown as { phone: { allowed: unknown } }).phone.allowed !== null,
      'the settings never arrived',
    )
    const button = () => part(el, 'country-button').textContent ?? ''
    await waitUntil(() => button().includes('Isle of Man'), 'IM, the first allowed, at the start')
    const input = part<HTMLInputElement>(el, 'phone-input')
    insertText(input, '+44 7924 123456')
    await el.updateComplete
    await aTimeout(50)
    expect(input.value).to.equal('+44 7924 123456')
    expect(button()).to.contain('Isle of Man').and.not.contain('United Kingdom')
    // A territory the shopper picked stays theirs while the number is on its way; once whole,
    // the number names its own (territory.test.ts: an allowed one picked stays theirs where the
    // number alone cannot tell them apart, as CC's and CX's in AU's ranges).
    input.select()
    document.execCommand('delete')
    part<HTMLButtonElement>(el, 'country-button').click()
    await el.updateComplete
    const search = part<HTMLInputElement>(el, 'country-search')
    insertText(search, 'Jersey')
    search.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }))
    await el.updateComplete
    await waitUntil(() => button().includes('Jersey'), 'Jersey picked')
    insertText(input, '+44 7924 65')
    await el.updateComplete
    await aTimeout(50)
    expect(button()).to.contain('Jersey')
    insertText(input, '4321')
    await el.updateComplete
    await aTimeout(50)
    expect(input.value).to.equal('+44 7924 654321')
    expect(button()).to.contain('Isle of Man')
    // A number of a calling code no allowed country has keeps its own country (and is refused).
    input.select()
    insertText(input, '+33 6 12 34 56 78')
    await waitUntil(() => button().includes('France'), 'France shown for a French number')
  })

  it('works without the settings when the server cannot answer', async () => {
    server = fakeServer({ '/v1/config': ['network-error'], '/v1/verifications': [started()] })
    const { el } = await mount('default-country="GB"')
    await fillPhone(el, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'code-input'), 'code step never showed')
    expect(part(el, 'error').textContent).to.equal('')
  })
})
