/// <reference types="mocha" />
// Round 2 defect 15: if widget.js never runs, the documented fallback keeps the form from posting;
// when it runs, the element takes the fallback away.
import { expect, fixture, oneEvent, waitUntil } from '@open-wc/testing'
import type { TextgateVerify } from '../src/textgate-verify'
import { approved, fakeServer, insertText, part, started } from './helpers'

const MARKUP = `<form action="javascript:void 0">
  <textgate-verify publishable-key="pk_test_x" server="https://verify.example" name="phone_token" required default-country="GB">
    <span slot="consent">I agree to receive a code by text.</span>
    <p data-textgate-fallback>Phone verification could not load. Check your connection and reload the page.</p>
    <input data-textgate-fallback name="phone_token" required hidden>
  </textgate-verify>
  <button>Register</button>
</form>`

describe('the fallback when widget.js never runs (round 2, defect 15)', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it('without the script, the message shows and the form cannot be submitted', async () => {
    // A page where the widget script failed to load: the element is never defined.
    const frame = document.createElement('iframe')
    const loaded = oneEvent(frame, 'load')
    frame.srcdoc = `<!doctype html><body>${MARKUP}</body>`
    document.body.append(frame)
    await loaded
    const page = frame.contentDocument!
    expect(page.defaultView!.customElements.get('textgate-verify')).to.equal(undefined)
    const form = page.querySelector('form')!
    const message = page.querySelector('p[data-textgate-fallback]') as HTMLElement
    expect(message.offsetHeight).to.be.greaterThan(0)
    let submitted = false
    form.addEventListener('submit', () => {
      submitted = true
    })
    expect(form.checkValidity()).to.equal(false)
    form.querySelector('button')!.click()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(submitted).to.equal(false)
    frame.remove()
  })

  it('with the script, the element removes the fallback and its own validity rules', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const form = await fixture<HTMLFormElement>(MARKUP)
    const el = form.querySelector('textgate-verify') as TextgateVerify
    await el.updateComplete
    expect(el.querySelector('[data-textgate-fallback]')).to.equal(null)
    expect([...form.elements].map((e) => e.localName)).to.deep.equal(['textgate-verify', 'button'])
    expect(form.checkValidity()).to.equal(false) // required, not verified yet
    insertText(part<HTMLInputElement>(el, 'phone-input'), '07400 123123')
    part<HTMLInputElement>(el, 'consent-checkbox').click()
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'code-input'))
    insertText(part<HTMLInputElement>(el, 'code-input'), '123456')
    await waitUntil(() => el.value)
    expect(form.checkValidity()).to.equal(true)
    expect(new FormData(form).getAll('phone_token')).to.deep.equal(['tok.en.value'])
  })
})
