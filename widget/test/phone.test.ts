/// <reference types="mocha" />
import { expect, waitUntil } from '@open-wc/testing'
import { sendKeys } from '@web/test-runner-commands'
import {
  checkPhone,
  countryFromLanguages,
  countryList,
  formatInput,
  loadCallingCode,
} from '../src/phone'
import { canShowFlags, searchCountries } from '../src/phone/search'
import {
  fakeServer,
  fillPhone,
  focused,
  insertText,
  mount,
  part,
  pickerRoot,
  started,
  type,
} from './helpers'

describe('phone number: formatting as typed', () => {
  before(() => Promise.all(['1', '44', '33', '49'].map(loadCallingCode)))

  it('formats the number as it is typed', async () => {
    const { el } = await mount('default-country="US"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    type(input, '2015550123')
    expect(input.value).to.equal('(201) 555-0123')
  })

  it('loads a country’s metadata lazily, then formats what is already there', async () => {
    const { el } = await mount('default-country="JP"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    type(input, '09012345678')
    await waitUntil(() => input.value === '090-1234-5678', `got ${input.value}`)
    const loaded = performance
      .getEntriesByType('resource')
      .some((entry) => entry.name.includes('/phone/metadata/81.json'))
    expect(loaded, 'the +81 metadata chunk was fetched').to.equal(true)
  })

  it('switches the country when a number starts with +', async () => {
    const { el } = await mount('default-country="US"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    type(input, '+447400123123')
    await waitUntil(() => input.value === '+44 7400 123123', `got ${input.value}`)
    await el.updateComplete
    expect(part(el, 'country-button').textContent).to.contain('United Kingdom')
  })

  it('keeps the caret after the same digit when deleting in the middle', async () => {
    const { el } = await mount('default-country="US"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    type(input, '2015550123')
    // Caret after "(201) 55", delete the second 5.
    input.value = '(201) 50-123'
    input.setSelectionRange(7, 7)
    input.dispatchEvent(
      new InputEvent('input', { inputType: 'deleteContentBackward', bubbles: true }),
    )
    expect(input.value).to.equal('(201) 501-23')
    expect(input.selectionStart).to.equal(7)
  })

  it('with a real keyboard: Backspace and Delete next to a space remove the digit beside it', async () => {
    const { el } = await mount('default-country="GB"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    input.focus()
    await sendKeys({ type: '07400123123' })
    expect(input.value).to.equal('07400 123123')
    // Caret just after the space: Backspace removes the space, so the 0 before it goes.
    input.setSelectionRange(6, 6)
    await sendKeys({ press: 'Backspace' })
    expect(input.value).to.equal('07401 23123')
    expect(input.selectionStart).to.equal(4)
    // Caret just before the space: Delete removes the space, so the digit after it goes.
    input.setSelectionRange(5, 5)
    await sendKeys({ press: 'Delete' })
    expect(input.value).to.equal('07401 3123')
    expect(input.selectionStart).to.equal(5)
    // Typing in the middle keeps the caret after the digit typed.
    input.setSelectionRange(2, 2)
    await sendKeys({ type: '9' })
    expect(input.value).to.equal('07940 13123')
    expect(input.selectionStart).to.equal(3)
  })

  it('a pasted international number, 00 number or national 0 number lands right', async () => {
    const cases: [string, string, string, string][] = [
      ['US', '+44 7400 123123', '+44 7400 123123', 'GB'],
      ['US', '0044 7400 123123', '+44 7400 123123', 'GB'],
      ['GB', '07400 123123', '07400 123123', 'GB'],
      ['FR', '06 12 34 56 78', '06 12 34 56 78', 'FR'],
      ['DE', '+49 (0)151 23456789', '+49 1512 3456789', 'DE'],
    ]
    for (const [country, pasted, shown, detected] of cases) {
      const { el } = await mount(`default-country="${country}"`)
      const input = part<HTMLInputElement>(el, 'phone-input')
      insertText(input, pasted)
      await waitUntil(() => input.value === shown, `${pasted}: got ${input.value}`)
      const checked = await checkPhone(input.value, detected as 'GB')
      expect(checked.ok, pasted).to.equal(true)
    }
  })

  it('a whole + number pasted or inserted after digits already typed replaces them', async () => {
    // Found in Chromium: "07" typed, then "+44 7400 123123" pasted (or offered by the keyboard)
    // made "07447400123123", a number too long, which the shopper had to clear by hand.
    for (const pasted of ['+44 7400 123123', '＋44 7400 123123']) {
      const { el } = await mount('default-country="GB"')
      const input = part<HTMLInputElement>(el, 'phone-input')
      insertText(input, '07')
      insertText(input, pasted)
      await waitUntil(() => input.value === '+44 7400 123123', `${pasted}: got ${input.value}`)
    }
  })

  it('formatInput: caret after edits in the middle, selections and pastes', () => {
    // "(201) 555-0123": select "555" and type 9 → "(201) 9-0123" before formatting.
    let result = formatInput('(201) 9-0123', 7, 'US', 'insertText', '(201) 555-0123')
    expect(result.text).to.equal('(201) 901-23')
    expect(result.text.slice(0, result.caret)).to.equal('(201) 9')
    // Paste "555" in the middle of "(201) 012-3".
    result = formatInput('(201) 555012-3', 9, 'US', 'insertFromPaste', '(201) 012-3')
    expect(result.text).to.equal('(201) 555-0123')
    expect(result.text.slice(0, result.caret)).to.equal('(201) 555')
    // Backspace over ") " removes the 1 before it.
    result = formatInput('(201555-0123', 4, 'US', 'deleteContentBackward', '(201) 555-0123')
    expect(result.text).to.equal('(205) 550-123')
    expect(result.text.slice(0, result.caret)).to.equal('(20')
    // Deleting a selection across a space removes only what was selected.
    result = formatInput('07400 3123', 6, 'GB', 'deleteContentBackward', '07400 123123')
    expect(result.text.replace(/\D/g, '')).to.equal('074003123')
    expect(result.text.slice(0, result.caret).replace(/\D/g, '')).to.equal('07400')
  })

  it('formatInput: 00 becomes +, and the caret follows the digits', () => {
    const result = formatInput('0033612345678', 13, 'FR')
    expect(result.text).to.equal('+33 6 12 34 56 78')
    expect(result.caret).to.equal(result.text.length)
    expect(result.country).to.equal('FR')
  })
})

describe('phone number: checks before any SMS', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  for (const [phone, pattern] of [
    ['12345', /too short/i],
    ['020 7946 0000', /landline/i],
    ['0800 123 4567', /cannot receive text messages/i],
    ['07400 1231231234', /too long/i],
  ] as const) {
    it(`names “${phone}” as wrong at the field without calling the server`, async () => {
      server = fakeServer({})
      const { el } = await mount()
      await fillPhone(el, phone)
      part<HTMLButtonElement>(el, 'submit-button').click()
      await waitUntil(() => part(el, 'error').textContent?.trim(), 'no error shown')
      expect(part(el, 'error').textContent).to.match(pattern)
      expect(part(el, 'phone-input').getAttribute('aria-invalid')).to.equal('true')
      expect(server.calls).to.have.length(0)
    })
  }

  it('checks the number when the shopper leaves the field', async () => {
    const { el } = await mount()
    const input = part<HTMLInputElement>(el, 'phone-input')
    insertText(input, '020 7946 0000')
    input.blur()
    await waitUntil(() => part(el, 'error').textContent?.match(/landline/i))
    expect(input.getAttribute('aria-invalid')).to.equal('true')
  })

  it('needs consent before sending', async () => {
    server = fakeServer({})
    const { el } = await mount()
    await fillPhone(el, '07400 123123', false)
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error').textContent?.match(/accept/i))
    expect(part(el, 'consent-checkbox').getAttribute('aria-invalid')).to.equal('true')
    expect(server.calls).to.have.length(0)
  })
})

describe('country: detection and picker', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it('detects from default-country, else the browser languages, and keeps a chosen one', async () => {
    expect(countryFromLanguages(['fr', 'en-CA'])).to.equal('CA')
    expect(countryFromLanguages(['zh-Hant-TW'])).to.equal('TW')
    expect(countryFromLanguages(['es-419', 'de'])).to.equal(undefined)
    const { el } = await mount('default-country="FR"')
    expect(part(el, 'country-button').textContent).to.contain('France')
    part<HTMLButtonElement>(el, 'country-button').click()
    await el.updateComplete
    const search = part<HTMLInputElement>(el, 'country-search')
    insertText(search, 'Germany')
    await el.updateComplete
    search.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }))
    // (The list closes first, then the pick comes.)
    await waitUntil(() => part(el, 'country-button').textContent?.includes('Germany'))
    // The page changing its default does not override the shopper's choice.
    el.setAttribute('default-country', 'IT')
    await el.updateComplete
    expect(part(el, 'country-button').textContent).to.contain('Germany')
  })

  it('searches by name, ISO code and dial code', () => {
    const countries = countryList('en')
    expect(searchCountries(countries, 'germ')[0]?.code).to.equal('DE')
    expect(searchCountries(countries, 'de')[0]?.code).to.equal('DE')
    expect(searchCountries(countries, '+44')[0]?.dialCode).to.equal('44')
    expect(searchCountries(countries, '44').map((c) => c.code)).to.include.members(['GB', 'JE'])
    expect(searchCountries(countries, 'cote')[0]?.code).to.equal('CI')
    expect(searchCountries(countries, 'zzzz')).to.have.length(0)
  })

  it('is a combobox with a listbox, fully usable with the keyboard', async () => {
    const { el } = await mount('default-country="GB"')
    const button = part<HTMLButtonElement>(el, 'country-button')
    expect(button.getAttribute('aria-haspopup')).to.equal('listbox')
    expect(button.getAttribute('aria-expanded')).to.equal('false')
    button.focus()
    await sendKeys({ press: 'ArrowDown' })
    await el.updateComplete
    expect(button.getAttribute('aria-expanded')).to.equal('true')
    const search = part<HTMLInputElement>(el, 'country-search')
    expect(focused(el)).to.equal(search)
    expect(search.getAttribute('role')).to.equal('combobox')
    expect(search.getAttribute('aria-controls')).to.equal('country-list')
    // Opens on the current country.
    expect(search.getAttribute('aria-activedescendant')).to.equal('country-GB')
    await sendKeys({ type: '+33' })
    await el.updateComplete
    expect(search.getAttribute('aria-activedescendant')).to.equal('country-FR')
    const active = pickerRoot(el).getElementById('country-FR')!
    expect(active.getAttribute('role')).to.equal('option')
    expect(active.getAttribute('aria-selected')).to.equal('true')
    await sendKeys({ press: 'Escape' })
    await el.updateComplete
    expect(part(el, 'country-panel')).to.equal(null)
    expect(focused(el)).to.equal(button)
    expect(button.textContent).to.contain('United Kingdom')
    await sendKeys({ press: 'Enter' })
    await el.updateComplete
    await sendKeys({ type: 'united' })
    await sendKeys({ press: 'ArrowDown' })
    await el.updateComplete
    const second = part<HTMLInputElement>(el, 'country-search').getAttribute(
      'aria-activedescendant',
    )
    await sendKeys({ press: 'Enter' })
    await el.updateComplete
    expect(part(el, 'country-panel')).to.equal(null)
    expect(focused(el)).to.equal(part(el, 'phone-input'))
    expect(second).to.be.oneOf(['country-GB', 'country-US', 'country-AE'])
    expect(part(el, 'country-button').textContent).to.not.contain('France')
  })

  it('choosing a country moves an international number to its dial code', async () => {
    const { el } = await mount('default-country="GB"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    insertText(input, '+44 7400 123123')
    part<HTMLButtonElement>(el, 'country-button').click()
    await el.updateComplete
    insertText(part<HTMLInputElement>(el, 'country-search'), 'IE')
    await el.updateComplete
    part<HTMLElement>(el, 'country-option').click()
    await waitUntil(() => input.value.startsWith('+353'), `got ${input.value}`)
  })

  it('closes when focus leaves it, and lives in the shadow root (nothing on document.body)', async () => {
    const { el, form } = await mount()
    const before = document.body.childElementCount
    part<HTMLButtonElement>(el, 'country-button').click()
    await el.updateComplete
    expect(part(el, 'country-list')).to.exist
    expect(document.body.childElementCount).to.equal(before)
    form.querySelector<HTMLInputElement>('#before')!.focus()
    await el.updateComplete
    expect(part(el, 'country-panel')).to.equal(null)
  })

  it('opens above everything: an ancestor with overflow hidden does not clip the list', async () => {
    const { el, form } = await mount()
    form.style.cssText = 'overflow: hidden; height: 90px; position: relative'
    part<HTMLButtonElement>(el, 'country-button').click()
    await el.updateComplete
    const panel = part(el, 'country-panel')
    expect(panel.matches(':popover-open')).to.equal(true)
    const option = pickerRoot(el).getElementById('country-GB')!.getBoundingClientRect()
    expect(option.top).to.be.greaterThan(form.getBoundingClientRect().bottom - 40)
    const hit = pickerRoot(el).elementFromPoint(option.left + 10, option.top + option.height / 2)
    expect(hit?.closest('[part~="country-option"]')).to.exist
    const button = part(el, 'country-button').getBoundingClientRect()
    expect(panel.getBoundingClientRect().left).to.be.closeTo(button.left, 1)
  })

  it('shows the ISO code where flag emoji do not render', async () => {
    const { el } = await mount('default-country="GB"')
    const flag = part(el, 'country-button').querySelector('.flag')!
    if (canShowFlags()) {
      expect(flag.textContent).to.equal('🇬🇧')
    } else {
      expect(flag.textContent).to.equal('GB')
      expect(flag.classList.contains('iso')).to.equal(true)
    }
  })

  it('sends the number in E.164 with the chosen country', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount('default-country="FR"')
    await fillPhone(el, '06 12 34 56 78')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => server!.calls.length === 1)
    expect(server.calls[0]!.body).to.include({ phone: '+33612345678', country: 'FR' })
  })
})
