/// <reference types="mocha" />
import { expect, oneEvent, waitUntil } from '@open-wc/testing'
import { emulateMedia, sendKeys } from '@web/test-runner-commands'
import { loadCallingCode } from '../src/phone'
import {
  approved,
  axeViolations,
  fakeServer,
  fillPhone,
  focused,
  mount,
  part,
  reachCodeStep,
  refusal,
  started,
} from './helpers'

describe('accessibility (axe-core)', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  before(() => loadCallingCode('44'))
  afterEach(async () => {
    server?.restore()
    await emulateMedia({ colorScheme: 'light' })
  })

  it('phone step: no violations', async () => {
    const { form } = await mount()
    expect(await axeViolations(form)).to.deep.equal([])
  })

  it('phone step with the marketing opt-in, light and dark: no violations', async () => {
    const { el, form } = await mount('default-country="GB" marketing-text="Send me offers"')
    const box = part<HTMLInputElement>(el, 'marketing-checkbox')
    expect(box.closest('label')!.textContent).to.contain('Send me offers')
    expect(await axeViolations(form)).to.deep.equal([])
    await emulateMedia({ colorScheme: 'dark' })
    // A page in dark mode (theme="auto" follows it): the widget draws on the page's background.
    el.setAttribute('theme', 'auto')
    form.style.background = '#111318'
    expect(await axeViolations(form)).to.deep.equal([])
  })

  it('picker open: no violations', async () => {
    const { el, form } = await mount()
    part<HTMLButtonElement>(el, 'country-button').click()
    await el.updateComplete
    expect(part(el, 'country-list')).to.exist
    expect(await axeViolations(form)).to.deep.equal([])
  })

  it('code step: no violations', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el, form } = await mount()
    await reachCodeStep(el)
    expect(await axeViolations(form)).to.deep.equal([])
  })

  it('error state: no violations', async () => {
    const { el, form } = await mount()
    await fillPhone(el, '020 7946 0000')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error').textContent?.trim())
    expect(await axeViolations(form)).to.deep.equal([])
  })

  it('network error with Try again: no violations', async () => {
    server = fakeServer({ '/v1/verifications': ['network-error'] })
    const { el, form } = await mount()
    await fillPhone(el, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'retry-button'))
    expect(await axeViolations(form)).to.deep.equal([])
  })

  it('done step: no violations', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const { el, form } = await mount()
    await reachCodeStep(el)
    const verified = oneEvent(el, 'textgate-verified')
    part<HTMLInputElement>(el, 'code-input').focus()
    document.execCommand('insertText', false, '123456')
    await verified
    await el.updateComplete
    expect(await axeViolations(form)).to.deep.equal([])
  })

  it('dark theme (theme="auto", system dark): no contrast violations', async () => {
    await emulateMedia({ colorScheme: 'dark' })
    const { el, form } = await mount('default-country="GB" theme="auto"')
    // A page in dark mode: the widget draws on the page's own background.
    form.style.background = '#111318'
    await fillPhone(el, '020 7946 0000')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error').textContent?.trim())
    expect(await axeViolations(form)).to.deep.equal([])
  })

  it('announces through live regions: status (polite) and error (alert)', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount()
    expect(part(el, 'status').getAttribute('role')).to.equal('status')
    expect(part(el, 'error').getAttribute('role')).to.equal('alert')
    await reachCodeStep(el)
    expect(part(el, 'status').textContent?.replace(/[\u2066-\u2069]/g, '')).to.contain(
      'We sent a code to +44 7400 123123',
    )
    expect(part(el, 'code-input').getAttribute('aria-describedby')).to.equal('status error')
  })

  it('ties each error to its own field only, and says the number is required', async () => {
    const { el } = await mount()
    const phone = part<HTMLInputElement>(el, 'phone-input')
    const consent = part<HTMLInputElement>(el, 'consent-checkbox')
    // A screen reader reads `required` from the field itself, not from the host element.
    expect(phone.getAttribute('aria-required')).to.equal('true')
    el.required = false
    await el.updateComplete
    expect(phone.getAttribute('aria-required')).to.equal('false')
    // Consent missing: the message describes the checkbox, not the phone field.
    await fillPhone(el, '07400 123123', false)
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error').textContent?.includes('accept'))
    expect(consent.getAttribute('aria-describedby')).to.equal('error')
    expect(phone.hasAttribute('aria-describedby')).to.equal(false)
    // A number problem: the other way round.
    consent.click()
    phone.select()
    document.execCommand('insertText', false, '0740')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error').textContent?.includes('too short'))
    expect(phone.getAttribute('aria-describedby')).to.equal('error')
    expect(consent.hasAttribute('aria-describedby')).to.equal(false)
  })

  it('keeps focus on the pressed button (or the field Enter was pressed in) while it waits', async () => {
    // Found on a 10 s server: Send disabled itself, and focus fell to the page's <body> for as
    // long as the request took (a screen reader then starts reading the page from the top).
    const gates: (() => void)[] = []
    const later = () => new Promise<void>((resolve) => gates.push(resolve))
    server = fakeServer({
      '/v1/verifications': [{ ...started(0), after: later() }],
      '/v1/verifications/:id/check': [
        { ...refusal(400, 'incorrect_code', { attemptsLeft: 4 }), after: later() },
      ],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const send = part<HTMLButtonElement>(el, 'submit-button')
    send.focus()
    send.click()
    await waitUntil(() => server!.calls.length === 1, 'no start')
    await el.updateComplete
    expect(focused(el)?.getAttribute('part') ?? 'the page').to.equal('submit-button')
    expect(send.getAttribute('aria-disabled')).to.equal('true')
    send.click() // a second press while busy sends nothing more
    gates[0]!()
    await waitUntil(() => focused(el) === part(el, 'code-input'), 'focus never reached the code')
    expect(server.calls.length).to.equal(1)
    // Verify pressed with the code typed: focus stays on it, then goes back to the field.
    const verify = part<HTMLButtonElement>(el, 'submit-button')
    verify.focus()
    el.shadowRoot!.querySelector('form')!.requestSubmit() // incomplete: no request
    const code = part<HTMLInputElement>(el, 'code-input')
    code.value = '123456'
    code.dispatchEvent(new InputEvent('input', { inputType: 'insertText', bubbles: true }))
    await waitUntil(() => server!.calls.length === 2, 'no check')
    verify.focus()
    await el.updateComplete
    expect(focused(el)?.getAttribute('part') ?? 'the page').to.equal('submit-button')
    gates[1]!()
    await waitUntil(() => focused(el) === part(el, 'code-input'), 'focus not back on the code')
  })

  it('Enter in the phone field: focus stays in it while the start is under way', async () => {
    let answer = () => {}
    server = fakeServer({
      '/v1/verifications': [{ ...started(), after: new Promise<void>((r) => (answer = r)) }],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const phone = part<HTMLInputElement>(el, 'phone-input')
    phone.focus()
    await sendKeys({ press: 'Enter' })
    await waitUntil(() => server!.calls.length === 1, 'no start')
    await el.updateComplete
    expect(focused(el)?.getAttribute('part') ?? 'the page').to.equal('phone-input')
    expect(phone.readOnly).to.equal(true)
    answer()
    await waitUntil(() => focused(el) === part(el, 'code-input'), 'focus never reached the code')
  })

  it('Enter on the consent box, or Try again: focus waits on Send, not on the page', async () => {
    // Both controls go away or disable themselves once the start is under way.
    const gates: (() => void)[] = []
    const later = () => new Promise<void>((resolve) => gates.push(resolve))
    server = fakeServer({
      '/v1/verifications': [
        { status: 503, body: {}, after: later() },
        { ...started(), after: later() },
      ],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    part<HTMLInputElement>(el, 'consent-checkbox').focus()
    await sendKeys({ press: 'Enter' })
    await waitUntil(() => server!.calls.length === 1, 'no start')
    await el.updateComplete
    expect(focused(el)?.getAttribute('part') ?? 'the page').to.equal('submit-button')
    gates[0]!()
    await waitUntil(() => focused(el) === part(el, 'retry-button'), 'focus not on Try again')
    await sendKeys({ press: 'Enter' })
    await waitUntil(() => server!.calls.length === 2, 'no second start')
    await el.updateComplete
    expect(focused(el)?.getAttribute('part') ?? 'the page').to.equal('submit-button')
    gates[1]!()
    await waitUntil(() => focused(el) === part(el, 'code-input'), 'focus never reached the code')
  })

  it('can be used with the keyboard alone, focus following each step', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [
        refusal(400, 'incorrect_code', { attemptsLeft: 4 }),
        approved,
      ],
    })
    const { el, form } = await mount('default-country="US"')
    const active = () => focused(el)
    form.querySelector<HTMLInputElement>('#before')!.focus()
    await sendKeys({ press: 'Tab' })
    expect(active()).to.equal(part(el, 'country-button'))
    await sendKeys({ press: 'Enter' })
    await el.updateComplete
    await sendKeys({ type: 'gb' })
    await sendKeys({ press: 'Enter' })
    await el.updateComplete
    expect(active()).to.equal(part(el, 'phone-input'))
    await sendKeys({ type: '07400123123' })
    expect(part<HTMLInputElement>(el, 'phone-input').value).to.equal('07400 123123')
    await sendKeys({ press: 'Tab' })
    expect(active()).to.equal(part(el, 'consent-checkbox'))
    await sendKeys({ press: 'Space' })
    await sendKeys({ press: 'Tab' })
    expect(active()).to.equal(part(el, 'submit-button'))
    await sendKeys({ press: 'Enter' })
    await waitUntil(() => active() === part(el, 'code-input'), 'focus never reached the code')
    await sendKeys({ type: '111111' })
    await waitUntil(() => part(el, 'error').textContent?.includes('4 attempts left'))
    expect(active()).to.equal(part(el, 'code-input'))
    const verified = oneEvent(el, 'textgate-verified')
    await sendKeys({ type: '123456' })
    await verified
    await waitUntil(() => active() === part(el, 'done'), 'focus never reached done')
    expect(server.calls[0]!.body).to.include({ phone: '+447400123123' })
  })
})
