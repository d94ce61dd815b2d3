/// <reference types="mocha" />
/**
 * Territories that share a calling code (IM, JE and GG with GB, YT with RE, AX with FI, CC and CX
 * with AU…): the widget reads a number's country as the server does (@textgate/shared/territory),
 * so its flag, its country picker, its check of the project's countries at the field and the
 * `country` it sends agree with the server's. libphonenumber-js alone reads a number that both
 * the main country's ranges and a territory's own hold as the main country's (Sure's Manx
 * +44 7924 numbers as GB's), which the server counts as the territory's.
 */
import { expect, waitUntil } from '@open-wc/testing'
import { checkPhone } from '../src/phone'
import type { TextgateVerify } from '../src/textgate-verify'
import { config, fakeServer, fillPhone, insertText, mount, part, started } from './helpers'

const countryShown = (el: HTMLElement) => part(el, 'country-button').textContent ?? ''

/** The project's settings have arrived (a start sent before would meet the server's own check). */
const settingsArrived = (el: TextgateVerify) =>
  waitUntil(
    () => (el as unknown as { phone: { allowed: unknown } }).phone.allowed !== null,
    'the settings never arrived',
  )

/** Types `number` as the whole field's text. */
async function typeNumber(el: TextgateVerify, number: string) {
  const input = part<HTMLInputElement>(el, 'phone-input')
  input.select()
  insertText(input, number)
  await el.updateComplete
}

/** Resolves once the picker shows `name` (its calling code's metadata may still be loading). */
const shows = (el: HTMLElement, name: string) =>
  waitUntil(() => countryShown(el).includes(name), `not shown: ${name}, but ${countryShown(el)}`)

describe('territories sharing a calling code: the number read as the server reads it', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it("checks a number as the territory's whose own mobile ranges hold it", async () => {
    const cases: [string, 'GB' | undefined, string][] = [
      // Sure's Manx mobiles: GB's ranges hold them too (libphonenumber-js alone: GB).
      ['+44 7924 123456', undefined, 'IM'],
      ['07924 123456', 'GB', 'IM'],
      ['+44 7624 123456', undefined, 'IM'],
      ['+44 7797 123456', undefined, 'JE'],
      ['07797 123456', 'GB', 'JE'],
      ['+44 7781 123456', undefined, 'GG'],
      ['+44 7400 123456', undefined, 'GB'],
      ['07400 123456', 'GB', 'GB'],
      // Mayotte's mobiles are Réunion's ranges too.
      ['+262 639 01 23 45', undefined, 'YT'],
      ['+262 692 12 34 56', undefined, 'RE'],
    ]
    for (const [number, shown, country] of cases) {
      const checked = await checkPhone(number, shown)
      expect(checked, number).to.include({ ok: true, country })
    }
  })

  it('shows the flag of the country the server reads a + number as', async () => {
    server = fakeServer({ '/v1/config': ['network-error'] })
    const { el } = await mount('default-country="FR"')
    await typeNumber(el, '+44 7924 123456')
    await shows(el, 'Isle of Man')
    await typeNumber(el, '+44 7797 123456')
    await shows(el, 'Jersey')
    await typeNumber(el, '+44 7400 123456')
    await shows(el, 'United Kingdom')
    await typeNumber(el, '+262 639 01 23 45')
    await shows(el, 'Mayotte')
    await typeNumber(el, '+262 692 12 34 56')
    await shows(el, 'Réunion')
  })

  it('refuses at the field a Manx number for a project that allows GB and not IM', async () => {
    server = fakeServer({
      '/v1/config': [config({ allowedCountries: ['GB'] })],
      '/v1/verifications': [started()],
    })
    const { el } = await mount('default-country="GB"')
    await settingsArrived(el)
    for (const number of ['+44 7924 123456', '07924 123456']) {
      await typeNumber(el, number)
      if (!part<HTMLInputElement>(el, 'consent-checkbox').checked) {
        part<HTMLInputElement>(el, 'consent-checkbox').click()
      }
      part<HTMLButtonElement>(el, 'submit-button').click()
      await waitUntil(() => part(el, 'error').textContent?.includes('Isle of Man'), number, {
        timeout: 5000,
      })
      expect(part(el, 'error').textContent).to.contain('can’t be used here')
      expect(part(el, 'phone-input').getAttribute('aria-invalid')).to.equal('true')
    }
    // No start: the server would have answered country_not_allowed (IM).
    expect(server.calls.map((c) => c.url)).to.deep.equal(['https://verify.example/v1/config'])
    // A number of GB's own goes through.
    await typeNumber(el, '07400 123456')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'code-input'), 'code step never showed', { timeout: 5000 })
    expect(server.calls.at(-1)!.body).to.include({ phone: '+447400123456', country: 'GB' })
  })

  it('takes a Manx number for a project that allows IM, and sends its country as IM', async () => {
    server = fakeServer({
      '/v1/config': [config({ allowedCountries: ['GB', 'IM'] })],
      '/v1/verifications': [started()],
    })
    const { el } = await mount('default-country="GB"')
    await settingsArrived(el)
    await fillPhone(el, '+44 7924 123456')
    await shows(el, 'Isle of Man')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'code-input'), 'code step never showed', { timeout: 5000 })
    expect(server.calls.at(-1)!.body).to.include({ phone: '+447924123456', country: 'IM' })
  })

  it('sends IM for a Manx number typed nationally under the GB flag', async () => {
    server = fakeServer({
      '/v1/config': [config({ allowedCountries: ['GB', 'IM'] })],
      '/v1/verifications': [started()],
    })
    const { el } = await mount('default-country="GB"')
    await settingsArrived(el)
    await fillPhone(el, '07924 123456')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'code-input'), 'code step never showed', { timeout: 5000 })
    expect(server.calls.at(-1)!.body).to.include({ phone: '+447924123456', country: 'IM' })
  })

  describe("a territory whose mobile ranges are its main country's (AX's are FI's)", () => {
    const aland = '+358 41 2345678'

    it('reads such a mobile as the main country where the project allows it, or allows all', async () => {
      for (const allowed of [null, ['FI', 'AX']]) {
        server = fakeServer({
          '/v1/config': [config({ allowedCountries: allowed })],
          '/v1/verifications': [started()],
        })
        const { el } = await mount('default-country="AX"')
        if (allowed) await settingsArrived(el)
        await fillPhone(el, aland)
        await shows(el, 'Finland')
        part<HTMLButtonElement>(el, 'submit-button').click()
        await waitUntil(() => part(el, 'code-input'), 'code step never showed', { timeout: 5000 })
        expect(server.calls.at(-1)!.body).to.include({ phone: '+358412345678', country: 'FI' })
        server.restore()
      }
      server = undefined
    })

    it('sends FI for such a mobile typed nationally under the AX flag, as the server counts it', async () => {
      server = fakeServer({
        '/v1/config': [config({ allowedCountries: ['FI', 'AX'] })],
        '/v1/verifications': [started()],
      })
      const { el } = await mount('default-country="AX"')
      await settingsArrived(el)
      await fillPhone(el, '041 2345678')
      part<HTMLButtonElement>(el, 'submit-button').click()
      await waitUntil(() => part(el, 'code-input'), 'code step never showed', { timeout: 5000 })
      expect(server.calls.at(-1)!.body).to.include({ phone: '+358412345678', country: 'FI' })
    })

    it('reads it as AX for a project that allows AX and not FI', async () => {
      server = fakeServer({
        '/v1/config': [config({ allowedCountries: ['AX'] })],
        '/v1/verifications': [started()],
      })
      const { el } = await mount('default-country="FI"')
      await settingsArrived(el)
      await fillPhone(el, aland)
      await shows(el, 'Åland')
      part<HTMLButtonElement>(el, 'submit-button').click()
      await waitUntil(() => part(el, 'code-input'), 'code step never showed', { timeout: 5000 })
      expect(server.calls.at(-1)!.body).to.include({ phone: '+358412345678', country: 'AX' })
    })

    it('keeps the allowed territory the shopper picked, of several that hold the number', async () => {
      // CC's and CX's mobiles are both AU's ranges: the shopper's choice is sent first, as the
      // server takes it.
      server = fakeServer({
        '/v1/config': [config({ allowedCountries: ['CC', 'CX'] })],
        '/v1/verifications': [started()],
      })
      const { el } = await mount('default-country="CX"')
      await settingsArrived(el)
      await waitUntil(() => countryShown(el).includes('Christmas'), 'CX at the start')
      await fillPhone(el, '+61 412 345 678')
      await waitUntil(() => part<HTMLInputElement>(el, 'phone-input').value === '+61 412 345 678')
      await el.updateComplete
      expect(countryShown(el)).to.contain('Christmas')
      part<HTMLButtonElement>(el, 'submit-button').click()
      await waitUntil(() => part(el, 'code-input'), 'code step never showed', { timeout: 5000 })
      expect(server.calls.at(-1)!.body).to.include({ phone: '+61412345678', country: 'CX' })
    })
  })

  it("shows a Manx number as IM's, not as the allowed territory shown before", async () => {
    server = fakeServer({ '/v1/config': [config({ allowedCountries: ['IM', 'JE'] })] })
    const { el } = await mount('default-country="JE"')
    await settingsArrived(el)
    await waitUntil(() => countryShown(el).includes('Jersey'), 'JE at the start')
    await typeNumber(el, '+44 7924 654321')
    await shows(el, 'Isle of Man')
  })
})
