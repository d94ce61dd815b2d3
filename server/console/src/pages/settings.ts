import { html, nothing } from 'lit'
import { api } from '../api'
import { formErrors } from '../field-errors'
import { fmt, ProjectPage, scrollTable } from '../page'
import { t } from '../strings/en'

interface Settings {
  name: string
  brand: string
  allowedOrigins: string[]
  allowedCountries: string[] | null
  codeLength: number
  consentVersions: string[] | null
  ipAllowlist: string[]
}
interface Key {
  id: string
  kind: string
  mode: string
  prefix: string
  createdAt: string
  revokedAt: string | null
  lastUsedAt: string | null
}

/** A token signing key (public half), as GET settings/signing-keys lists it. */
interface SigningKey {
  kid: string
  createdAt: string
  retiredAt: string | null
  withdrawnAt: string | null
  signsFrom: string
  current: boolean
  /** Published, signing from signsFrom (a rotation waiting for caches of the JWKS). */
  next: boolean
  published: boolean
}

/** A webhook endpoint as GET webhooks lists it (its URL without the query). */
interface WebhookEndpoint {
  id: string
  url: string
  mode: string
  enabled: boolean
  disabledReason: string | null
  heldUntil: string | null
  /** Earlier secrets that still sign too, newest first. */
  previousSecrets: { expiresAt: string }[]
}

const at = (iso: string | null) => (iso === null ? null : Date.parse(iso))
interface Operator {
  id: string
  email: string
  role: string
  allProjects: boolean
  pending: boolean
  /** Cut off by `pnpm textgate operators disable` (roles kept). */
  disabled: boolean
}

/** The form field of each setting the API names (its id in the page). */
const FIELD_IDS: Record<string, string> = {
  allowedOrigins: 'origins',
  allowedCountries: 'countries',
  email: 'invite-email',
  role: 'invite-role',
}

const lines = (text: string) =>
  text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean)

export class SettingsPage extends ProjectPage {
  static override properties = {
    ...ProjectPage.properties,
    settings: { state: true },
    keys: { state: true },
    signingKeys: { state: true },
    webhooks: { state: true },
    operators: { state: true },
    message: { state: true },
    newKeys: { state: true },
    rotatedKey: { state: true },
    link: { state: true },
    invalid: { state: true },
  }
  declare settings: Settings | undefined
  declare keys: Key[]
  declare signingKeys: SigningKey[] | undefined
  declare webhooks: WebhookEndpoint[] | undefined
  declare operators: Operator[] | undefined
  declare message: string
  declare newKeys: { publishableKey: string; secretKey: string } | undefined
  declare rotatedKey: string | undefined
  declare link: string
  /** What the API refused in a form, per field (its API name), without the field's name. */
  declare invalid: Record<string, string>

  constructor() {
    super()
    this.keys = []
    this.message = ''
    this.link = ''
    this.invalid = {}
  }

  protected async load() {
    this.settings = await api<Settings>('GET', `${this.base}/settings`)
    this.keys = (await api<{ keys: Key[] }>('GET', `${this.base}/settings/keys`)).keys
    this.signingKeys = this.project.everyProjectOwner
      ? (await api<{ keys: SigningKey[] }>('GET', `${this.base}/settings/signing-keys`)).keys
      : undefined
    this.webhooks = this.can('keys.read')
      ? (await api<{ endpoints: WebhookEndpoint[] }>('GET', `${this.base}/webhooks`)).endpoints
      : undefined
    this.operators = this.can('operators.manage')
      ? (await api<{ operators: Operator[] }>('GET', `${this.base}/settings/operators`)).operators
      : undefined
  }

  /**
   * Runs a change; a refusal is said with the labels of `form`'s fields (the API's names → their
   * label text), each at its field, and the first field refused gets the focus.
   */
  private async act(
    run: () => Promise<string | undefined>,
    form: { labels: Record<string, string>; sent: Record<string, unknown> } = {
      labels: {},
      sent: {},
    },
  ) {
    this.message = ''
    this.invalid = {}
    try {
      const said = await run()
      this.message = said ?? t.settings.saved
    } catch (error) {
      const { fields, summary } = formErrors(error, form.labels, form.sent)
      this.invalid = fields
      this.message = summary
      const first = Object.keys(fields)[0]
      if (first) {
        await this.updateComplete
        this.renderRoot.querySelector<HTMLElement>(`#${FIELD_IDS[first] ?? first}`)?.focus()
      }
    }
  }

  /** Its error message under it, tied to it (`aria-describedby`), when the API refused it. */
  private fieldError(field: string) {
    const text = this.invalid[field]
    return text
      ? html`<p class="error field-error" id=${`${FIELD_IDS[field] ?? field}-error`}>${text}</p>`
      : ''
  }

  private describedBy(field: string) {
    return this.invalid[field] ? `${FIELD_IDS[field] ?? field}-error` : undefined
  }

  private save(event: SubmitEvent) {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    const sent = {
      name: String(form.get('name')),
      brand: String(form.get('brand')),
      allowedOrigins: lines(String(form.get('origins'))),
      allowedCountries: lines(String(form.get('countries'))),
      codeLength: Number(form.get('codeLength')),
      consentVersions: lines(String(form.get('consentVersions'))),
      ipAllowlist: lines(String(form.get('ipAllowlist'))),
    }
    void this.act(
      async () => {
        this.settings = await api<Settings>('PUT', `${this.base}/settings`, sent)
        return undefined
      },
      {
        labels: {
          name: t.settings.name,
          brand: t.settings.brand,
          codeLength: t.settings.codeLength,
          allowedOrigins: t.settings.origins,
          allowedCountries: t.settings.countries,
          consentVersions: t.settings.consentVersions,
          ipAllowlist: t.settings.ipAllowlist,
        },
        sent,
      },
    )
  }

  private createKeys(mode: 'test' | 'live') {
    void this.act(async () => {
      this.newKeys = await api('POST', `${this.base}/settings/keys`, { mode })
      await this.load()
      return t.settings.newKeys
    })
  }

  private revoke(key: Key) {
    if (!confirm(t.settings.confirmRevoke(key.prefix))) return
    void this.act(async () => {
      await api('POST', `${this.base}/settings/keys/${key.id}/revoke`)
      await this.load()
    })
  }

  private rotate(key: Key) {
    void this.act(async () => {
      this.rotatedKey = (
        await api<{ key: string }>('POST', `${this.base}/settings/keys/${key.id}/rotate`, {})
      ).key
      await this.load()
      return t.settings.rotatedKey
    })
  }

  private rotateSigning(publishFirst: boolean) {
    void this.act(async () => {
      const { kid, signsFrom } = await api<{ kid: string; signsFrom: string }>(
        'POST',
        `${this.base}/settings/signing-key/rotate`,
        { publishFirst },
      )
      await this.load()
      return publishFirst
        ? t.settings.rotated(kid, fmt.time(at(signsFrom)))
        : t.settings.rotatedNow(kid)
    })
  }

  /**
   * A compromised key: out of the JWKS now; the one that signs goes with a new key, or with the
   * next key taking over when a rotation waits.
   */
  private withdrawSigning(key: SigningKey) {
    const rotate = this.needsNewKey(key)
    const waiting = (this.signingKeys ?? []).some((k) => k.next)
    const then = rotate ? 'new' : key.current && waiting ? 'next' : key.next ? 'cancel' : 'none'
    if (!confirm(t.settings.confirmWithdraw(key.kid, then))) return
    void this.act(async () => {
      const { currentKid } = await api<{ currentKid: string }>(
        'POST',
        `${this.base}/settings/signing-keys/${encodeURIComponent(key.kid)}/withdraw`,
        { rotate },
      )
      await this.load()
      return t.settings.withdrawn(key.kid, currentKid)
    })
  }

  /** Its accessible name is the visible text and the kid (WCAG 2.5.3: the name holds the label). */
  private needsNewKey(key: SigningKey) {
    return key.current && !(this.signingKeys ?? []).some((k) => k.next)
  }

  private withdrawButton(key: SigningKey) {
    const text = this.needsNewKey(key) ? t.settings.withdrawCurrent : t.settings.withdraw
    return html`<button type="button" class="danger" aria-label=${`${text} ${key.kid}`} @click=${() => this.withdrawSigning(key)}>${text}</button>`
  }

  private webhookState(endpoint: WebhookEndpoint) {
    if (!endpoint.enabled) return t.settings.webhookDisabled(endpoint.disabledReason ?? 'manual')
    return endpoint.heldUntil
      ? t.settings.heldUntil(fmt.time(at(endpoint.heldUntil)))
      : t.settings.webhookActive
  }

  private webhooksCard(endpoints: WebhookEndpoint[]) {
    return html`<section class="card" aria-labelledby="webhooks-h"><h2 id="webhooks-h">${t.settings.webhooks}</h2>
      ${
        endpoints.length === 0
          ? html`<p class="muted">${t.settings.noWebhooks}</p>`
          : scrollTable(
              t.settings.webhooks,
              html`<table><thead><tr><th scope="col">${t.settings.webhookUrl}</th><th scope="col">${t.settings.mode}</th>
                <th scope="col">${t.settings.state}</th><th scope="col">${t.settings.earlierSecrets}</th></tr></thead>
              <tbody>${endpoints.map(
                (
                  e,
                ) => html`<tr data-testid="webhook-endpoint"><td><code>${e.url}</code></td><td>${e.mode}</td><td>${this.webhookState(e)}</td>
                  <td>${
                    e.previousSecrets.length === 0
                      ? t.settings.currentSecretOnly
                      : html`<ul>${e.previousSecrets.map((p) => html`<li>${t.settings.secretSignsUntil(fmt.time(at(p.expiresAt)))}</li>`)}</ul>`
                  }</td></tr>`,
              )}</tbody></table>`,
            )
      }
      <p class="muted">${t.settings.webhooksHelp}</p></section>`
  }

  private signingState(key: SigningKey) {
    if (key.withdrawnAt) return t.settings.withdrawnAt(fmt.time(at(key.withdrawnAt)))
    if (key.current) {
      return key.retiredAt ? t.settings.signsUntil(fmt.time(at(key.retiredAt))) : t.settings.signs
    }
    if (key.next) return t.settings.next(fmt.time(at(key.signsFrom)))
    return key.published ? t.settings.publishedStill : t.settings.expired
  }

  private invite(event: SubmitEvent) {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    const sent = { email: String(form.get('email')), role: String(form.get('role')) }
    void this.act(
      async () => {
        const answer = await api<{ setupUrl: string | null }>(
          'POST',
          `${this.base}/settings/operators`,
          sent,
        )
        this.link = answer.setupUrl ?? ''
        await this.load()
        return undefined
      },
      { labels: { email: t.settings.email, role: t.settings.role }, sent },
    )
  }

  private operatorAction(op: Operator, action: 'link' | 'remove' | 'role', role?: string) {
    void this.act(async () => {
      if (action === 'link') {
        this.link = (
          await api<{ setupUrl: string }>('POST', `${this.base}/settings/operators/${op.id}/link`)
        ).setupUrl
      } else if (action === 'remove') {
        await api('DELETE', `${this.base}/settings/operators/${op.id}`)
      } else {
        await api('PUT', `${this.base}/settings/operators/${op.id}`, { role })
      }
      await this.load()
    })
  }

  override render() {
    const s = this.settings
    const write = this.can('settings.write')
    return html`<h1>${t.settings.heading}</h1>
      ${this.status()}
      <p role="status" data-testid="settings-message">${this.message}</p>
      ${
        s
          ? html`<section class="card" aria-labelledby="project-h"><h2 id="project-h">${t.settings.project}</h2>
        <form @submit=${this.save}>
          <div class="grid">
            <div><label for="name">${t.settings.name}</label><input id="name" name="name" .value=${s.name} ?disabled=${!write} aria-invalid=${this.invalid.name ? 'true' : nothing} aria-describedby=${this.describedBy('name') ?? nothing}>${this.fieldError('name')}</div>
            <div><label for="brand">${t.settings.brand}</label><input id="brand" name="brand" .value=${s.brand} ?disabled=${!write} aria-invalid=${this.invalid.brand ? 'true' : nothing} aria-describedby=${this.describedBy('brand') ?? nothing}>${this.fieldError('brand')}</div>
            <div><label for="codeLength">${t.settings.codeLength}</label>
              <input id="codeLength" name="codeLength" type="number" min="4" max="10" .value=${String(s.codeLength)} ?disabled=${!write} aria-invalid=${this.invalid.codeLength ? 'true' : nothing} aria-describedby=${this.describedBy('codeLength') ?? nothing}>${this.fieldError('codeLength')}</div>
          </div>
          <label for="origins">${t.settings.origins}</label>
          <textarea id="origins" name="origins" .value=${s.allowedOrigins.join('\n')} ?disabled=${!write} aria-invalid=${this.invalid.allowedOrigins ? 'true' : nothing} aria-describedby=${this.describedBy('allowedOrigins') ?? nothing}></textarea>${this.fieldError('allowedOrigins')}
          <label for="countries">${t.settings.countries}</label>
          <input id="countries" name="countries" .value=${(s.allowedCountries ?? []).join(', ')} ?disabled=${!write} aria-invalid=${this.invalid.allowedCountries ? 'true' : nothing} aria-describedby=${this.describedBy('allowedCountries') ?? nothing}>${this.fieldError('allowedCountries')}
          <label for="consentVersions">${t.settings.consentVersions}</label>
          <textarea id="consentVersions" name="consentVersions" .value=${(s.consentVersions ?? []).join('\n')} ?disabled=${!write} aria-invalid=${this.invalid.consentVersions ? 'true' : nothing} aria-describedby=${this.describedBy('consentVersions') ?? nothing}></textarea>${this.fieldError('consentVersions')}
          <label for="ipAllowlist">${t.settings.ipAllowlist}</label>
          <textarea id="ipAllowlist" name="ipAllowlist" .value=${s.ipAllowlist.join('\n')} ?disabled=${!write} aria-invalid=${this.invalid.ipAllowlist ? 'true' : nothing} aria-describedby=${this.describedBy('ipAllowlist') ?? nothing}></textarea>${this.fieldError('ipAllowlist')}
          ${write ? html`<p><button type="submit">${t.settings.save}</button></p>` : ''}
        </form></section>`
          : ''
      }
      <section class="card" aria-labelledby="keys-h"><h2 id="keys-h">${t.settings.keys}</h2>
        ${
          this.newKeys
            ? html`<div class="card" role="status"><p>${t.settings.newKeys}</p>
              <p><code data-testid="new-publishable">${this.newKeys.publishableKey}</code></p>
              <p><code data-testid="new-secret">${this.newKeys.secretKey}</code></p></div>`
            : ''
        }
        ${
          this.rotatedKey
            ? html`<div class="card" role="status"><p>${t.settings.rotatedKey}</p>
              <p><code data-testid="rotated-key">${this.rotatedKey}</code></p></div>`
            : ''
        }
        ${scrollTable(
          t.settings.keys,
          html`<table><thead><tr><th scope="col">${t.settings.key}</th><th scope="col">${t.settings.kind}</th><th scope="col">${t.settings.mode}</th>
          <th scope="col">${t.settings.created}</th><th scope="col">${t.settings.lastUsed}</th><th scope="col">${t.settings.revoked}</th><th scope="col"><span class="visually-hidden">${t.app.actions}</span></th></tr></thead>
        <tbody>${this.keys.map(
          (
            k,
          ) => html`<tr><td><code>${k.prefix}</code></td><td>${k.kind}</td><td>${k.mode}</td><td>${fmt.time(at(k.createdAt))}</td>
            <td>${k.lastUsedAt ? fmt.time(at(k.lastUsedAt)) : t.settings.never}</td><td>${k.revokedAt ? fmt.time(at(k.revokedAt)) : t.settings.active}</td>
            <td>${
              this.can('keys.write') && !k.revokedAt
                ? html`<button type="button" class="secondary" aria-label=${t.settings.rotateLabel(k.prefix)} @click=${() => this.rotate(k)}>${t.settings.rotateKey}</button>
                  <button type="button" class="danger" aria-label=${t.settings.revokeLabel(k.prefix)} @click=${() => this.revoke(k)}>${t.settings.revoke}</button>`
                : ''
            }</td></tr>`,
        )}</tbody></table>`,
        )}
        ${
          this.can('keys.write')
            ? html`<p class="row"><button type="button" @click=${() => this.createKeys('test')}>${t.settings.createTest}</button>
              <button type="button" class="secondary" @click=${() => this.createKeys('live')}>${t.settings.createLive}</button></p>
              <p class="muted">${t.settings.rotate}</p>`
            : ''
        }
      </section>
      ${this.webhooks ? this.webhooksCard(this.webhooks) : ''}
      ${
        this.project.everyProjectOwner
          ? html`<section class="card" aria-labelledby="signing-h"><h2 id="signing-h">${t.settings.signing}</h2>
            ${scrollTable(
              t.settings.signing,
              html`<table><thead><tr><th scope="col">${t.settings.kid}</th><th scope="col">${t.settings.created}</th>
                <th scope="col">${t.settings.state}</th><th scope="col"><span class="visually-hidden">${t.app.actions}</span></th></tr></thead>
              <tbody>${(this.signingKeys ?? []).map(
                (
                  k,
                ) => html`<tr><td><code>${k.kid}</code></td><td>${fmt.time(at(k.createdAt))}</td><td>${this.signingState(k)}</td>
                  <td>${k.published ? this.withdrawButton(k) : ''}</td></tr>`,
              )}</tbody></table>`,
            )}
            <p class="row"><button type="button" class="secondary" @click=${() => this.rotateSigning(false)}>${t.settings.rotateSigning}</button>
              <button type="button" class="secondary" @click=${() => this.rotateSigning(true)}>${t.settings.rotateSigningLater}</button></p>
            <p class="muted">${t.settings.rotateSigningHelp}</p>
            <p class="muted">${t.settings.withdrawHelp}</p></section>`
          : ''
      }
      ${
        this.operators
          ? html`<section class="card" aria-labelledby="ops-h"><h2 id="ops-h">${t.settings.operators}</h2>
          ${scrollTable(
            t.settings.operators,
            html`<table><thead><tr><th scope="col">${t.settings.email}</th><th scope="col">${t.settings.role}</th><th scope="col"><span class="visually-hidden">${t.app.actions}</span></th></tr></thead>
          <tbody>${this.operators.map(
            (
              op,
            ) => html`<tr><td>${op.email}${op.pending ? html` <span class="muted">(${t.settings.pending})</span>` : ''}${op.disabled ? html` <span class="muted" title=${t.settings.disabledHelp}>(${t.settings.disabled})</span>` : ''}</td>
              <td>${
                op.allProjects
                  ? html`${t.roles[op.role]} (${t.settings.allProjects})`
                  : html`<label class="visually-hidden" for="role-${op.id}">${t.settings.role} ${op.email}</label>
                    <select id="role-${op.id}" @change=${(e: Event) => this.operatorAction(op, 'role', (e.target as HTMLSelectElement).value)}>
                      ${Object.entries(t.roles).map(([value, label]) => html`<option value=${value} ?selected=${value === op.role}>${label}</option>`)}
                    </select>`
              }</td>
              <td>${
                op.allProjects
                  ? ''
                  : html`<button type="button" class="secondary" @click=${() => this.operatorAction(op, 'link')}>${t.settings.newLink}</button>
                    <button type="button" class="danger" @click=${() => this.operatorAction(op, 'remove')}>${t.settings.removeOperator}</button>`
              }</td></tr>`,
          )}</tbody></table>`,
          )}
          <form class="row" @submit=${this.invite}>
            <div><label for="invite-email">${t.settings.email}</label><input id="invite-email" name="email" type="email" required aria-invalid=${this.invalid.email ? 'true' : nothing} aria-describedby=${this.describedBy('email') ?? nothing}>${this.fieldError('email')}</div>
            <div><label for="invite-role">${t.settings.role}</label><select id="invite-role" name="role">
              ${Object.entries(t.roles).map(([value, label]) => html`<option value=${value}>${label}</option>`)}</select></div>
            <button type="submit">${t.settings.invite}</button>
          </form>
          ${this.link ? html`<p>${t.settings.setupLink} <code data-testid="setup-link">${this.link}</code></p>` : ''}
        </section>`
          : ''
      }`
  }
}
customElements.define('tg-settings-page', SettingsPage)
