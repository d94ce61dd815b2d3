import { html } from 'lit'
import { ApiError, api } from '../api'
import type { Column } from '../components/data-table'
import '../components/data-table'
import { renderTimeline, type Timeline } from '../components/timeline'
import { fmt, go, link, ProjectPage } from '../page'
import { t } from '../strings/en'

interface Row {
  id: string
  phone: string
  country: string
  status: string
  mode: string
  decision: string | null
  carrier: string | null
  createdAt: number
}

/** The list (masked numbers, filters), search by id, and one verification's timeline at /verifications/:id. */
export class VerificationsPage extends ProjectPage {
  static override properties = {
    ...ProjectPage.properties,
    rows: { state: true },
    detail: { state: true },
  }
  declare rows: Row[]
  declare detail: Timeline | undefined
  private filters = ''

  constructor() {
    super()
    this.rows = []
  }

  protected async load() {
    if (this.sub) {
      this.detail = await api<Timeline>(
        'GET',
        `${this.base}/verifications/${encodeURIComponent(this.sub)}`,
      )
      return
    }
    this.detail = undefined
    this.rows = (
      await api<{ verifications: Row[] }>(
        'GET',
        `${this.base}/verifications?limit=50${this.filters}`,
      )
    ).verifications
  }

  private filter(event: SubmitEvent) {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    const params = new URLSearchParams()
    for (const name of ['status', 'country', 'decision', 'carrier']) {
      const value = String(form.get(name) ?? '').trim()
      if (value) params.set(name, value)
    }
    this.filters = params.size ? `&${params}` : ''
    void this.refresh()
  }

  private find(event: SubmitEvent) {
    event.preventDefault()
    const id = String(new FormData(event.target as HTMLFormElement).get('id') ?? '').trim()
    if (id) go(`/console/p/${this.project.id}/verifications/${encodeURIComponent(id)}`)
  }

  private async more() {
    const last = this.rows.at(-1)
    if (!last) return
    const older = await api<{ verifications: Row[] }>(
      'GET',
      `${this.base}/verifications?limit=50&before=${last.createdAt}${this.filters}`,
    )
    this.rows = [...this.rows, ...older.verifications]
  }

  override render() {
    const listPath = `/console/p/${this.project.id}/verifications`
    if (this.sub) {
      return html`<h1>${t.verifications.detail}</h1><p>${link(listPath, t.verifications.back)}</p>${this.status()}
        ${this.detail ? renderTimeline(this.detail) : ''}`
    }
    const columns: Column<Row>[] = [
      {
        key: 'id',
        label: t.verifications.id,
        value: (r) => r.id,
        render: (r) => link(`${listPath}/${r.id}`, r.id),
      },
      { key: 'phone', label: t.verifications.number, value: (r) => r.phone },
      { key: 'country', label: t.verifications.country, value: (r) => r.country },
      { key: 'status', label: t.verifications.status, value: (r) => r.status },
      { key: 'decision', label: t.verifications.decision, value: (r) => r.decision },
      { key: 'carrier', label: t.verifications.carrier, value: (r) => r.carrier },
      {
        key: 'createdAt',
        label: t.verifications.started,
        value: (r) => r.createdAt,
        render: (r) => fmt.time(r.createdAt),
      },
    ]
    const select = (name: string, label: string, options: string[]) =>
      html`<div><label for=${name}>${label}</label><select id=${name} name=${name}><option value="">${t.verifications.any}</option>
        ${options.map((o) => html`<option value=${o}>${o}</option>`)}</select></div>`
    return html`<h1>${t.verifications.heading}</h1>
      <form class="row card" @submit=${this.find}>
        <div><label for="find-id">${t.verifications.searchId}</label><input id="find-id" name="id" placeholder="ver_…"></div>
        <button type="submit">${t.verifications.find}</button>
      </form>
      <form class="row card" @submit=${this.filter}>
        ${select('status', t.verifications.status, ['pending', 'approved', 'expired', 'failed', 'canceled'])}
        <div><label for="country">${t.verifications.country}</label><input id="country" name="country" size="4" maxlength="2"></div>
        ${select('decision', t.verifications.decision, ['allow', 'challenge', 'block'])}
        <div><label for="carrier">${t.verifications.carrier}</label><input id="carrier" name="carrier" size="12"></div>
        <button type="submit">${t.verifications.filter}</button>
      </form>
      ${this.status()}
      <div class="card"><tg-table .columns=${columns} .rows=${this.rows} caption=${t.verifications.heading}></tg-table>
        ${this.rows.length >= 50 ? html`<button type="button" class="secondary" @click=${this.more}>${t.verifications.more}</button>` : ''}</div>`
  }
}
customElements.define('tg-verifications-page', VerificationsPage)

/** Support's page: one shopper's verifications by their full number; the server audits each lookup. */
export class LookupPage extends ProjectPage {
  static override properties = {
    ...ProjectPage.properties,
    found: { state: true },
    message: { state: true },
  }
  declare found: Timeline[] | undefined
  declare message: string

  protected async load() {}

  private async lookup(event: SubmitEvent) {
    event.preventDefault()
    const phone = String(new FormData(event.target as HTMLFormElement).get('phone') ?? '')
    this.message = ''
    try {
      const answer = await api<{ verifications: Timeline[] }>(
        'POST',
        `${this.base}/verifications/lookup`,
        { phone },
      )
      this.found = answer.verifications
      if (!answer.verifications.length) this.message = t.verifications.noneFound
    } catch (error) {
      this.found = undefined
      this.message = error instanceof ApiError ? error.message : String(error)
    }
  }

  override render() {
    return html`<h1>${t.verifications.lookupHeading}</h1>
      <p id="lookup-help">${t.verifications.lookupHelp}</p>
      <form class="row card" @submit=${this.lookup}>
        <div><label for="phone">${t.verifications.phone}</label>
          <input id="phone" name="phone" type="tel" autocomplete="off" aria-describedby="lookup-help" required></div>
        <button type="submit">${t.verifications.lookup}</button>
      </form>
      <p role="status">${this.message}</p>
      ${(this.found ?? []).map((v) => renderTimeline(v))}`
  }
}
customElements.define('tg-lookup-page', LookupPage)
