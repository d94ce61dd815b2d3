import { css, html, LitElement } from 'lit'
import { ApiError, api } from '../api'
import '../components/qr-code'
import { t } from '../strings/en'
import { base } from '../styles'

interface Described {
  email: string
  totpSecret: string
  otpauthUri: string
}

/** The one-time setup link: a password and the authenticator app. The token stays in the URL's fragment. */
export class SetupPage extends LitElement {
  static override properties = {
    described: { state: true },
    error: { state: true },
    done: { state: true },
    busy: { state: true },
  }
  static override styles = [
    base,
    css`:host { display: block; max-width: 34rem; margin: 2rem auto; } input { width: 100%; } .secret { letter-spacing: 0.1em; }`,
  ]
  declare described: Described | undefined
  declare error: string
  declare done: boolean
  declare busy: boolean
  private token = ''

  constructor() {
    super()
    this.error = ''
    this.done = false
    this.busy = false
  }

  override connectedCallback() {
    super.connectedCallback()
    this.token = new URLSearchParams(location.hash.slice(1)).get('token') ?? ''
    if (!this.token) {
      this.error = t.setup.noToken
      return
    }
    api<Described>('POST', '/setup/describe', { token: this.token }).then(
      (described) => {
        this.described = described
      },
      (error) => {
        this.error = error instanceof ApiError ? error.message : String(error)
      },
    )
  }

  private async submit(event: SubmitEvent) {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    const password = String(form.get('password') ?? '')
    if (password !== String(form.get('confirm') ?? '')) {
      this.error = t.setup.mismatch
      return
    }
    this.busy = true
    this.error = ''
    try {
      await api('POST', '/setup', {
        token: this.token,
        password,
        totpSecret: this.described!.totpSecret,
        code: String(form.get('code') ?? '').replace(/\s/g, ''),
      })
      this.done = true
      history.replaceState(null, '', '/console/setup')
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error)
    } finally {
      this.busy = false
    }
  }

  override render() {
    if (this.done) {
      return html`<h1>${t.setup.heading}</h1><p role="status" class="ok">${t.setup.done}</p>
        <a class="button" href="/console/login">${t.setup.toLogin}</a>`
    }
    return html`<h1>${t.setup.heading}</h1>
      ${
        this.described
          ? html`<p>${t.setup.intro(this.described.email)}</p>
            <form @submit=${this.submit}>
              <div class="field"><label for="password">${t.setup.password}</label>
                <input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required aria-describedby="password-help">
                <p id="password-help" class="muted">${t.setup.passwordHelp}</p></div>
              <div class="field"><label for="confirm">${t.setup.confirm}</label>
                <input id="confirm" name="confirm" type="password" autocomplete="new-password" required></div>
              <tg-qr-code .value=${this.described.otpauthUri} label=${t.setup.qrLabel}></tg-qr-code>
              <p>${t.setup.secret}: <code class="secret" data-testid="totp-secret">${this.described.totpSecret}</code></p>
              <div class="field"><label for="code">${t.setup.code}</label>
                <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="7" required></div>
              <button type="submit" ?disabled=${this.busy}>${t.setup.submit}</button>
            </form>`
          : ''
      }
      <p role="alert" class="error">${this.error}</p>`
  }
}
customElements.define('tg-setup-page', SetupPage)

declare global {
  interface HTMLElementTagNameMap {
    'tg-setup-page': SetupPage
  }
}
