import { startRegistration } from '@simplewebauthn/browser'
import { html, LitElement } from 'lit'
import { api } from '../api'
import { formErrors } from '../field-errors'
import { fmt, scrollTable } from '../page'
import { t } from '../strings/en'
import { base } from '../styles'

interface Passkey {
  id: string
  name: string
  createdAt: number
  lastUsedAt: number | null
}

/**
 * The operator's own account: passkeys, added with the browser's WebAuthn prompt, as a second
 * factor besides the authenticator app.
 * @summary The account page.
 */
export class AccountPage extends LitElement {
  static override properties = {
    passkeys: { state: true },
    note: { state: true },
    busy: { state: true },
  }
  static override styles = [base]
  declare passkeys: Passkey[]
  declare note: string
  declare busy: boolean

  constructor() {
    super()
    this.passkeys = []
    this.note = ''
    this.busy = false
  }

  override connectedCallback() {
    super.connectedCallback()
    void this.load()
  }

  private async load() {
    try {
      this.passkeys = (await api<{ passkeys: Passkey[] }>('GET', '/passkeys')).passkeys
    } catch (error) {
      this.note = formErrors(error, {}).summary
    }
  }

  /** Runs a change; a refusal is said as Settings says it (the passkey's name by its label). */
  private async act(run: () => Promise<string>, name = '') {
    this.busy = true
    this.note = ''
    try {
      this.note = await run()
    } catch (error) {
      this.note = formErrors(error, { name: t.account.name }, { name }).summary
    } finally {
      this.busy = false
    }
  }

  private add(event: SubmitEvent) {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const name = String(new FormData(form).get('passkey-name') ?? '').trim()
    void this.act(async () => {
      const { options } = await api<{
        options: Parameters<typeof startRegistration>[0]['optionsJSON']
      }>('POST', '/passkeys/options')
      const response = await startRegistration({ optionsJSON: options })
      await api('POST', '/passkeys', { name, response })
      form.reset()
      await this.load()
      return t.account.added
    }, name)
  }

  private removePasskey(passkey: Passkey) {
    void this.act(async () => {
      await api('DELETE', `/passkeys/${encodeURIComponent(passkey.id)}`)
      await this.load()
      return t.account.removed
    })
  }

  override render() {
    return html`<h1>${t.account.heading}</h1>
      <p role="status" data-testid="account-note">${this.note}</p>
      <section class="card" aria-labelledby="passkeys-h"><h2 id="passkeys-h">${t.account.passkeys}</h2>
        <p class="muted">${t.account.passkeysHelp}</p>
        ${
          this.passkeys.length
            ? scrollTable(
                t.account.passkeys,
                html`<table data-testid="passkeys"><thead><tr><th scope="col">${t.account.nameColumn}</th><th scope="col">${t.account.created}</th>
                <th scope="col">${t.account.lastUsed}</th><th scope="col"><span class="visually-hidden">${t.app.actions}</span></th></tr></thead>
                <tbody>${this.passkeys.map(
                  (p) => html`<tr><td>${p.name}</td><td>${fmt.time(p.createdAt)}</td>
                    <td>${p.lastUsedAt ? fmt.time(p.lastUsedAt) : t.account.never}</td>
                    <td><button type="button" class="danger" aria-label=${t.account.removeLabel(p.name)}
                      @click=${() => this.removePasskey(p)}>${t.account.remove}</button></td></tr>`,
                )}</tbody></table>`,
              )
            : html`<p>${t.account.none}</p>`
        }
        <form class="row" @submit=${this.add}>
          <div class="grow"><label for="passkey-name">${t.account.name}</label>
            <input id="passkey-name" name="passkey-name" required maxlength="60"></div>
          <button type="submit" ?disabled=${this.busy}>${t.account.add}</button>
        </form>
      </section>`
  }
}
customElements.define('tg-account-page', AccountPage)

declare global {
  interface HTMLElementTagNameMap {
    'tg-account-page': AccountPage
  }
}
