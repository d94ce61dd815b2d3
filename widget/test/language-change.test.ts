/// <reference types="mocha" />
// The element's lang or the page's <html lang> changes in the middle of a flow: on the code step,
// with a message shown, or while a request is under way. Everything on screen takes the new
// language at once; nothing the shopper did is lost and nothing is sent again.
import { expect, waitUntil } from '@open-wc/testing'
import { loadTranslation } from '../src/i18n'
import de from '../src/translations/de'
import fr from '../src/translations/fr'
import {
  fakeServer,
  fillPhone,
  mount,
  part,
  reachCodeStep,
  refusal,
  resent,
  started,
  type,
} from './helpers'

/** A part's text as read: whitespace collapsed. */
const text = (el: HTMLElement, name: string) =>
  part(el, name).textContent!.replace(/\s+/g, ' ').trim()
/** The number as the status line shows it, isolated left to right. */
const SHOWN = '\u2066+44 7400 123123\u2069'

describe('a language change in the middle of a flow', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => {
    server?.restore()
    document.documentElement.setAttribute('lang', 'en')
  })

  it('re-words the code step, its error and its countdown, keeping the step as it was', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [refusal(400, 'incorrect_code', { attemptsLeft: 4 })],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    type(part<HTMLInputElement>(el, 'code-input'), '111111')
    await waitUntil(() => part(el, 'error').textContent?.includes('4 attempts left'))
    const calls = server.calls.length

    el.setAttribute('lang', 'fr')
    await waitUntil(() => text(el, 'submit-button') === fr.verify, 'never French')
    await el.updateComplete
    expect(text(el, 'status')).to.equal(fr.codeSentTo(SHOWN))
    expect(text(el, 'error')).to.equal(`${fr.errors.incorrect_code} ${fr.attemptsLeft(4)}`)
    expect(el.validationMessage).to.equal(text(el, 'error'))
    expect(el.shadowRoot!.querySelector('label[for="code"]')!.textContent).to.equal(fr.codeLabel(6))
    expect(text(el, 'resend-button')).to.match(/^Nouveau code dans \d+ s$/)
    expect(part(el, 'code-input').getAttribute('aria-invalid')).to.equal('true')
    expect(part(el, 'base').getAttribute('lang')).to.equal('fr')
    expect(server.calls.length, 'requests sent').to.equal(calls)
  })

  it('to a language not loaded yet, from <html lang>: no blank or mixed text, then right to left', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el } = await mount()
    await reachCodeStep(el)
    const code = part<HTMLInputElement>(el, 'code-input')
    type(code, '12')
    await el.updateComplete
    const hint = () => el.shadowRoot!.querySelector('.hint')!.textContent!
    // Every render while the texts load: no part blank, the clock in the texts' language.
    const seen: string[] = []
    const watch = new MutationObserver(() => {
      for (const name of ['submit-button', 'status', 'resend-button', 'change-button']) {
        if (!text(el, name)) seen.push(`${name} blank`)
      }
      if (text(el, 'submit-button') === 'Verify' && /[\u0600-\u06ff]/.test(hint()))
        seen.push(`mixed: ${hint()}`)
    })
    watch.observe(el.shadowRoot!, { subtree: true, childList: true, characterData: true })

    document.documentElement.lang = 'ar'
    await Promise.resolve() // The lang observer's turn; the chunk is still on its way.
    el.requestUpdate()
    await el.updateComplete
    await waitUntil(() => part(el, 'base').getAttribute('dir') === 'rtl', 'never right to left')
    await el.updateComplete
    watch.disconnect()

    const ar = await loadTranslation('ar')
    expect(seen).to.deep.equal([])
    expect(getComputedStyle(part(el, 'base')).direction).to.equal('rtl')
    expect(text(el, 'submit-button')).to.equal(ar.verify)
    expect(text(el, 'status')).to.equal(ar.codeSentTo(SHOWN))
    expect(hint()).to.match(/[\u0600-\u06ff]/)
    expect(part<HTMLInputElement>(el, 'code-input').value).to.equal('12')
    expect(part<HTMLButtonElement>(el, 'resend-button').disabled).to.equal(true)
    expect(el.matches(':state(code-sent)')).to.equal(true)
    expect(server.calls.length).to.equal(1)
  })

  it('while Send waits for the server: its answer lands in the new language, sent once', async () => {
    let reply!: () => void
    server = fakeServer({
      '/v1/verifications': [{ ...started(), after: new Promise<void>((r) => (reply = r)) }],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => text(el, 'submit-button') === 'Sending…')
    el.lang = 'de'
    await waitUntil(() => text(el, 'submit-button') === de.sending, 'Sending… never German')
    reply()
    await waitUntil(() => el.matches(':state(code-sent)'))
    await el.updateComplete
    expect(text(el, 'status')).to.equal(de.codeSentTo(SHOWN))
    expect(server.calls.length).to.equal(1)
  })

  it('re-words the phone step’s messages and names, keeping the number and the consent', async () => {
    const { el } = await mount()
    await fillPhone(el, '07400 12', false)
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error'))
    await el.updateComplete
    expect(text(el, 'error')).to.equal('This is not a valid phone number.')
    el.lang = 'fr'
    await waitUntil(() => text(el, 'submit-button') === fr.sendCode, 'never French')
    await el.updateComplete
    expect(text(el, 'error')).to.equal(fr.phoneErrors.invalid)
    expect(el.validationMessage).to.equal(fr.phoneErrors.invalid)
    expect(text(el, 'country-button')).to.contain(fr.countryButton('Royaume-Uni'))
    expect(part<HTMLInputElement>(el, 'phone-input').value).to.equal('07400 12')

    el.lang = 'en'
    const phone = part<HTMLInputElement>(el, 'phone-input')
    phone.select()
    document.execCommand('insertText', false, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => text(el, 'error') === 'Please accept to receive the code.')
    el.lang = 'de'
    await waitUntil(() => text(el, 'error') === de.consentMissing, 'consent message not German')
    part<HTMLInputElement>(el, 'consent-checkbox').click()
    el.lang = 'fr'
    await waitUntil(() => text(el, 'submit-button') === fr.sendCode)
    expect(part<HTMLInputElement>(el, 'consent-checkbox').checked).to.equal(true)
    expect(part<HTMLInputElement>(el, 'phone-input').value).to.equal('07400 123123')
  })

  it('Try again after a change repeats the very start: same Idempotency-Key and body, one SMS', async () => {
    server = fakeServer({ '/v1/verifications': ['network-error', started()] })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'retry-button'))
    el.lang = 'fr'
    await waitUntil(() => text(el, 'retry-button') === fr.retry, 'Try again never French')
    expect(text(el, 'error')).to.equal(fr.errors.network_error)
    part<HTMLButtonElement>(el, 'retry-button').click()
    await waitUntil(() => el.matches(':state(code-sent)'))
    const [first, second] = server.calls
    expect(second!.headers.get('Idempotency-Key')).to.equal(first!.headers.get('Idempotency-Key'))
    const { signals: _, ...sent } = first!.body as Record<string, unknown>
    expect(second!.body).to.deep.include({ ...sent, locale: 'en' })
    await el.updateComplete
    expect(text(el, 'status')).to.equal(fr.codeSentTo(SHOWN))
  })

  it('Send a new code after a change asks for the code in the new language', async () => {
    server = fakeServer({
      '/v1/verifications': [started(0)],
      '/v1/verifications/:id/resend': [resent()],
    })
    const { el } = await mount()
    await reachCodeStep(el)
    el.lang = 'de'
    await waitUntil(() => text(el, 'resend-button') === de.resend, 'never German')
    part<HTMLButtonElement>(el, 'resend-button').click()
    await waitUntil(() => text(el, 'status').includes(de.newCodeSent), 'no new code')
    const [start, resend] = server.calls
    expect((start!.body as { locale: string }).locale).to.equal('en')
    expect(resend!.url).to.match(/\/v1\/verifications\/ver_abc\/resend$/)
    expect(resend!.body).to.deep.equal({ locale: 'de' })
  })

  it('re-words a rate limit’s countdown', async () => {
    server = fakeServer({
      '/v1/verifications': [{ ...refusal(429, 'rate_limited'), headers: { 'Retry-After': '120' } }],
    })
    const { el } = await mount()
    await fillPhone(el, '07400 123123')
    part<HTMLButtonElement>(el, 'submit-button').click()
    await waitUntil(() => part(el, 'error')?.textContent?.includes('Too many attempts'))
    el.lang = 'fr'
    await waitUntil(() => text(el, 'error').startsWith('Trop de tentatives'), 'never French')
    expect(text(el, 'error')).to.match(/minutes?\.$/)
  })

  it('an open country list takes the new language and stays at its button, now right to left', async () => {
    const { el } = await mount()
    part<HTMLButtonElement>(el, 'country-button').click()
    await el.updateComplete
    const edge = (name: string, side: 'left' | 'right') =>
      Math.round(part(el, name).getBoundingClientRect()[side])
    expect(edge('country-panel', 'left')).to.equal(edge('country-button', 'left'))
    el.lang = 'ar'
    await waitUntil(() => part(el, 'base').getAttribute('dir') === 'rtl', 'never right to left')
    await el.updateComplete
    const ar = await loadTranslation('ar')
    expect(part(el, 'country-search').getAttribute('aria-label')).to.equal(ar.countrySearch)
    expect(part(el, 'country-list').getAttribute('aria-label')).to.equal(ar.countryLabel)
    expect(edge('country-panel', 'right')).to.equal(edge('country-button', 'right'))
  })

  it('follows the lang of a section around it, as HTML inherits it, and its changes', async () => {
    server = fakeServer({ '/v1/verifications': [started()] })
    const { el, form } = await mount()
    const section = document.createElement('section')
    section.lang = 'fr'
    form.parentElement!.append(section)
    section.append(form)
    await waitUntil(() => text(el, 'submit-button') === fr.sendCode, 'never French')
    await reachCodeStep(el)
    section.lang = 'de'
    await waitUntil(() => text(el, 'submit-button') === de.verify, 'never German')
    expect(text(el, 'status')).to.equal(de.codeSentTo(SHOWN))
    // The element's own lang comes first.
    el.lang = 'fr'
    await waitUntil(() => text(el, 'submit-button') === fr.verify, 'own lang not first')
    section.remove()
  })
})
