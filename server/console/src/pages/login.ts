import { startAuthentication } from '@simplewebauthn/browser'
import { css, html, LitElement } from 'lit'
import { ApiError, api, setCsrf } from '../api'
import { t } from '../strings/en'
import { base } from '../styles'

/**
 * Password, then the authenticator code.
 * @event tg-logged-in - both factors passed.
 */
export class LoginPage extends LitElement {
  static override properties = {
    step: { state: true },
    error: { state: true },
    busy: { state: true },
    passkey: { state: true },
  }
  static override styles = [
    base,
    css`:host { display: block; max-width: 26rem; margin: 2rem auto; } input { width: 100%; }`,
  ]
  declare step: 'password' | 'totp'
  declare error: string
  declare busy: boolean
  /** The operator has a passkey: it may replace the authenticator code. */
  declare passkey: boolean

  constructor() {
    super()
    this.step = 'password'
    this.error = ''
    this.busy = false
    this.passkey = false
  }

  private async withPasskey() {
    this.busy = true
    this.error = ''
    try {
      const { options } = await api<{
        options: Parameters<typeof startAuthentication>[0]['optionsJSON'] | null
      }>('POST', '/login/passkey/options')
      if (!options) throw new ApiError(401, 'invalid_passkey', t.login.totpHelp)
      const response = await startAuthentication({ optionsJSON: options })
      const answer = await api<{ csrfToken: string }>('POST', '/login/passkey', { response })
      setCsrf(answer.csrfToken)
      this.dispatchEvent(new CustomEvent('tg-logged-in', { bubbles: true, composed: true }))
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error)
      if (error instanceof ApiError && error.code === 'unauthenticated') this.step = 'password'
    } finally {
      this.busy = false
    }
  }

  private async submit(event: SubmitEvent) {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    this.busy = true
    this.error = ''
    try {
      if (this.step === 'password') {
        const answer = await api<{ csrfToken: string; passkey?: boolean }>('POST', '/login', {
          email: String(form.get('email') ?? ''),
          password: String(form.get('password') ?? ''),
        })
        setCsrf(answer.csrfToken)
        this.passkey = answer.passkey === true
        this.step = 'totp'
        await this.updateComplete
        this.renderRoot.querySelector<HTMLInputElement>('#totp')?.focus()
      } else {
        const answer = await api<{ csrfToken: string }>('POST', '/login/totp', {
          code: String(form.get('code') ?? '').replace(/\s/g, ''),
        })
        setCsrf(answer.csrfToken)
        this.dispatchEvent(new CustomEvent('tg-logged-in', { bubbles: true, composed: true }))
      }
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error)
      if (error instanceof ApiError && error.code === 'unauthenticated') this.step = 'password'
    } finally {
      this.busy = false
    }
  }

  override render() {
    return html`<h1>${this.step === 'password' ? t.login.heading : t.login.totpHeading}</h1>
      <form @submit=${this.submit} novalidate>
        ${
          this.step === 'password'
            ? html`<div class="field"><label for="email">${t.login.email}</label>
                <input id="email" name="email" type="email" autocomplete="username" required></div>
              <div class="field"><label for="password">${t.login.password}</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required></div>
              <button type="submit" ?disabled=${this.busy}>${t.login.submit}</button>`
            : html`<p id="totp-help">${t.login.totpHelp}</p>
              <div class="field"><label for="totp">${t.login.totp}</label>
                <input id="totp" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*"
                  maxlength="7" aria-describedby="totp-help" required></div>
              <div class="row"><button type="submit" ?disabled=${this.busy}>${t.login.verify}</button>
              <button type="button" class="secondary" @click=${() => {
                this.step = 'password'
                this.error = ''
              }}>${t.login.back}</button></div>
              ${
                this.passkey
                  ? html`<p><button type="button" class="secondary" ?disabled=${this.busy}
                      @click=${() => this.withPasskey()}>${t.login.usePasskey}</button></p>`
                  : ''
              }`
        }
        <p role="alert" class="error">${this.error}</p>
      </form>`
  }
}
customElements.define('tg-login-page', LoginPage)

declare global {
  interface HTMLElementTagNameMap {
    'tg-login-page': LoginPage
  }
}
