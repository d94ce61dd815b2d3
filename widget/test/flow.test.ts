/// <reference types="mocha" />
import { aTimeout, expect, oneEvent, waitUntil } from '@open-wc/testing'
import { loadTranslation } from '../src/i18n'
import en from '../src/translations/en'
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
  resent,
  started,
  type,
} from './helpers'

describe('code step', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it('starts a verification with the key, an Idempotency-Key and the consent version', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount('default-country="GB" consent-version="tos-2026"')
    await reachCodeStep(el)
    const [call] = server.calls
    expect(call!.url).to.equal('https://verify.example/v1/verifications')
    expect(call!.headers.get('Authorization')).to.equal('Bearer pk_test_x')
    expect(call!.headers.get('Idempotency-Key')).to.match(/^[0-9a-f-]{36}$/)
    const { signals, ...body } = call!.body as Record<string, unknown>
    expect(body).to.deep.equal({
      phone: '+447400123123',
      country: 'GB',
      consent: { accepted: true, version: 'tos-2026' },
      locale: 'en',
    })
    expect(signals).to.include({ entry: 'typed', keys: 0, visible: true })
    expect(part(el, 'status').textContent).to.contain('+44 7400 123123')
    const code = part<HTMLInputElement>(el, 'code-input')
    expect(code.getAttribute('autocomplete')).to.equal('one-time-code')
    expect(code.getAttribute('inputmode')).to.equal('numeric')
    expect(focused(el)).to.equal(code)
  })

  it('shows attempts left for a wrong code, then submits the token with the form', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [
        refusal(400, 'incorrect_code', { attemptsLeft: 4 }),
        approved,
      ],
    })
    const { form, el } = await mount()
    expect(form.checkValidity()).to.equal(false)
    await reachCodeStep(el)
    type(part<HTMLInputElement>(el, 'code-input'), '111111')
    await waitUntil(() => part(el, 'error').textContent?.includes('4 attempts left'))
    const verified = oneEvent(el, 'textgate-verified')
    type(part<HTMLInputElement>(el, 'code-input'), '123456')
    const { detail } = await verified
    expect(detail).to.deep.equal({
      token: 'tok.en.value',
      phone: '+447400123123',
      verificationId: 'ver_abc',
      marketing: false,
    })
    expect(server.calls.at(-1)!.body).to.deep.equal({ code: '123456' })
    await el.updateComplete
    expect(part(el, 'done').textContent).to.contain('verified')
    expect(new FormData(form).get('phone_token')).to.equal('tok.en.value')
    expect(form.checkValidity()).to.equal(true)
    expect(el.matches(':state(verified)')).to.equal(true)
    await waitUntil(() => focused(el) === part(el, 'done'), 'focus on done')
  })

  it('takes a pasted code with spaces and dashes, and submits at full length', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    const verified = oneEvent(el, 'textgate-verified')
    insertText(part<HTMLInputElement>(el, 'code-input'), '12-34 56')
    await verified
    expect(server.calls.at(-1)!.body).to.deep.equal({ code: '123456' })
  })

  it('takes a whole code pasted after digits already typed as the code', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    const input = part<HTMLInputElement>(el, 'code-input')
    type(input, '12')
    const verified = oneEvent(el, 'textgate-verified')
    // What Chromium does for Ctrl+V at the end of "12": the text goes in, `data` holds it.
    input.value = '12482 913'
    input.dispatchEvent(
      new InputEvent('input', { inputType: 'insertFromPaste', data: '482 913', bubbles: true }),
    )
    await verified
    expect(server.calls.at(-1)!.body).to.deep.equal({ code: '482913' })
  })

  it('takes a whole code the keyboard inserts after digits typed (its SMS suggestion) as the code', async () => {
    // Android keyboards offer the code from the SMS as a suggestion, inserted as text (not a
    // paste): after "12" typed, it was "12482913", checked as 124829 (a wrong code, an attempt).
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    const input = part<HTMLInputElement>(el, 'code-input')
    insertText(input, '1')
    insertText(input, '2')
    const verified = oneEvent(el, 'textgate-verified')
    insertText(input, '482913')
    await verified
    expect(server.calls.at(-1)!.body).to.deep.equal({ code: '482913' })
  })

  it('adds a part of a code pasted after digits typed to them', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount()
    await reachCodeStep(el)
    const input = part<HTMLInputElement>(el, 'code-input')
    type(input, '12')
    input.value = '12345'
    input.dispatchEvent(
      new InputEvent('input', { inputType: 'insertFromPaste', data: '345', bubbles: true }),
    )
    await el.updateComplete
    expect(input.value).to.equal('12345')
  })

  describe('WebOTP', () => {
    const credentials = navigator.credentials as unknown as Record<string, unknown>
    const win = window as unknown as Record<string, unknown>
    const hadOtp = 'OTPCredential' in window
    afterEach(() => {
      delete credentials.get
      if (!hadOtp) delete win.OTPCredential
    })

    function fakeOtp(code: Promise<string>) {
      const signals: AbortSignal[] = []
      win.OTPCredential ??= class {}
      credentials.get = (options: { otp?: unknown; signal: AbortSignal }) => {
        expect(options.otp).to.deep.equal({ transport: ['sms'] })
        signals.push(options.signal)
        return new Promise((resolve, reject) => {
          options.signal.addEventListener('abort', () => reject(new DOMException('', 'AbortError')))
          void code.then((value) => resolve({ code: value, type: 'otp' }))
        })
      }
      return signals
    }

    it('fills and submits the code the browser reads from the SMS', async () => {
      server = fakeServer({
        '/v1/verifications': [started()],
        '/v1/verifications/:id/check': [approved],
      })
      const signals = fakeOtp(Promise.resolve('654321'))
      const { el } = await mount()
      const verified = oneEvent(el, 'textgate-verified')
      await fillPhone(el, '07400 123123')
      part<HTMLButtonElement>(el, 'submit-button').click()
      await verified
      expect(signals).to.have.length(1)
      expect(server.calls.at(-1)!.body).to.deep.equal({ code: '654321' })
    })

    it('waits for the SMS only while on the page, and again once put back', async () => {
      server = fakeServer({ '/v1/verifications': [started()] })
      const signals = fakeOtp(new Promise(() => {}))
      const { el, form } = await mount()
      await reachCodeStep(el)
      expect(signals).to.have.length(1)
      el.remove()
      expect(signals[0]!.aborted).to.equal(true)
      form.append(el)
      await el.updateComplete
      expect(signals).to.have.length(2)
      expect(signals[1]!.aborted).to.equal(false)
      type(part<HTMLInputElement>(el, 'code-input'), '1')
      expect(signals[1]!.aborted).to.equal(true)
      el.remove()
      form.append(el)
      expect(signals).to.have.length(2)
    })

    it('stops waiting for the SMS when the shopper types', async () => {
      server = fakeServer({ '/v1/verifications': [started()] })
      const signals = fakeOtp(new Promise(() => {}))
      const { el } = await mount()
      await reachCodeStep(el)
      expect(signals[0]!.aborted).to.equal(false)
      type(part<HTMLInputElement>(el, 'code-input'), '1')
      expect(signals[0]!.aborted).to.equal(true)
    })
  })

  it('disables resend with a countdown until resendAfter', async () => {
    server = fakeServer({
      '/v1/verifications': [started(1_500)],
      '/v1/verifications/:id/resend': [resent()],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    const resend = () => part<HTMLButtonElement>(el, 'resend-button')
    expect(resend().disabled).to.equal(true)
    expect(resend().textContent).to.match(/New code in \d s/)
    await waitUntil(() => !resend().disabled, 'resend never enabled', { timeout: 4000 })
    resend().click()
    await waitUntil(() => part(el, 'status').textContent?.includes('new code'))
    expect(resend().disabled).to.equal(true)
  })

  it('keeps counting down when the element is moved, and leaves no timer once removed', async () => {
    let reply!: () => void
    server = fakeServer({
      '/v1/verifications': [{ ...started(2_000), after: new Promise<void>((r) => (reply = r)) }],
      '/v1/verifications/:id/resend': [resent(5_000, 4)],
    })
    const { el, form } = await mount()
    await fillPhone(el, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => server!.calls.length === 1)
    // Taken out while Send waits for the server: the answer comes, but nothing ticks.
    el.remove()
    let updates = 0
    const requestUpdate = el.requestUpdate.bind(el)
    el.requestUpdate = (...args: Parameters<typeof el.requestUpdate>) => {
      updates++
      return requestUpdate(...args)
    }
    reply()
    await waitUntil(() => el.matches(':state(code-sent)'))
    await aTimeout(50)
    updates = 0
    await aTimeout(1_300)
    expect(updates, 'updates while off the page').to.equal(0)
    // Put back (a store moving its form into a dialog): the countdown goes on and ends.
    form.append(el)
    const resend = () => part<HTMLButtonElement>(el, 'resend-button')
    await el.updateComplete
    await waitUntil(() => !resend().disabled, 'resend never enabled', { timeout: 3000 })
    // Moved while it counts: it keeps counting.
    resend().click()
    await waitUntil(() => resend().disabled && /\d/.test(resend().textContent ?? ''))
    el.remove()
    form.append(el)
    await waitUntil(() => !resend().disabled, 'resend never enabled again', { timeout: 4000 })
  })

  it('Send pressed twice (a double click, Enter twice) starts one verification', async () => {
    server = fakeServer({ '/v1/verifications': [started(), started()] })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const send = part<HTMLButtonElement>(el, 'submit-button')
    send.click()
    send.click()
    await waitUntil(() => el.matches(':state(code-sent)'))
    await aTimeout(100)
    expect(server.calls.length).to.equal(1)
  })

  it('change number goes back to the phone step with the number kept', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount()
    await reachCodeStep(el)
    part<HTMLButtonElement>(el, 'change-button').click()
    await waitUntil(() => part(el, 'phone-input'))
    await el.updateComplete
    expect(part<HTMLInputElement>(el, 'phone-input').value).to.equal('07400 123123')
    await waitUntil(() => focused(el) === part(el, 'phone-input'))
  })
})

describe('errors', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it('says when the network is down, and sends again with Try again (same Idempotency-Key)', async () => {
    server = fakeServer({ '/v1/verifications': ['network-error', started()] })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const failed = oneEvent(el, 'textgate-error')
    part<HTMLButtonElement>(el, 'submit-button').click()
    expect((await failed).detail.code).to.equal('network_error')
    await el.updateComplete
    expect(part(el, 'error').textContent).to.match(/could not reach/i)
    part<HTMLButtonElement>(el, 'retry-button').click()
    await waitUntil(() => part(el, 'code-input'))
    const [first, second] = server.calls
    expect(second!.headers.get('Idempotency-Key')).to.equal(first!.headers.get('Idempotency-Key'))
  })

  it('a proxy’s 502 page (no error body) offers Try again, with the same Idempotency-Key', async () => {
    const gateway = { status: 502, body: '<html><h1>502 Bad Gateway</h1></html>' }
    server = fakeServer({
      '/v1/verifications': [gateway, started()],
      '/v1/verifications/:id/check': [gateway, approved],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const failed = oneEvent(el, 'textgate-error')
    part<HTMLButtonElement>(el, 'submit-button').click()
    expect((await failed).detail.code).to.equal('service_unavailable')
    await el.updateComplete
    expect(part(el, 'error').textContent).to.equal(en.errors.service_unavailable)
    part<HTMLButtonElement>(el, 'retry-button').click()
    await waitUntil(() => el.matches(':state(code-sent)'))
    const [first, second] = server.calls
    expect(second!.headers.get('Idempotency-Key')).to.equal(first!.headers.get('Idempotency-Key'))
    type(part<HTMLInputElement>(el, 'code-input'), '123456')
    await waitUntil(() => part(el, 'retry-button'), 'no Try again after Verify')
    expect(part<HTMLInputElement>(el, 'code-input').value).to.equal('123456')
    part<HTMLButtonElement>(el, 'retry-button').click()
    await waitUntil(() => el.matches(':state(verified)'))
  })

  it('a 2xx answer that is not the server’s (a misrouted page, a garbled body) is a failure', async () => {
    const { expiresAt } = started().body
    server = fakeServer({
      '/v1/verifications': [
        { status: 200, body: '<!doctype html><title>Shop</title>' },
        { status: 201, body: { id: 'ver_abc', status: 'pending' } },
        started(0),
      ],
      '/v1/verifications/:id/resend': [{ status: 200, body: { expiresAt, resendAfter: 'soon' } }],
      '/v1/verifications/:id/check': [{ status: 200, body: { id: 'ver_abc', status: 'approved' } }],
    })
    const { el } = await mount()
    const errors: string[] = []
    el.addEventListener('textgate-error', (event) => errors.push(event.detail.code))
    await fillPhone(el, '07400 123123')
    const submit = () => part<HTMLButtonElement>(el, 'submit-button')
    for (const count of [1, 2]) {
      submit().click()
      await waitUntil(() => errors.length === count)
      await el.updateComplete
      expect(part(el, 'error').textContent).to.contain(en.errors.unknown)
      expect(el.matches(':state(code-sent)')).to.equal(false)
    }
    submit().click()
    await waitUntil(() => part(el, 'code-input'))
    await waitUntil(() => !part<HTMLButtonElement>(el, 'resend-button').disabled)
    part<HTMLButtonElement>(el, 'resend-button').click()
    await waitUntil(() => part(el, 'error').textContent)
    expect(el.shadowRoot!.querySelector('.hint')!.textContent).to.not.contain('Invalid')
    insertText(part<HTMLInputElement>(el, 'code-input'), '123456')
    await waitUntil(() => errors.length === 4)
    await el.updateComplete
    expect(errors).to.deep.equal(['unknown', 'unknown', 'unknown', 'unknown'])
    expect(el.matches(':state(verified)')).to.equal(false)
    expect(el.value).to.equal('')
  })

  it('a network failure while checking the code offers Try again, which checks it again', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': ['network-error', approved],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    insertText(part<HTMLInputElement>(el, 'code-input'), '123456')
    await waitUntil(() => part(el, 'retry-button'), 'no Try again')
    const verified = oneEvent(el, 'textgate-verified')
    part<HTMLButtonElement>(el, 'retry-button').click()
    await verified
    expect(server.calls.at(-1)!.body).to.deep.equal({ code: '123456' })
  })

  it('max_sends_reached on resend keeps the code that was sent usable', async () => {
    server = fakeServer({
      '/v1/verifications': [started(0)],
      '/v1/verifications/:id/resend': [refusal(429, 'max_sends_reached')],
      '/v1/verifications/:id/check': [approved],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    await waitUntil(() => !part<HTMLButtonElement>(el, 'resend-button').disabled)
    part<HTMLButtonElement>(el, 'resend-button').click()
    await waitUntil(() => part(el, 'error').textContent?.includes('Too many codes'))
    const verified = oneEvent(el, 'textgate-verified')
    insertText(part<HTMLInputElement>(el, 'code-input'), '123456')
    await verified
  })

  it('rate_limited says how long to wait', async () => {
    server = fakeServer({
      '/v1/verifications': [{ ...refusal(429, 'rate_limited'), headers: { 'Retry-After': '42' } }],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const failed = oneEvent(el, 'textgate-error')
    part<HTMLButtonElement>(el, 'submit-button').click()
    expect((await failed).detail).to.deep.equal({
      code: 'rate_limited',
      message: 'Too many attempts. Try again in 42 seconds.',
      retryAfter: 42,
    })
  })

  it('a rate limit on the code holds Verify, and a code typed meanwhile is not sent', async () => {
    // Found in Chromium: after a 429 on check, Verify stayed enabled, and each press (or each
    // whole code typed) asked again, into another 429.
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [
        { ...refusal(429, 'rate_limited'), headers: { 'Retry-After': '42' } },
      ],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    const failed = oneEvent(el, 'textgate-error')
    insertText(part<HTMLInputElement>(el, 'code-input'), '123456')
    expect((await failed).detail.code).to.equal('rate_limited')
    await el.updateComplete
    const verify = part<HTMLButtonElement>(el, 'submit-button')
    expect(verify.disabled).to.equal(true)
    const checks = () => server!.calls.filter((call) => call.url.endsWith('/check')).length
    expect(checks()).to.equal(1)
    const input = part<HTMLInputElement>(el, 'code-input')
    input.select()
    insertText(input, '654321')
    part<HTMLFormElement>(el, 'code-input').form!.requestSubmit()
    await aTimeout(50)
    expect(checks()).to.equal(1)
    expect(part(el, 'error').textContent).to.contain('Try again in 42 seconds')
  })

  it('blocked is named at the phone step', async () => {
    server = fakeServer({ '/v1/verifications': [refusal(403, 'blocked')] })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error').textContent?.includes('cannot send a code'))
  })

  for (const [code, status, pattern] of [
    ['verification_expired', 410, /expired/],
    ['max_attempts_reached', 429, /Too many wrong codes/],
  ] as const) {
    it(`${code} ends the code step with Start again`, async () => {
      server = fakeServer({
        '/v1/verifications': [started()],
        '/v1/verifications/:id/check': [refusal(status, code)],
      })
      const { el } = await mount()
      await reachCodeStep(el)
      type(part<HTMLInputElement>(el, 'code-input'), '123456')
      await waitUntil(() => pattern.test(part(el, 'error').textContent ?? ''))
      await el.updateComplete
      expect(part(el, 'submit-button')).to.equal(null)
      expect(part<HTMLInputElement>(el, 'code-input').disabled).to.equal(true)
      const change = part<HTMLButtonElement>(el, 'change-button')
      expect(change.textContent?.trim()).to.equal('Start again')
      await waitUntil(() => focused(el) === change, 'focus on Start again')
      change.click()
      await waitUntil(() => part(el, 'phone-input'))
    })
  }

  it('max_attempts_reached with retry "later" says to try later or use another number', async () => {
    // Out of wrong codes for the number over the day, the server says `retry: "later"`: a new
    // verification of the same number would fail at its first check, so "Start again with your
    // number" sent the shopper round again into the same refusal.
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [
        {
          ...refusal(429, 'max_attempts_reached', { attemptsLeft: 0, retry: 'later' }),
          headers: { 'Retry-After': '86400' },
        },
      ],
    })
    const { el } = await mount('default-country="GB" lang="ar"')
    await waitUntil(() => part(el, 'submit-button').textContent?.includes('إرسال'))
    await reachCodeStep(el)
    const failed = oneEvent(el, 'textgate-error')
    type(part<HTMLInputElement>(el, 'code-input'), '123456')
    const ar = await loadTranslation('ar')
    expect((await failed).detail).to.deep.equal({
      code: 'max_attempts_reached',
      message: ar.wrongCodesLater,
    })
    await el.updateComplete
    expect(part(el, 'error').textContent?.trim()).to.equal(ar.wrongCodesLater)
    expect(part(el, 'base').getAttribute('dir')).to.equal('rtl')
    const change = part<HTMLButtonElement>(el, 'change-button')
    expect(change.textContent?.trim()).to.equal(ar.changeNumber)
    await waitUntil(() => focused(el) === change, 'focus on Change number')
    // Worded anew in the language now.
    el.setAttribute('lang', 'en')
    await waitUntil(() => part(el, 'error').textContent?.trim() === en.wrongCodesLater)
    expect(en.wrongCodesLater).to.not.equal(en.errors.max_attempts_reached)
  })

  // Which codes the widget words itself is declared with each code in shared/errors.ts (`widget`),
  // not listed here: a new code the widget may get needs a message in every locale, or this fails.
  it('has a message of its own, in every locale, for each code shared/ marks for the widget', async () => {
    const { ERRORS } = await import('@textgate/shared/errors')
    const { LOCALES, loadTranslation } = await import('../src/i18n')
    const worded = Object.entries(ERRORS)
      .filter(([, error]) => error.widget === 'message')
      .map(([code]) => code)
    expect(worded).to.include.members(['invalid_phone', 'incorrect_code', 'rate_limited'])
    for (const locale of LOCALES) {
      const errors = (await loadTranslation(locale)).errors as Record<string, string | undefined>
      const missing = worded.filter((code) => !errors[code]?.trim())
      expect(missing, `${locale}: no message for`).to.deep.equal([])
      // And no message for a code the server never sends the widget (renamed, or operator-only).
      const stale = Object.keys(errors).filter(
        (code) => !worded.includes(code) && code !== 'unknown' && code !== 'network_error',
      )
      expect(stale, `${locale}: messages for codes the widget never gets`).to.deep.equal([])
    }
  })
})
