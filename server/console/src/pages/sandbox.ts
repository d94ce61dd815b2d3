import { html } from 'lit'
import { api } from '../api'
import { formErrors } from '../field-errors'
import { fmt, ProjectPage, scrollTable } from '../page'
import { t } from '../strings/en'

interface Message {
  id: string
  to: string
  body: string
  code: string | null
  createdAt: number
}

const REFRESH_MS = 3000

/** The test inbox (refreshing live), a random test number, a test send, and the plain-language box. */
export class SandboxPage extends ProjectPage {
  static override properties = {
    ...ProjectPage.properties,
    messages: { state: true },
    note: { state: true },
    answer: { state: true },
    copied: { state: true },
  }
  declare messages: Message[]
  declare note: string
  declare answer: unknown
  declare copied: string
  private timer: ReturnType<typeof setInterval> | undefined

  constructor() {
    super()
    this.messages = []
    this.note = ''
    this.copied = ''
  }

  override connectedCallback() {
    super.connectedCallback()
    this.timer = setInterval(() => void this.poll(), REFRESH_MS)
  }

  override disconnectedCallback() {
    super.disconnectedCallback()
    clearInterval(this.timer)
  }

  protected async load() {
    await this.poll()
  }

  private async poll() {
    if (document.hidden || !this.project) return
    try {
      this.messages = (
        await api<{ messages: Message[] }>('GET', `${this.base}/sandbox/inbox`)
      ).messages
    } catch {
      // The next tick tries again; a lasting error shows through refresh().
    }
  }

  /**
   * Runs one form's request; a refusal is said as Settings says it, led by the field's label
   * ("Test number: This is not a valid phone number.").
   */
  private async act(
    field: { name: string; label: string; value: string },
    run: () => Promise<string>,
  ) {
    this.note = ''
    try {
      this.note = await run()
    } catch (error) {
      this.note = formErrors(
        error,
        { [field.name]: field.label },
        { [field.name]: field.value },
        { about: field.name },
      ).summary
    }
  }

  private random(event: SubmitEvent) {
    event.preventDefault()
    const country = String(new FormData(event.target as HTMLFormElement).get('country') ?? 'GB')
    void this.act({ name: 'country', label: t.sandbox.country, value: country }, async () => {
      const { phone } = await api<{ phone: string }>(
        'GET',
        `${this.base}/sandbox/number?country=${encodeURIComponent(country)}`,
      )
      const input = this.renderRoot.querySelector<HTMLInputElement>('#send-phone')
      if (input) input.value = phone
      return phone
    })
  }

  private send(event: SubmitEvent) {
    event.preventDefault()
    const phone = String(new FormData(event.target as HTMLFormElement).get('phone') ?? '')
    void this.act({ name: 'phone', label: t.sandbox.phone, value: phone }, async () => {
      const answer = await api<{ phone: string }>('POST', `${this.base}/sandbox/send`, { phone })
      setTimeout(() => void this.poll(), 500)
      return t.sandbox.sent(answer.phone)
    })
  }

  private ask(event: SubmitEvent) {
    event.preventDefault()
    const text = String(new FormData(event.target as HTMLFormElement).get('text') ?? '')
    void this.act({ name: 'text', label: t.sandbox.askLabel, value: text }, async () => {
      this.answer = await api('POST', `${this.base}/sandbox/ask`, { text })
      setTimeout(() => void this.poll(), 500)
      return ''
    })
  }

  private async copy(message: Message) {
    if (!message.code) return
    try {
      await navigator.clipboard.writeText(message.code)
    } catch {
      // Clipboard refused (no permission): the code is on screen to copy by hand.
    }
    this.copied = `${t.sandbox.copied}: ${message.code}`
  }

  private renderAnswer() {
    const answer = this.answer as
      | {
          intent: { kind: string }
          examples?: string[]
          phone?: string
          messages?: Message[]
          decisions?: unknown[]
          verification?: { id: string }
        }
      | undefined
    if (!answer) return ''
    if (answer.intent.kind === 'unknown') {
      return html`<div class="card" role="status"><p>${t.sandbox.notUnderstood}</p><ul>${answer.examples?.map((e) => html`<li>${e}</li>`)}</ul></div>`
    }
    return html`<div class="card" role="status" data-testid="ask-answer"><p><code>${answer.intent.kind}</code></p>
      ${answer.phone ? html`<p class="mono">${answer.phone}</p>` : ''}
      ${answer.verification ? html`<p>${t.sandbox.sent(answer.phone ?? '')} <code>${answer.verification.id}</code></p>` : ''}
      ${answer.messages ? html`<ul>${answer.messages.map((m) => html`<li>${fmt.time(m.createdAt)} <span class="mono">${m.to}</span>: ${m.body}</li>`)}</ul>` : ''}
      ${answer.decisions ? html`<pre class="mono">${JSON.stringify(answer.decisions, null, 2)}</pre>` : ''}</div>`
  }

  override render() {
    return html`<h1>${t.sandbox.heading}</h1>
      ${this.status()}
      <p role="status" data-testid="sandbox-note">${this.note}</p>
      <div class="grid">
        <section class="card" aria-labelledby="random-h"><h2 id="random-h">${t.sandbox.random}</h2>
          <form class="row" @submit=${this.random}>
            <div><label for="country">${t.sandbox.country}</label><input id="country" name="country" value="GB" size="4" maxlength="2"></div>
            <button type="submit">${t.sandbox.give}</button></form></section>
        <section class="card" aria-labelledby="send-h"><h2 id="send-h">${t.sandbox.send}</h2>
          <form class="row" @submit=${this.send}>
            <div><label for="send-phone">${t.sandbox.phone}</label><input id="send-phone" name="phone" type="tel" required></div>
            <button type="submit">${t.sandbox.sendButton}</button></form></section>
      </div>
      <section class="card" aria-labelledby="ask-h"><h2 id="ask-h">${t.sandbox.ask}</h2>
        <form class="row" @submit=${this.ask}>
          <div class="grow"><label for="ask">${t.sandbox.askLabel}</label><input id="ask" name="text" size="40" aria-describedby="ask-help" required></div>
          <button type="submit">${t.sandbox.askButton}</button></form>
        <p id="ask-help" class="muted">${t.sandbox.askHelp}</p>
        ${this.renderAnswer()}</section>
      <section class="card" aria-labelledby="inbox-h"><h2 id="inbox-h">${t.sandbox.inbox}</h2>
        <p class="muted">${t.sandbox.inboxHelp}</p>
        <p role="status">${this.copied}</p>
        ${scrollTable(
          t.sandbox.inbox,
          html`<table><thead><tr><th scope="col">${t.sandbox.number}</th><th scope="col">${t.sandbox.time}</th>
            <th scope="col">${t.sandbox.text}</th><th scope="col"><span class="visually-hidden">${t.app.actions}</span></th></tr></thead>
          <tbody>${this.messages.map(
            (
              m,
            ) => html`<tr><td class="mono">${m.to}</td><td>${fmt.time(m.createdAt)}</td><td data-testid="inbox-body">${m.body}</td>
              <td>${m.code ? html`<button type="button" class="secondary" aria-label=${t.sandbox.copyLabel(m.to)} @click=${() => this.copy(m)}>${t.sandbox.copy}</button>` : ''}</td></tr>`,
          )}</tbody></table>`,
        )}
      </section>`
  }
}
customElements.define('tg-sandbox-page', SandboxPage)
