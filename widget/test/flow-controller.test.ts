/// <reference types="mocha" />
// The flow controller (src/controllers/flow.ts) on its own, on a bare host: the checks before a
// start, the step transitions, the failures (Try again, wrong code, terminal) and where focus goes.
import { expect } from '@open-wc/testing'
import { createClient } from '../src/api/client'
import { VerificationSession } from '../src/api/session'
import { CountdownController } from '../src/controllers/countdown'
import { FlowController } from '../src/controllers/flow'
import { ProblemController } from '../src/controllers/problem'
import type { TextgateStepDetail } from '../src/events'
import { PhoneField } from '../src/phone/field'
import en from '../src/translations/en'
import { approved, fakeServer, refusal, started } from './helpers'

/** A host element without Lit: it records updates and events, and holds stand-ins for parts. */
function setup(options: { marketingOffered?: boolean } = {}) {
  const host = Object.assign(document.createElement('div'), {
    updates: 0,
    addController: () => {},
    removeController: () => {},
    requestUpdate: () => host.updates++,
    updateComplete: Promise.resolve(true),
  })
  host.innerHTML = `<input part="phone-input"><input part="consent-checkbox" type="checkbox">
    <input part="code-input"><button part="retry-button"></button>
    <button part="change-button"></button><p part="done" tabindex="-1"></p>`
  document.body.append(host)
  const events: CustomEvent[] = []
  for (const type of ['textgate-step', 'textgate-verified', 'textgate-error']) {
    host.addEventListener(type, (event) => events.push(event as CustomEvent))
  }
  const clock = new CountdownController(host)
  const problem = new ProblemController(host, clock, () => en)
  const phone = new PhoneField(host, () => null)
  const client = () =>
    createClient({ server: 'https://verify.example', publishableKey: 'pk_test_x' })
  const session = new VerificationSession(host, client)
  let resets = 0
  const flow = new FlowController(host, {
    texts: () => en,
    phone,
    session,
    problem,
    clock,
    startOptions: () => ({ consentVersion: 'tos-1', captchaToken: undefined, signals: {} }),
    marketingOffered: () => options.marketingOffered ?? false,
    part: (name) => host.querySelector(`[part~="${name}"]`),
    onReset: () => resets++,
  })
  phone.detect('GB')
  const focusedPart = () => document.activeElement?.getAttribute('part')
  const tick = (target: Partial<HTMLInputElement>) => ({ target }) as unknown as Event
  const teardown = () => {
    clock.stop()
    host.remove()
  }
  return {
    host,
    flow,
    phone,
    problem,
    session,
    events,
    focusedPart,
    tick,
    resets: () => resets,
    teardown,
  }
}

describe('flow controller', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  let done: (() => void) | undefined
  afterEach(() => {
    server?.restore()
    done?.()
  })

  it('checks the number, then the consent, before sending anything', async () => {
    server = fakeServer({})
    const { flow, phone, problem, focusedPart, tick, teardown } = setup()
    done = teardown
    phone.text = '07400 12'
    await flow.send()
    expect([flow.step, problem.at, focusedPart()]).to.deep.equal(['phone', 'phone', 'phone-input'])
    expect(Object.values(en.phoneErrors)).to.include(problem.message)
    phone.text = '07400 123123'
    await flow.send()
    expect([problem.at, problem.message]).to.deep.equal(['consent', en.consentMissing])
    expect(focusedPart()).to.equal('consent-checkbox')
    flow.setConsent(tick({ checked: true }))
    expect([flow.consent, problem.message]).to.deep.equal([true, ''])
    expect(server.calls).to.have.length(0)
  })

  it('sends, announces the code step once rendered, and verifies a code at full length', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const { flow, phone, host, events, focusedPart, tick, teardown } = setup()
    done = teardown
    flow.hostUpdated() // The first render: the phone step.
    phone.text = '07400 123123'
    flow.setConsent(tick({ checked: true }))
    flow.setMarketing(tick({ checked: true }))
    const updates = host.updates
    await flow.send()
    expect(host.updates).to.be.greaterThan(updates)
    expect(server.calls[0]!.body).to.deep.include({
      phone: '+447400123123',
      consent: { accepted: true, version: 'tos-1' }, // Marketing not offered: not sent.
      locale: 'en',
    })
    expect([flow.step, flow.busy, flow.codeText]).to.deep.equal(['code', false, ''])
    expect(flow.status).to.equal(en.codeSentTo('\u2066+44 7400 123123\u2069'))
    expect(focusedPart()).to.equal('code-input')
    const steps = () =>
      events.filter((e) => e.type === 'textgate-step').map((e) => e.detail as TextgateStepDetail)
    expect(steps()).to.deep.equal([{ step: 'phone' }])
    flow.hostUpdated()
    flow.hostUpdated()
    expect(steps()).to.deep.equal([{ step: 'phone' }, { step: 'code', phone: '+447400123123' }])

    flow.setCode('１２３-４５６') // Full-width digits and a dash: checked at once.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(server.calls.at(-1)!.body).to.deep.equal({ code: '123456' })
    expect([flow.step, flow.status]).to.deep.equal(['done', ''])
    expect(events.find((e) => e.type === 'textgate-verified')!.detail).to.deep.equal({
      token: 'tok.en.value',
      phone: '+447400123123',
      verificationId: 'ver_abc',
      marketing: false,
    })
    expect(focusedPart()).to.equal('done')
  })

  it('a network failure stays on the phone step with Try again, which repeats the start', async () => {
    server = fakeServer({ '/v1/verifications': ['network-error', started()] })
    const { flow, phone, problem, events, focusedPart, tick, teardown } = setup({
      marketingOffered: true,
    })
    done = teardown
    phone.text = '07400 123123'
    flow.setConsent(tick({ checked: true }))
    await flow.send()
    expect([flow.step, flow.busy, problem.at]).to.deep.equal(['phone', false, 'phone'])
    expect(events.map((e) => e.type)).to.deep.equal(['textgate-error'])
    expect(events[0]!.detail.code).to.equal('network_error')
    expect(focusedPart()).to.equal('retry-button')
    await problem.onRetry()
    expect(flow.step).to.equal('code')
    expect((server.calls[1]!.body as { consent: unknown }).consent).to.deep.equal({
      accepted: true,
      version: 'tos-1',
      marketing: false,
    })
  })

  it('a wrong code empties the field; a terminal refusal leaves only Start again', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [
        refusal(400, 'incorrect_code', { attemptsLeft: 4 }),
        refusal(410, 'verification_expired'),
      ],
      '/v1/verifications/:id/resend': [{ status: 200, body: { attemptsLeft: 3 } }],
    })
    const { flow, phone, problem, session, focusedPart, tick, resets, teardown } = setup()
    done = teardown
    phone.text = '07400 123123'
    flow.setConsent(tick({ checked: true }))
    await flow.send()
    await flow.resend()
    expect(flow.status).to.equal(
      `${en.codeSentTo('\u2066+44 7400 123123\u2069')} ${en.newCodeSent}`,
    )
    expect(focusedPart()).to.equal('code-input')
    flow.codeInput(tick({ value: '1234' }))
    await flow.check()
    expect(problem.at).to.equal('code') // Too short: nothing sent.
    expect(server.calls).to.have.length(2)
    flow.codeInput(tick({ value: '111111' }))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect([flow.codeText, problem.message]).to.deep.equal([
      '',
      `${en.errors.incorrect_code} ${en.attemptsLeft(4)}`,
    ])
    flow.codeInput(tick({ value: '222222' }))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect([flow.step, problem.terminal]).to.deep.equal(['code', true])
    expect(focusedPart()).to.equal('change-button')
    await flow.check()
    expect(server.calls).to.have.length(4) // Nothing more after the end.
    await flow.change()
    expect([flow.step, flow.consent, flow.codeText, problem.message]).to.deep.equal([
      'phone',
      false,
      '',
      '',
    ])
    expect([session.pending, resets(), phone.text]).to.deep.equal([undefined, 1, '07400 123123'])
    expect(focusedPart()).to.equal('phone-input')
  })
})
