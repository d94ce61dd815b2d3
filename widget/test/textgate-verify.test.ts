/// <reference types="mocha" />
import { expect, fixture, oneEvent, waitUntil } from '@open-wc/testing'
import '../src/index'
import type { TextgateVerify } from '../src/textgate-verify'

interface Call {
  url: string
  method: string
  headers: Headers
  body: unknown
}

type Reply = { status: number; body: unknown; headers?: Record<string, string> } | 'network-error'

/** Replaces fetch with a scripted server; each call takes the next reply for its path. */
function fakeServer(routes: Record<string, Reply[]>) {
  const calls: Call[] = []
  const original = window.fetch
  window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input)
    const path = new URL(url).pathname.replace(/ver_[a-z0-9]+/, ':id')
    calls.push({
      url,
      method: init?.method ?? 'GET',
      headers: new Headers(init?.headers),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    })
    const reply = routes[path]?.shift()
    if (!reply) throw new Error(`unexpected ${path}`)
    if (reply === 'network-error') throw new TypeError('Failed to fetch')
    return new Response(JSON.stringify(reply.body), {
      status: reply.status,
      headers: { 'Content-Type': 'application/json', ...reply.headers },
    })
  }
  return { calls, restore: () => (window.fetch = original) }
}

const started = (resendInMs = 30_000) => ({
  status: 201,
  body: {
    id: 'ver_abc',
    status: 'pending',
    to: '+44 ••••••••23',
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
    resendAfter: new Date(Date.now() + resendInMs).toISOString(),
    attemptsLeft: 5,
    codeLength: 6,
  },
})

const part = <T extends HTMLElement>(el: TextgateVerify, name: string) =>
  el.shadowRoot!.querySelector<T>(`[part~="${name}"]`)!

function type(input: HTMLInputElement, text: string) {
  for (const ch of text) {
    input.value += ch
    input.setSelectionRange(input.value.length, input.value.length)
    input.dispatchEvent(
      new InputEvent('input', { inputType: 'insertText', data: ch, bubbles: true }),
    )
  }
}

async function fillPhone(el: TextgateVerify, phone: string, consent = true) {
  type(part<HTMLInputElement>(el, 'phone-input'), phone)
  if (consent) part<HTMLInputElement>(el, 'consent-checkbox').click()
  await el.updateComplete
}

async function mount(attrs = 'default-country="GB"') {
  const form = await fixture<HTMLFormElement>(
    `<form><textgate-verify publishable-key="pk_test_x" server="https://verify.example" name="phone_token" required ${attrs}></textgate-verify><button>Register</button></form>`,
  )
  const el = form.querySelector('textgate-verify')!
  await el.updateComplete
  return { form, el }
}

async function reachCodeStep(el: TextgateVerify) {
  await fillPhone(el, '07400 123123')
  part<HTMLButtonElement>(el, 'submit-button').click()
  await waitUntil(() => part(el, 'code-input'), 'code step never showed')
}

describe('<textgate-verify>', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it('formats the number as it is typed', async () => {
    const { el } = await mount('default-country="US"')
    const input = part<HTMLInputElement>(el, 'phone-input')
    type(input, '2015550123')
    expect(input.value).to.equal('(201) 555-0123')
  })

  it('switches the country when a number starts with +', async () => {
    const { el } = await mount('default-country="US"')
    type(part<HTMLInputElement>(el, 'phone-input'), '+447400123123')
    await el.updateComplete
    expect(part<HTMLSelectElement>(el, 'country-select').value).to.equal('GB')
    expect(part<HTMLInputElement>(el, 'phone-input').value).to.equal('+44 7400 123123')
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

  it('names an invalid number at the field without calling the server', async () => {
    server = fakeServer({})
    const { el } = await mount()
    await fillPhone(el, '12345')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await el.updateComplete
    expect(part(el, 'error').textContent).to.match(/too short|not a valid/i)
    expect(part(el, 'phone-input').getAttribute('aria-invalid')).to.equal('true')
    expect(server.calls).to.have.length(0)
  })

  it('needs consent before sending', async () => {
    server = fakeServer({})
    const { el } = await mount()
    await fillPhone(el, '07400 123123', false)
    part<HTMLButtonElement>(el, 'submit-button').click()
    await el.updateComplete
    expect(part(el, 'error').textContent).to.match(/accept/i)
    expect(server.calls).to.have.length(0)
  })

  it('starts a verification with the key, an Idempotency-Key and the consent version', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount('default-country="GB" consent-version="tos-2026"')
    await reachCodeStep(el)
    const [call] = server.calls
    expect(call!.url).to.equal('https://verify.example/v1/verifications')
    expect(call!.headers.get('Authorization')).to.equal('Bearer pk_test_x')
    expect(call!.headers.get('Idempotency-Key')).to.match(/^[0-9a-f-]{36}$/)
    expect(call!.body).to.deep.equal({
      phone: '+447400123123',
      country: 'GB',
      consent: { accepted: true, version: 'tos-2026' },
      locale: 'en',
    })
    expect(part(el, 'status').textContent).to.contain('+44 7400 123123')
    const code = part<HTMLInputElement>(el, 'code-input')
    expect(code.getAttribute('autocomplete')).to.equal('one-time-code')
    expect(code.getAttribute('inputmode')).to.equal('numeric')
  })

  it('shows attempts left for a wrong code, then submits the token with the form', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [
        { status: 400, body: { error: { code: 'incorrect_code', message: 'x', attemptsLeft: 4 } } },
        { status: 200, body: { id: 'ver_abc', status: 'approved', token: 'tok.en.value' } },
      ],
    })
    const { form, el } = await mount()
    expect(form.checkValidity()).to.equal(false)
    await reachCodeStep(el)
    type(part<HTMLInputElement>(el, 'code-input'), '111111')
    await waitUntil(() => part(el, 'error').textContent?.includes('4 attempts left'))
    const verified = oneEvent(el, 'textgate-verified')
    type(part<HTMLInputElement>(el, 'code-input'), '12-34 56')
    const { detail } = await verified
    expect(detail).to.deep.equal({
      token: 'tok.en.value',
      phone: '+447400123123',
      verificationId: 'ver_abc',
    })
    expect(server.calls.at(-1)!.body).to.deep.equal({ code: '123456' })
    await el.updateComplete
    expect(part(el, 'done').textContent).to.contain('verified')
    expect(new FormData(form).get('phone_token')).to.equal('tok.en.value')
    expect(form.checkValidity()).to.equal(true)
    expect(el.matches(':state(verified)')).to.equal(true)
  })

  it('returns to the phone step when the form is reset', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { form, el } = await mount()
    await reachCodeStep(el)
    expect(el.matches(':state(code-sent)')).to.equal(true)
    form.reset()
    await el.updateComplete
    expect(part(el, 'phone-input')).to.exist
    expect(part<HTMLInputElement>(el, 'phone-input').value).to.equal('')
    expect(new FormData(form).get('phone_token')).to.equal(null)
  })

  it('disables resend with a countdown until resendAfter', async () => {
    server = fakeServer({
      '/v1/verifications': [started(1_500)],
      '/v1/verifications/:id/resend': [
        {
          status: 200,
          body: {
            resendAfter: new Date(Date.now() + 60_000).toISOString(),
            expiresAt: new Date(Date.now() + 600_000).toISOString(),
            attemptsLeft: 5,
          },
        },
      ],
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

  it('says when the network is down, and sends again on retry', async () => {
    server = fakeServer({ '/v1/verifications': ['network-error', started()] })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    const failed = oneEvent(el, 'textgate-error')
    part<HTMLButtonElement>(el, 'submit-button').click()
    expect((await failed).detail.code).to.equal('network_error')
    expect(part(el, 'error').textContent).to.match(/could not reach/i)
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'code-input'))
  })

  it('shows a clear message for a server refusal', async () => {
    server = fakeServer({
      '/v1/verifications': [
        {
          status: 429,
          body: { error: { code: 'rate_limited', message: 'x' } },
          headers: { 'Retry-After': '42' },
        },
      ],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error').textContent?.includes('42 s'))
  })
})
