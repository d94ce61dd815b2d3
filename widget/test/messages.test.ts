/// <reference types="mocha" />
// Round 2 defects 2, 3, 4, 6 and 7: where messages sit, what they say, where focus goes.
import { expect, oneEvent, waitUntil } from '@open-wc/testing'
import {
  approved,
  fakeServer,
  fillPhone,
  focused,
  insertText,
  mount,
  part,
  reachCodeStep,
  refusal,
  started,
} from './helpers'

/** The nearest following element of `a` in document order is `b`'s ancestor-or-self. */
const follows = (a: Element, b: Element) =>
  !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)
const gap = (above: Element, below: Element) =>
  below.getBoundingClientRect().top - above.getBoundingClientRect().bottom

describe('messages, invalid fields and focus (round 2)', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it('defect 2: an invalid phone field shows the error border', async () => {
    const { el } = await mount()
    const phone = part<HTMLInputElement>(el, 'phone-input')
    const normal = getComputedStyle(phone).borderTopColor
    await fillPhone(el, '07400 12')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => phone.getAttribute('aria-invalid') === 'true')
    const error = getComputedStyle(part(el, 'error')).color
    expect(getComputedStyle(phone).borderTopColor).to.equal(error)
    expect(error).to.not.equal(normal)
  })

  it('a failure that is not about the number (network, rate limit) leaves the field valid', async () => {
    // Found in Chromium's accessibility tree: "We could not reach the server" marked a good
    // number aria-invalid (a screen reader says "invalid entry"; the border turned red).
    server = fakeServer({
      '/v1/verifications': [
        'network-error',
        { ...refusal(429, 'rate_limited'), headers: { 'Retry-After': '60' } },
      ],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const phone = part<HTMLInputElement>(el, 'phone-input')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'retry-button'), 'no Try again')
    expect(phone.getAttribute('aria-invalid')).to.equal('false')
    part<HTMLButtonElement>(el, 'retry-button').click()
    await waitUntil(() => part(el, 'error').textContent?.includes('minute'), 'no rate limit')
    expect(phone.getAttribute('aria-invalid')).to.equal('false')
  })

  it('defect 2: an invalid code field shows the error border', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [refusal(400, 'incorrect_code', { attemptsLeft: 4 })],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    const code = part<HTMLInputElement>(el, 'code-input')
    const normal = getComputedStyle(code).borderTopColor
    insertText(code, '111111')
    await waitUntil(() => code.getAttribute('aria-invalid') === 'true')
    const error = getComputedStyle(part(el, 'error')).color
    expect(getComputedStyle(code).borderTopColor).to.equal(error)
    expect(error).to.not.equal(normal)
  })

  it('defect 3: a phone error sits right under the phone field, above consent and Send', async () => {
    const { el } = await mount()
    await fillPhone(el, '07400 12')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error').textContent?.trim(), 'no error')
    const row = part(el, 'phone-input')
    const error = part(el, 'error')
    expect(follows(row, error)).to.equal(true)
    expect(follows(error, part(el, 'consent'))).to.equal(true)
    expect(follows(error, part(el, 'submit-button'))).to.equal(true)
    expect(gap(row, error)).to.be.within(0, 16)
  })

  it('defect 3: "We sent a code to …" sits above the code field; its error right under it', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [refusal(400, 'incorrect_code', { attemptsLeft: 4 })],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    const status = part(el, 'status')
    const code = part(el, 'code-input')
    expect(status.textContent?.replace(/[\u2066-\u2069]/g, '')).to.contain(
      'We sent a code to +44 7400 123123',
    )
    expect(follows(status, code)).to.equal(true)
    expect(follows(status, part(el, 'submit-button'))).to.equal(true)
    insertText(part<HTMLInputElement>(el, 'code-input'), '111111')
    await waitUntil(() => part(el, 'error').textContent?.includes('not right'))
    const error = part(el, 'error')
    expect(follows(code, error)).to.equal(true)
    expect(follows(error, part(el, 'submit-button'))).to.equal(true)
    expect(gap(code, error)).to.be.within(0, 16)
  })

  it('defect 4: the verified state says it once, under the field’s label', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    insertText(part<HTMLInputElement>(el, 'code-input'), '123456')
    await waitUntil(() => part(el, 'done'))
    await el.updateComplete
    const text = el.shadowRoot!.querySelector('[part~="base"]')!.textContent!
    expect(text.split('+44 7400 123123').length - 1, text).to.equal(1)
    expect(text).to.contain('Phone number')
    const label = el.shadowRoot!.querySelector('#done-label')!
    const group = part(el, 'done').closest('[role="group"]')!
    expect(group.getAttribute('aria-labelledby')).to.equal('done-label')
    expect(label.textContent).to.contain('Phone number')
  })

  it('defect 6: after a failed Send (network) focus is on Try again, not the page', async () => {
    server = fakeServer({ '/v1/verifications': ['network-error', started()] })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const submit = part<HTMLButtonElement>(el, 'submit-button')
    submit.focus()
    const failed = oneEvent(el, 'textgate-error')
    submit.click()
    await failed
    await el.updateComplete
    await waitUntil(() => focused(el) === part(el, 'retry-button'), 'focus is not on Try again')
    expect(document.activeElement).to.equal(el)
  })

  it('defect 6: "Send a new code" keeps focus in the widget and the number in view', async () => {
    server = fakeServer({
      '/v1/verifications': [started(0)],
      '/v1/verifications/:id/resend': [
        { status: 200, body: { ...started().body, resendAfter: new Date(Date.now() + 30_000) } },
      ],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    await waitUntil(() => !part<HTMLButtonElement>(el, 'resend-button').disabled)
    const resend = part<HTMLButtonElement>(el, 'resend-button')
    resend.focus()
    resend.click()
    await waitUntil(
      () =>
        part<HTMLButtonElement>(el, 'resend-button').disabled &&
        !!server!.calls.find((c) => c.url.endsWith('/resend')),
    )
    await el.updateComplete
    await waitUntil(() => focused(el) === part(el, 'code-input'), 'focus is not on the code field')
    expect(document.activeElement).to.equal(el)
    expect(part(el, 'status').textContent).to.contain('+44 7400 123123')
  })

  it('defect 7: a rate limit reads as a human duration, counts down, and holds Send until it ends', async () => {
    server = fakeServer({
      '/v1/verifications': [
        { ...refusal(429, 'rate_limited'), headers: { 'Retry-After': '600' } },
        { ...refusal(429, 'rate_limited'), headers: { 'Retry-After': '2' } },
        started(),
      ],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const submit = () => part<HTMLButtonElement>(el, 'submit-button')
    const failed = oneEvent(el, 'textgate-error')
    submit().click()
    expect((await failed).detail.retryAfter).to.equal(600)
    await el.updateComplete
    expect(part(el, 'error').textContent).to.contain('10 minutes')
    expect(part(el, 'error').textContent).to.not.contain('600')
    expect(submit().disabled).to.equal(true)
    el.reset()
    await el.updateComplete
    await fillPhone(el, '', true)
    submit().click()
    await waitUntil(
      () => part(el, 'error').textContent?.includes('2 seconds'),
      `no live wait: ${part(el, 'error').textContent}`,
    )
    expect(submit().disabled).to.equal(true)
    await waitUntil(() => part(el, 'error').textContent?.includes('1 second'), 'no countdown', {
      timeout: 3000,
    })
    await waitUntil(() => !submit().disabled, 'Send stayed disabled', { timeout: 3000 })
    expect(part(el, 'error').textContent?.trim()).to.equal('')
  })
  it('a rate limit is announced once, not at every second of its countdown', async () => {
    server = fakeServer({
      '/v1/verifications': [
        { ...refusal(429, 'rate_limited'), headers: { 'Retry-After': '3' } },
        refusal(403, 'blocked'),
      ],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const submit = () => part<HTMLButtonElement>(el, 'submit-button')
    const error = () => part(el, 'error')
    submit().click()
    await waitUntil(() => error().textContent?.includes('3 seconds'))
    // On screen the first time: an alert, read out.
    expect(error().getAttribute('role')).to.equal('alert')
    expect(error().hasAttribute('aria-live')).to.equal(false)
    await waitUntil(() => error().textContent?.includes('2 seconds'), 'no countdown', {
      timeout: 2000,
    })
    // Each second's new text is there to see, but not read out again.
    expect(error().getAttribute('aria-live')).to.equal('off')
    await waitUntil(() => !submit().disabled, 'Send stayed disabled', { timeout: 4000 })
    submit().click()
    await waitUntil(() => error().textContent?.trim())
    expect(error().textContent).to.not.contain('second')
    expect(error().hasAttribute('aria-live')).to.equal(false)
  })
})
