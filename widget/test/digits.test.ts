/// <reference types="mocha" />
// Round 2 defects 5 and 9: every Unicode decimal digit, and national numbers typed without the 0.
import { expect, waitUntil } from '@open-wc/testing'
import { sendKeys } from '@web/test-runner-commands'
import { checkPhone, formatInput, loadCallingCode } from '../src/phone'
import { fakeServer, fillPhone, insertText, mount, part, started, type } from './helpers'

describe('digits and national formats (round 2)', () => {
  before(() => Promise.all(['1', '44', '49'].map(loadCallingCode)))
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  for (const [script, digits] of [
    ['Arabic-Indic', '٠٧٤٠٠١٢٣١٢٣'],
    ['Persian', '۰۷۴۰۰۱۲۳۱۲۳'],
    ['full-width', '０７４００１２３１２３'],
    ['Devanagari', '०७४००१२३१२३'],
  ] as const) {
    it(`defect 5: ${script} digits typed key by key land as the number`, async () => {
      const { el } = await mount()
      const input = part<HTMLInputElement>(el, 'phone-input')
      type(input, digits)
      expect(input.value).to.equal('07400 123123')
    })
  }

  it('defect 5: a real keyboard typing Arabic-Indic digits, and a full-width + paste', async () => {
    const { el } = await mount()
    const input = part<HTMLInputElement>(el, 'phone-input')
    input.focus()
    await sendKeys({ type: '٠٧٤٠٠١٢٣١٢٣' })
    expect(input.value).to.equal('07400 123123')
    input.value = ''
    input.dispatchEvent(new InputEvent('input', { inputType: 'deleteContentBackward' }))
    insertText(input, '＋４９ １５１ ２３４５６７８９')
    await waitUntil(() => input.value === '+49 1512 3456789', `got ${input.value}`)
    expect(await checkPhone('٠٧٤٠٠١٢٣١٢٣', 'GB')).to.include({ ok: true, e164: '+447400123123' })
  })

  it('defect 5: the code field takes Arabic-Indic digits', async () => {
    server = fakeServer({ '/v1/verifications': [started()], '/v1/verifications/:id/check': [] })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'code-input'))
    const code = part<HTMLInputElement>(el, 'code-input')
    insertText(code, '١٢٣٤٥')
    expect(code.value).to.equal('12345')
  })

  it('defect 9: a UK number typed without its leading 0 after +44 is formatted', async () => {
    expect(formatInput('7400123456', 10, 'GB').text).to.equal('7400 123456')
    const { el } = await mount()
    const input = part<HTMLInputElement>(el, 'phone-input')
    type(input, '7400123456')
    expect(input.value).to.equal('7400 123456')
    expect(await checkPhone(input.value, 'GB')).to.include({ ok: true, e164: '+447400123456' })
    // Backspace just after the space removes the digit before it, as in any formatted number.
    input.focus()
    input.setSelectionRange(5, 5)
    await sendKeys({ press: 'Backspace' })
    expect(input.value.replace(/\D/g, '')).to.equal('740123456')
  })

  it('defect 9: switching country formats the number for the new country', async () => {
    const { el } = await mount('default-country="US"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    type(input, '7400123456')
    expect(input.value).to.equal('(740) 012-3456')
    part<HTMLButtonElement>(el, 'country-button').click()
    await el.updateComplete
    insertText(part<HTMLInputElement>(el, 'country-search'), 'United Kingdom')
    await el.updateComplete
    part(el, 'country-search').dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }),
    )
    await waitUntil(() => input.value === '7400 123456', `still ${input.value}`)
  })
})
