/// <reference types="mocha" />
import { expect, fixture, oneEvent, waitUntil } from '@open-wc/testing'
import type { TextgateVerify } from '../src/textgate-verify'
import { approved, fakeServer, mount, part, reachCodeStep, started, type } from './helpers'

const marketingBox = (el: TextgateVerify) =>
  el.shadowRoot!.querySelector<HTMLInputElement>('[part~="marketing-checkbox"]')

/** What submitting the form sends: requestSubmit (validation included), then its entries. */
async function submitted(form: HTMLFormElement): Promise<[string, string][]> {
  const data = new Promise<FormData>((resolve) =>
    form.addEventListener(
      'submit',
      (event) => {
        event.preventDefault()
        resolve(new FormData(form, event.submitter))
      },
      { once: true },
    ),
  )
  form.requestSubmit()
  return [...(await data).entries()].map(([k, v]) => [k, String(v)])
}

async function verify(el: TextgateVerify) {
  await reachCodeStep(el)
  const verified = oneEvent(el, 'textgate-verified')
  type(part<HTMLInputElement>(el, 'code-input'), '123456')
  return (await verified).detail
}

describe('marketing opt-in', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it('is not offered without marketing-text or a marketing slot', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const { form, el } = await mount()
    expect(marketingBox(el)).to.equal(null)
    await verify(el)
    expect((server.calls[0]!.body as { consent: object }).consent).to.deep.equal({
      accepted: true,
      version: 'v1',
    })
    expect(await submitted(form)).to.deep.equal([['phone_token', 'tok.en.value']])
  })

  it('is a separate checkbox, never pre-ticked; unticked, the form sends the token alone', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const { form, el } = await mount('default-country="GB" marketing-text="Send me offers"')
    const box = marketingBox(el)!
    expect(box.checked).to.equal(false)
    expect(box.closest('[part~="marketing"]')!.textContent).to.contain('Send me offers')
    expect(box).to.not.equal(part(el, 'consent-checkbox'))
    const detail = await verify(el)
    expect(detail.marketing).to.equal(false)
    expect((server.calls[0]!.body as { consent: object }).consent).to.deep.equal({
      accepted: true,
      version: 'v1',
      marketing: false,
    })
    expect(await submitted(form)).to.deep.equal([['phone_token', 'tok.en.value']])
  })

  it('ticked, goes to the server with the start, in the event and in the form submission', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const { form, el } = await mount('default-country="GB" marketing-text="Send me offers"')
    marketingBox(el)!.click()
    const detail = await verify(el)
    expect((server.calls[0]!.body as { consent: object }).consent).to.deep.equal({
      accepted: true,
      version: 'v1',
      marketing: true,
    })
    expect(detail).to.include({ token: 'tok.en.value', marketing: true })
    expect(await submitted(form)).to.deep.equal([
      ['phone_token', 'tok.en.value'],
      ['phone_token_marketing', 'yes'],
    ])
    expect(el.value).to.equal('tok.en.value')
    // Starting again forgets the opt-in.
    el.reset()
    await el.updateComplete
    expect(marketingBox(el)!.checked).to.equal(false)
    expect([...new FormData(form).keys()]).to.deep.equal([])
    expect(form.checkValidity()).to.equal(false)
  })

  it('takes its label from the marketing slot, with the store’s own link', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const form = await fixture<HTMLFormElement>(
      `<form><textgate-verify publishable-key="pk_test_x" server="https://verify.example" name="phone_token" default-country="GB"><span slot="marketing">Send me <a href="/offers">offers</a></span></textgate-verify></form>`,
    )
    const el = form.querySelector('textgate-verify')!
    await el.updateComplete
    await waitUntil(() => marketingBox(el), 'the slot did not show the checkbox')
    const slot = el.shadowRoot!.querySelector<HTMLSlotElement>('slot[name="marketing"]')!
    expect(slot.assignedElements()[0]!.textContent).to.equal('Send me offers')
    expect(marketingBox(el)!.checked).to.equal(false)
  })
})
