import { html, nothing } from 'lit'
import { ApiError, api } from '../api'
import { formErrors } from '../field-errors'
import { fmt, ProjectPage, scrollTable } from '../page'
import { t } from '../strings/en'

interface Messaging {
  templates: Record<string, string> | null
  defaults: Record<string, string>
  codeLength: number
  brand: string
  registrations: unknown
  routing: unknown
}
interface Preview {
  to: string
  text: string
  encoding: string
  segments: number
  characters: number
  routes: {
    carrier: string
    rule: string
    priority: number
    costPerSegment: number | null
    cost: { amount: string; currency: string } | null
  }[]
}
interface Delivery {
  since: string
  routes: {
    carrier: string
    breaker: string | null
    sent: number
    delivered: number
    failed: number
    deliveryRate: number | null
    latencyMs: { median: number | null; p95: number | null }
  }[]
  /** This project's texts in the outbox. */
  outbox: OutboxFigures
  /** Every project's (as /metrics has them): only for an operator of every project. */
  serverOutbox?: OutboxFigures
}
interface OutboxFigures {
  depth: number
  oldestAgeSeconds: number
  due: number
  sending: number
  retrying: number
  dead: number
}

const PREVIEW_DELAY_MS = 250

/**
 * Templates per locale with a live preview (the text as sent, GSM-7 or UCS-2, parts, the cost
 * on each route), China and India registrations, the routing file (read-only, secrets hidden),
 * and per route the breaker, delivery rate and latency, with the outbox's status.
 * @summary The Messaging page.
 */
export class MessagingPage extends ProjectPage {
  static override properties = {
    ...ProjectPage.properties,
    data: { state: true },
    delivery: { state: true },
    locale: { state: true },
    draft: { state: true },
    preview: { state: true },
    previewError: { state: true },
    note: { state: true },
  }
  declare data: Messaging | undefined
  declare delivery: Delivery | undefined
  declare locale: string
  declare draft: string
  declare preview: Preview | undefined
  declare previewError: string
  declare note: string
  private timer: ReturnType<typeof setTimeout> | undefined
  private to = ''

  constructor() {
    super()
    this.locale = 'en'
    this.draft = ''
    this.previewError = ''
    this.note = ''
  }

  override disconnectedCallback() {
    super.disconnectedCallback()
    clearTimeout(this.timer)
  }

  protected async load() {
    this.delivery = await api<Delivery>('GET', `${this.base}/messaging/delivery`)
    if (!this.can('messaging.read')) return
    this.data = await api<Messaging>('GET', `${this.base}/messaging`)
    this.pick(this.locale)
  }

  private locales(): string[] {
    const stored = Object.keys(this.data?.templates ?? {})
    const known = Object.keys(this.data?.defaults ?? {})
    return [...new Set([...stored, ...known, this.locale])].sort()
  }

  private pick(locale: string) {
    this.locale = locale
    this.draft = this.data?.templates?.[locale] ?? this.data?.defaults[locale] ?? ''
    this.schedulePreview(0)
  }

  private schedulePreview(delay = PREVIEW_DELAY_MS) {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.runPreview(), delay)
  }

  private async runPreview() {
    try {
      this.preview = await api<Preview>('POST', `${this.base}/messaging/preview`, {
        locale: this.locale,
        template: this.draft,
        ...(this.to ? { to: this.to } : {}),
      })
      this.previewError = ''
    } catch (error) {
      this.previewError = error instanceof ApiError ? error.message : String(error)
    }
  }

  /** A refusal is said with the labels of the page's forms, not the API's field names. */
  private async act(run: () => Promise<string>) {
    this.note = ''
    try {
      this.note = await run()
    } catch (error) {
      this.note = formErrors(error, {
        templates: t.messaging.template,
        registrations: t.messaging.registrations,
      }).summary
    }
  }

  private saveTemplate() {
    void this.act(async () => {
      const templates = { ...(this.data?.templates ?? {}), [this.locale]: this.draft }
      await api('PUT', `${this.base}/messaging/templates`, { templates })
      await this.load()
      return t.messaging.saved
    })
  }

  private resetTemplates() {
    void this.act(async () => {
      await api('PUT', `${this.base}/messaging/templates`, { templates: null })
      await this.load()
      return t.messaging.saved
    })
  }

  private addLocale(event: SubmitEvent) {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const value = String(new FormData(form).get('new-locale') ?? '').trim()
    if (!value) return
    form.reset()
    this.pick(value)
  }

  private saveRegistrations(event: SubmitEvent) {
    event.preventDefault()
    const text = String(new FormData(event.target as HTMLFormElement).get('registrations') ?? '')
    void this.act(async () => {
      let registrations: unknown = null
      if (text.trim()) {
        try {
          registrations = JSON.parse(text)
        } catch {
          throw new ApiError(400, 'invalid_request', t.messaging.registrationsHelp)
        }
      }
      await api('PUT', `${this.base}/messaging/registrations`, { registrations })
      await this.load()
      return t.messaging.saved
    })
  }

  private renderTemplates() {
    const data = this.data
    if (!data) return ''
    const write = this.can('templates.write')
    const p = this.preview
    const own = data.templates?.[this.locale] !== undefined
    return html`<section class="card" aria-labelledby="templates-h"><h2 id="templates-h">${t.messaging.templates}</h2>
      <div class="row">
        <div><label for="locale">${t.messaging.locale}</label>
          <select id="locale" @change=${(e: Event) => this.pick((e.target as HTMLSelectElement).value)}>
            ${this.locales().map((l) => html`<option value=${l} ?selected=${l === this.locale}>${l}${data.templates?.[l] !== undefined ? ' ✓' : ''}</option>`)}
          </select></div>
        ${
          write
            ? html`<form class="row" @submit=${this.addLocale}>
              <div><label for="new-locale">${t.messaging.newLocale}</label><input id="new-locale" name="new-locale" pattern="[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*"></div>
              <button type="submit" class="secondary">${t.messaging.addLocale}</button></form>`
            : ''
        }
      </div>
      <label for="template">${t.messaging.template} <span class="muted">(${own ? t.messaging.stored : t.messaging.builtIn}; {code}, {brand}, {minutes})</span></label>
      <textarea id="template" .value=${this.draft} ?readonly=${!write} @input=${(e: Event) => {
        this.draft = (e.target as HTMLTextAreaElement).value
        this.schedulePreview()
      }}></textarea>
      <label for="preview-to">${t.messaging.destination}</label>
      <input id="preview-to" inputmode="tel" autocomplete="off" @input=${(e: Event) => {
        this.to = (e.target as HTMLInputElement).value.trim()
        this.schedulePreview()
      }}>
      ${
        write
          ? html`<p class="row"><button type="button" @click=${this.saveTemplate}>${t.messaging.save}</button>
        <button type="button" class="secondary" @click=${this.resetTemplates}>${t.messaging.reset}</button></p>`
          : html`<p class="muted">${t.messaging.readOnlyTemplates}</p>`
      }
      <h3>${t.messaging.preview}</h3>
      <div aria-live="polite" data-testid="preview">
        ${this.previewError ? html`<p class="error">${this.previewError}</p>` : ''}
        ${
          p
            ? html`<p class="muted">${t.messaging.text} → <span class="mono">${p.to}</span></p>
              <pre class="card mono" data-testid="preview-text">${p.text}</pre>
              <dl class="figures">
                <div><dt>${t.messaging.encoding}</dt><dd data-testid="preview-encoding">${p.encoding}</dd></div>
                <div><dt>${t.messaging.segments}</dt><dd data-testid="preview-segments">${p.segments}</dd></div>
                <div><dt>${t.messaging.characters}</dt><dd>${p.characters}</dd></div>
              </dl>
              <h3>${t.messaging.costPerRoute}</h3>
              ${
                p.routes.length
                  ? scrollTable(
                      t.messaging.costPerRoute,
                      html`<table><thead><tr><th scope="col">${t.messaging.route}</th><th scope="col" class="num">${t.messaging.perSegment}</th><th scope="col" class="num">${t.messaging.costOfText}</th></tr></thead>
                      <tbody>${p.routes.map(
                        (r) => html`<tr><td>${r.carrier} <span class="muted">(${r.rule})</span></td>
                          <td class="num">${r.costPerSegment === null ? t.messaging.noPrice : fmt.money(r.costPerSegment, 'USD')}</td>
                          <td class="num">${r.cost ? fmt.money(Number(r.cost.amount), r.cost.currency) : '—'}</td></tr>`,
                      )}</tbody></table>`,
                    )
                  : html`<p class="muted">${t.messaging.noRoutes}</p>`
              }`
            : ''
        }
      </div>
    </section>
    <section class="card" aria-labelledby="registrations-h"><h2 id="registrations-h">${t.messaging.registrations}</h2>
      <form @submit=${this.saveRegistrations}>
        <label for="registrations">${t.messaging.registrationsHelp}</label>
        <textarea id="registrations" name="registrations" ?readonly=${!write}
          .value=${data.registrations ? JSON.stringify(data.registrations, null, 2) : ''}></textarea>
        ${write ? html`<p><button type="submit">${t.messaging.saveRegistrations}</button></p>` : ''}
      </form>
    </section>
    <section class="card" aria-labelledby="routing-h"><h2 id="routing-h">${t.messaging.routing}</h2>
      ${
        data.routing
          ? html`<p class="muted">${t.messaging.readOnly}</p>
            ${scrollTable(t.messaging.routing, html`<pre class="mono" data-testid="routing-file">${JSON.stringify(data.routing, null, 2)}</pre>`)}`
          : html`<p>${t.messaging.routingNone}</p>`
      }
    </section>`
  }

  private renderDelivery() {
    const d = this.delivery
    if (!d) return ''
    return html`<section class="card" aria-labelledby="delivery-h"><h2 id="delivery-h">${t.messaging.delivery}</h2>
      ${
        d.routes.length
          ? scrollTable(
              t.messaging.delivery,
              html`<table data-testid="routes"><thead><tr><th scope="col">${t.messaging.route}</th><th scope="col">${t.messaging.breaker}</th>
              <th scope="col" class="num">${t.messaging.sent}</th><th scope="col" class="num">${t.messaging.deliveryRate}</th>
              <th scope="col" class="num">${t.messaging.latency}</th><th scope="col" class="num">${t.messaging.p95}</th></tr></thead>
              <tbody>${d.routes.map(
                (r) => html`<tr><th scope="row">${r.carrier}</th>
                  <td>${r.breaker ? (t.messaging.breakerStates[r.breaker] ?? r.breaker) : '—'}</td>
                  <td class="num">${fmt.number(r.sent)}</td>
                  <td class="num">${r.deliveryRate === null ? '—' : fmt.percent(r.deliveryRate)}</td>
                  <td class="num">${fmt.duration(r.latencyMs.median)}</td>
                  <td class="num">${fmt.duration(r.latencyMs.p95)}</td></tr>`,
              )}</tbody></table>`,
            )
          : html`<p class="muted">${t.messaging.noTraffic}</p>`
      }
    </section>
    <section class="card" aria-labelledby="outbox-h"><h2 id="outbox-h">${t.messaging.outbox}</h2>
      <p class="muted">${t.messaging.outboxHelp}</p>
      ${this.outboxFigures(d.outbox, 'outbox')}
      ${
        d.serverOutbox
          ? html`<h3>${t.messaging.serverOutbox}</h3>
            <p class="muted">${t.messaging.serverOutboxHelp}</p>
            ${this.outboxFigures(d.serverOutbox, 'server-outbox')}`
          : nothing
      }
    </section>`
  }

  private outboxFigures(o: OutboxFigures, testId: string) {
    return html`<dl class="figures" data-testid=${testId}>
      <div><dt>${t.messaging.depth}</dt><dd>${fmt.number(o.depth)}</dd></div>
      <div><dt>${t.messaging.oldestAge}</dt><dd>${fmt.duration(Math.round(o.oldestAgeSeconds * 1000))}</dd></div>
      <div><dt>${t.messaging.due}</dt><dd>${fmt.number(o.due)}</dd></div>
      <div><dt>${t.messaging.sending}</dt><dd>${fmt.number(o.sending)}</dd></div>
      <div><dt>${t.messaging.retrying}</dt><dd>${fmt.number(o.retrying)}</dd></div>
      <div><dt>${t.messaging.dead}</dt><dd>${fmt.number(o.dead)}</dd></div>
    </dl>`
  }

  override render() {
    return html`<h1>${t.messaging.heading}</h1>
      ${this.status()}
      <p role="status" data-testid="messaging-note">${this.note}</p>
      ${this.renderTemplates()}
      ${this.renderDelivery()}`
  }
}
customElements.define('tg-messaging-page', MessagingPage)

declare global {
  interface HTMLElementTagNameMap {
    'tg-messaging-page': MessagingPage
  }
}
