import { html } from 'lit'
import { api } from '../api'
import { fmt, ProjectPage, scrollTable } from '../page'
import { t } from '../strings/en'

interface Entry {
  id: string
  seq: number
  at: number
  actor: { type: string; id: string | null; label: string }
  action: string
  target: string | null
  ip: string | null
  status: number | null
  before: unknown
  after: unknown
}

export class AuditPage extends ProjectPage {
  static override properties = {
    ...ProjectPage.properties,
    entries: { state: true },
    chain: { state: true },
  }
  declare entries: Entry[]
  declare chain: string
  private filters = ''

  constructor() {
    super()
    this.entries = []
    this.chain = ''
  }

  protected async load() {
    const { entries } = await api<{ entries: Entry[] }>(
      'GET',
      `${this.base}/audit?limit=100${this.filters}`,
    )
    this.entries = entries
  }

  private async more() {
    const last = this.entries.at(-1)
    if (!last) return
    const { entries } = await api<{ entries: Entry[] }>(
      'GET',
      `${this.base}/audit?limit=100&before=${last.seq}${this.filters}`,
    )
    this.entries = [...this.entries, ...entries]
  }

  private filter(event: SubmitEvent) {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    const params = new URLSearchParams()
    for (const name of ['chain', 'actor', 'action', 'phone']) {
      const value = String(form.get(name) ?? '').trim()
      if (value) params.set(name, value)
    }
    const since = String(form.get('since') ?? '')
    if (since) params.set('since', String(new Date(since).getTime()))
    this.filters = params.size ? `&${params}` : ''
    void this.refresh()
  }

  private async verify() {
    const report = await api<{
      ok: boolean
      rows: number
      broken?: { seq: number; reason: string }
    }>(
      'GET',
      `${this.base}/audit/verify?${new URLSearchParams(this.filters.slice(1)).get('chain') === 'server' ? 'chain=server' : ''}`,
    )
    this.chain = report.ok
      ? t.audit.intact(report.rows)
      : t.audit.broken(report.broken!.seq, report.broken!.reason.replaceAll('_', ' '))
  }

  override render() {
    return html`<h1>${t.audit.heading}</h1>
      <form class="row card" @submit=${this.filter}>
        ${
          this.project.everyProjectOwner
            ? html`<div><label for="chain">${t.audit.chain}</label><select id="chain" name="chain">
              <option value="project">${t.audit.projectChain}</option>
              <option value="server">${t.audit.serverChain}</option></select></div>`
            : ''
        }
        <div><label for="actor">${t.audit.actor}</label><input id="actor" name="actor"></div>
        <div><label for="action">${t.audit.actionPrefix}</label><input id="action" name="action"></div>
        <div><label for="phone">${t.audit.phone}</label><input id="phone" name="phone" type="tel" autocomplete="off"></div>
        <div><label for="since">${t.audit.since}</label><input id="since" name="since" type="date"></div>
        <button type="submit">${t.audit.filter}</button>
      </form>
      <div class="row">
        <a class="button secondary" href=${`/console/api${this.base}/audit/export?${this.filters.slice(1)}`} download>${t.audit.export}</a>
        <button type="button" class="secondary" @click=${this.verify}>${t.audit.verify}</button>
        <span role="status" data-testid="chain">${this.chain}</span>
      </div>
      ${this.status()}
      <div class="card">${scrollTable(
        t.audit.heading,
        html`<table>
        <thead><tr><th scope="col">#</th><th scope="col">${t.audit.time}</th><th scope="col">${t.audit.who}</th>
          <th scope="col">${t.audit.action}</th><th scope="col">${t.audit.target}</th><th scope="col">${t.audit.where}</th>
          <th scope="col">${t.audit.status}</th><th scope="col">${t.audit.change}</th></tr></thead>
        <tbody>${this.entries.map(
          (
            e,
          ) => html`<tr><td class="num">${e.seq}</td><td>${fmt.time(e.at)}</td><td>${e.actor.label}<br><span class="muted">${e.actor.type}</span></td>
            <td><code>${e.action}</code></td><td><code>${e.target ?? ''}</code></td><td>${e.ip ?? ''}</td><td>${e.status ?? ''}</td>
            <td>${e.before || e.after ? html`<code>${JSON.stringify(e.before)}</code> → <code>${JSON.stringify(e.after)}</code>` : ''}</td></tr>`,
        )}</tbody></table>`,
      )}
        ${this.entries.length >= 100 ? html`<button type="button" class="secondary" @click=${this.more}>${t.audit.more}</button>` : ''}
      </div>`
  }
}
customElements.define('tg-audit-page', AuditPage)
