/// <reference types="mocha" />
// A number with an extension: the field keeps the extension apart from the number, so its digits
// never join the number (the code would be texted to someone else), says so at once, and Send
// waits until the number is plain.
import { expect, waitUntil } from '@open-wc/testing'
import { sendKeys } from '@web/test-runner-commands'
import { formatInput, loadCallingCode } from '../src/phone'
import { fakeServer, fillPhone, insertText, mount, part, refusal, started, type } from './helpers'

const EXTENSION = 'Text messages cannot reach a phone extension: enter the number without it.'
const digits = (text: string) => text.replace(/\D/g, '')
const error = (el: HTMLElement) => part(el, 'error')?.textContent?.trim() ?? ''

describe('phone number with an extension', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())
  before(() => Promise.all(['1', '7', '34', '43', '44'].map(loadCallingCode)))

  // [default country, pasted, the number's digits, the extension as shown after it]
  const pasted: [string, string, string, string][] = [
    ['AT', '+43 664 1234567 x 8', '436641234567', 'x 8'],
    ['US', '+1 650 253 0000 ext. 123', '16502530000', 'ext. 123'],
    ['US', '(650) 253-0000 extension 123', '6502530000', 'extension 123'],
    ['US', 'tel:+1-650-253-0000;ext=123', '16502530000', ';ext=123'],
    ['US', '650-253-0000 #123', '6502530000', '#123'],
    ['US', '650 253 0000,,123', '6502530000', ',,123'],
    ['US', '650 253 0000 X123', '6502530000', 'X123'],
    ['ES', '+34 612 34 56 78 anexo 12', '34612345678', 'anexo 12'],
    ['RU', '+7 912 345-67-89 доб. 12', '79123456789', 'доб. 12'],
    ['GB', '０７４００ １２３１２３ ｘ５', '07400123123', 'ｘ５'],
  ]
  for (const [country, text, number, extension] of pasted) {
    it(`pasted “${text}”: the number stays apart from its extension, and Send refuses`, async () => {
      server = fakeServer({})
      const { el } = await mount(`default-country="${country}"`)
      const input = part<HTMLInputElement>(el, 'phone-input')
      await fillPhone(el, text)
      expect(input.value.endsWith(` ${extension}`), input.value).to.equal(true)
      expect(digits(input.value.slice(0, -extension.length)), input.value).to.equal(number)
      // At once, before leaving the field or pressing Send.
      expect(error(el)).to.equal(EXTENSION)
      expect(input.getAttribute('aria-invalid')).to.equal('true')
      part<HTMLButtonElement>(el, 'submit-button').click()
      await el.updateComplete
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(error(el)).to.equal(EXTENSION)
      expect(server.calls).to.have.length(0)
    })
  }

  it('typed: +43 664 1234567 x 8 never becomes +43 664 12345678; without the extension it sends', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount('default-country="AT"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    input.focus()
    await sendKeys({ type: '+43 664 1234567 x 8' })
    await el.updateComplete
    expect(input.value).to.equal('+43 664 1234567 x 8')
    expect(error(el)).to.equal(EXTENSION)
    part<HTMLInputElement>(el, 'consent-checkbox').click()
    part<HTMLButtonElement>(el, 'submit-button').click()
    await el.updateComplete
    expect(server.calls).to.have.length(0)
    // Backspace over "8", " " and "x": the number alone is left, and the message goes.
    input.focus()
    input.setSelectionRange(input.value.length, input.value.length)
    for (let i = 0; i < 3; i++) await sendKeys({ press: 'Backspace' })
    await el.updateComplete
    expect(input.value).to.equal('+43 664 1234567')
    expect(error(el)).to.equal('')
    expect(input.getAttribute('aria-invalid')).to.equal('false')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => server!.calls.length === 1, 'no start')
    expect(server.calls[0]!.body).to.include({ phone: '+436641234567' })
  })

  it('typed letter by letter: "ext" after the number holds the digits that follow', async () => {
    const { el } = await mount('default-country="US"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    type(input, '6502530000 ext 55')
    await el.updateComplete
    expect(digits(input.value.split('e')[0]!)).to.equal('6502530000')
    expect(input.value.endsWith('ext 55')).to.equal(true)
    expect(error(el)).to.equal(EXTENSION)
  })

  it('a plain number sends as before', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount('default-country="AT"')
    await fillPhone(el, '+43 664 1234567')
    expect(error(el)).to.equal('')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => server!.calls.length === 1, 'no start')
    expect(server.calls[0]!.body).to.include({ phone: '+436641234567' })
  })

  it('a # or words typed by mistake before the number are dropped, as before', async () => {
    for (const text of ['#07400 123123', 'Tel: +44 7400 123123', 'mobile 07400 123123']) {
      server = fakeServer({ '/v1/verifications': [started()] })
      const { el } = await mount('default-country="GB"')
      await fillPhone(el, text)
      expect(error(el), text).to.equal('')
      part<HTMLButtonElement>(el, 'submit-button').click()
      await waitUntil(() => server!.calls.length === 1, `${text}: no start`)
      expect(server.calls[0]!.body, text).to.include({ phone: '+447400123123' })
      server.restore()
    }
  })

  it('other words after the digits are kept in view too, as not a valid number', async () => {
    server = fakeServer({})
    const { el } = await mount('default-country="GB"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    await fillPhone(el, '07400 12w3123')
    expect(digits(input.value.split('w')[0]!)).to.equal('0740012')
    expect(input.value.endsWith('w3123')).to.equal(true)
    expect(error(el)).to.equal('This is not a valid phone number.')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await el.updateComplete
    expect(server.calls).to.have.length(0)
  })

  it('in the shopper’s language', async () => {
    const { default: de } = await import('../src/translations/de')
    const { el } = await mount('default-country="DE" lang="de"')
    await waitUntil(() => part(el, 'submit-button').textContent?.trim() === de.sendCode)
    await fillPhone(el, '+49 1512 3456789 Durchwahl 12')
    expect(error(el)).to.equal(de.phoneErrors.invalid)
    const input = part<HTMLInputElement>(el, 'phone-input')
    input.value = ''
    insertText(input, '+49 1512 3456789 x 12')
    await el.updateComplete
    expect(error(el)).to.equal(de.phoneErrors.extension)
    expect(de.phoneErrors.extension).to.not.equal(EXTENSION)
  })

  it('the server’s invalid_phone for an extension gets the same message', async () => {
    server = fakeServer({
      '/v1/verifications': [
        refusal(400, 'invalid_phone', { reason: 'extension' }),
        refusal(400, 'invalid_phone', { reason: 'invalid_number' }),
      ],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => error(el) !== '', 'no error')
    expect(error(el)).to.equal(EXTENSION)
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => error(el) !== EXTENSION, 'the message stayed')
    expect(error(el)).to.equal('This is not a valid phone number.')
  })

  it('formatInput: the caret stays in the extension, or after the same digit of the number', () => {
    let result = formatInput('+436641234567 x 8', 17, 'AT')
    expect(result.text).to.equal('+43 664 1234567 x 8')
    expect(result.caret).to.equal(result.text.length)
    result = formatInput('+436641234567 x 8', 5, 'AT')
    expect(result.text.slice(0, result.caret)).to.equal('+43 66')
    // Formatting it again changes nothing (as when the country's metadata arrives).
    expect(formatInput(result.text, 0, 'AT').text).to.equal(result.text)
  })
})
