/// <reference types="mocha" />
// Issue 9's caller signals, the widget side: what the start body carries in `signals`.
import { expect, waitUntil } from '@open-wc/testing'
import { sendKeys } from '@web/test-runner-commands'
import { DEVICE_KEY } from '../src/controllers/signals'
import { fakeServer, insertText, mount, part, started } from './helpers'

type Signals = Record<string, unknown>

async function send(el: HTMLElement, server: ReturnType<typeof fakeServer>): Promise<Signals> {
  part<HTMLInputElement>(el, 'consent-checkbox').click()
  part<HTMLButtonElement>(el, 'submit-button').click()
  await waitUntil(() => server.calls.length > 0, 'no start sent')
  return (server.calls[0]!.body as { signals: Signals }).signals
}

describe('caller signals in the start body', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it('typed key by key: entry, keys, focuses, shownMs, visible, webdriver, a stable deviceId', async () => {
    localStorage.removeItem(DEVICE_KEY)
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount()
    const input = part<HTMLInputElement>(el, 'phone-input')
    input.focus()
    await sendKeys({ type: '07400123123' })
    await new Promise((resolve) => setTimeout(resolve, 120))
    const signals = await send(el, server)
    expect(signals.entry).to.equal('typed')
    expect(signals.keys).to.equal(11)
    expect(signals.focuses).to.equal(1)
    expect(signals.shownMs).to.be.a('number').and.at.least(100)
    expect(Number.isInteger(signals.shownMs)).to.equal(true)
    expect(signals.visible).to.equal(true)
    expect(signals.webdriver).to.equal(navigator.webdriver === true)
    expect(signals.deviceId).to.match(/^[A-Za-z0-9_-]{16,64}$/)
    expect(localStorage.getItem(DEVICE_KEY)).to.equal(signals.deviceId)
    // The same browser keeps its id.
    server.restore()
    server = fakeServer({ '/v1/verifications': [started()] })
    const second = (await mount()).el
    insertText(part<HTMLInputElement>(second, 'phone-input'), '07400 123123')
    expect((await send(second, server)).deviceId).to.equal(signals.deviceId)
  })

  it('pasted, autofilled and mixed entries', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const pasted = (await mount()).el
    const field = part<HTMLInputElement>(pasted, 'phone-input')
    field.focus()
    field.dispatchEvent(new InputEvent('input', { inputType: 'insertFromPaste' }))
    insertText(field, '07400 123123')
    expect((await send(pasted, server)).entry).to.equal('mixed')

    server.restore()
    server = fakeServer({ '/v1/verifications': [started()] })
    const autofilled = (await mount()).el
    const auto = part<HTMLInputElement>(autofilled, 'phone-input')
    auto.value = '07400 123123'
    auto.dispatchEvent(new Event('input', { bubbles: true }))
    const signals = await send(autofilled, server)
    expect(signals.entry).to.equal('autofilled')
    expect(signals.keys).to.equal(0)
    expect(signals.focuses).to.equal(0)

    server.restore()
    server = fakeServer({ '/v1/verifications': [started()] })
    const paste = (await mount()).el
    const p = part<HTMLInputElement>(paste, 'phone-input')
    p.value = '07400 123123'
    p.dispatchEvent(new InputEvent('input', { inputType: 'insertFromPaste', bubbles: true }))
    expect((await send(paste, server)).entry).to.equal('pasted')
  })

  it('without storage there is no deviceId, and the start still goes', async () => {
    const getItem = Storage.prototype.getItem
    Storage.prototype.getItem = () => {
      throw new DOMException('blocked', 'SecurityError')
    }
    try {
      server = fakeServer({ '/v1/verifications': [started()] })
      const { el } = await mount()
      insertText(part<HTMLInputElement>(el, 'phone-input'), '07400 123123')
      const signals = await send(el, server)
      expect(signals).to.not.have.property('deviceId')
      expect(signals.entry).to.equal('typed')
    } finally {
      Storage.prototype.getItem = getItem
    }
  })
})
