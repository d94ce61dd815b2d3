import { html } from 'lit'
import { api } from '../api'
import { formErrors } from '../field-errors'
import { fmt, ProjectPage, scrollTable } from '../page'
import { t } from '../strings/en'

interface FraudEvent {
  id: string
  phone: string
  /** A restricted or lifted number range: `+447400xxxxxx`. */
  range?: string
  decision: string
  outcome: string
  reasons: string[]
  shadowReasons: string[]
  createdAt: string
}
interface ListEntry {
  id: string
  projectId: string
  list: string
  kind: string
  value: string
  note: string | null
  createdAt: string
  expiresAt: string | null
}
interface Changed {
  id: string
  phone: string
  at: number
  was: string
  wouldBe: string
  reasons: string[]
  shadowReasons: string[]
}

const MODES = ['enforce', 'shadow', 'off'] as const

/** The decision log, allow/block lists, each check's mode, and a what-if over the last 24 hours. */
export class FraudPage extends ProjectPage {
  static override properties = {
    ...ProjectPage.properties,
    events: { state: true },
    entries: { state: true },
    modes: { state: true },
    note: { state: true },
    simulated: { state: true },
  }
  declare events: FraudEvent[]
  declare entries: ListEntry[]
  declare modes: Record<string, string>
  declare note: string
  declare simulated: { decisions: number; changed: Changed[] } | undefined

  constructor() {
    super()
    this.events = []
    this.entries = []
    this.modes = {}
    this.note = ''
  }

  protected async load() {
    const base = `${this.base}/fraud`
    this.events = (await api<{ events: FraudEvent[] }>('GET', `${base}/events`)).events
    this.entries = (await api<{ entries: ListEntry[] }>('GET', `${base}/lists`)).entries
    this.modes = (await api<{ modes: Record<string, string> }>('GET', `${base}/settings`)).modes
  }

  private proposed(): Record<string, string> {
    const modes: Record<string, string> = {}
    for (const select of this.renderRoot.querySelectorAll<HTMLSelectElement>(
      'select[data-check]',
    )) {
      modes[select.dataset.check ?? ''] = select.value
    }
    return modes
  }

  /** A refusal is said with the labels of the form's fields (`labels`: the API's names → labels). */
  private async act(
    run: () => Promise<string>,
    labels: Record<string, string> = {},
    sent: Record<string, unknown> = {},
  ) {
    this.note = ''
    try {
      this.note = await run()
    } catch (error) {
      this.note = formErrors(error, labels, sent).summary
    }
  }

  private add(event: SubmitEvent) {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    const sent = {
      list: String(form.get('list')),
      kind: String(form.get('kind')),
      value: String(form.get('value')),
      note: String(form.get('note') ?? '') || undefined,
      // The browser's local time, sent as an instant.
      expiresAt: form.get('expires') ? new Date(String(form.get('expires'))).toISOString() : null,
    }
    const labels = {
      list: t.fraud.list,
      kind: t.fraud.kind,
      value: t.fraud.value,
      note: t.fraud.note,
      expiresAt: t.fraud.expires,
    }
    void this.act(
      async () => {
        await api('POST', `${this.base}/fraud/lists`, sent)
        await this.load()
        return t.fraud.saved
      },
      labels,
      sent,
    )
  }

  private removeEntry(entry: ListEntry) {
    void this.act(async () => {
      await api('DELETE', `${this.base}/fraud/lists/${entry.id}`)
      await this.load()
      return t.fraud.saved
    })
  }

  private save() {
    void this.act(async () => {
      this.modes = (
        await api<{ modes: Record<string, string> }>('PUT', `${this.base}/fraud/settings`, {
          modes: this.proposed(),
        })
      ).modes
      return t.fraud.saved
    })
  }

  private simulate() {
    void this.act(async () => {
      this.simulated = await api('POST', `${this.base}/fraud/what-if`, { modes: this.proposed() })
      return t.fraud.changed(this.simulated?.changed.length ?? 0)
    })
  }

  override render() {
    const write = this.can('fraud.write')
    return html`<h1>${t.fraud.heading}</h1>
      ${this.status()}
      <p role="status" data-testid="fraud-note">${this.note}</p>
      <section class="card" aria-labelledby="checks-h"><h2 id="checks-h">${t.fraud.settings}</h2>
        ${scrollTable(
          t.fraud.settings,
          html`<table><thead><tr><th scope="col">${t.fraud.check}</th><th scope="col">${t.fraud.mode}</th></tr></thead><tbody>
          ${Object.entries(this.modes).map(
            ([
              check,
              mode,
            ]) => html`<tr><th scope="row"><label for="mode-${check}">${check}</label></th><td>
              <select id="mode-${check}" data-check=${check}>${MODES.map((m) => html`<option value=${m} ?selected=${m === mode}>${m}</option>`)}</select></td></tr>`,
          )}</tbody></table>`,
        )}
        <p class="row">${write ? html`<button type="button" @click=${this.save}>${t.fraud.save}</button>` : ''}
          <button type="button" class="secondary" @click=${this.simulate}>${t.fraud.simulate}</button></p>
        <p class="muted">${t.fraud.whatIfHelp}</p>
        ${
          this.simulated
            ? html`<h3>${t.fraud.whatIf}</h3><p data-testid="what-if">${t.fraud.changed(this.simulated.changed.length)}</p>
              ${scrollTable(
                t.fraud.whatIf,
                html`<table><thead><tr><th scope="col">${t.fraud.time}</th><th scope="col">${t.fraud.number}</th>
                <th scope="col">${t.fraud.before}</th><th scope="col">${t.fraud.after}</th><th scope="col">${t.fraud.reasons}</th></tr></thead>
                <tbody>${this.simulated.changed.map(
                  (
                    c,
                  ) => html`<tr><td>${fmt.time(c.at)}</td><td class="mono">${c.phone}</td><td>${c.was}</td><td>${c.wouldBe}</td>
                    <td><code>${[...c.reasons, ...c.shadowReasons.map((r) => `shadow ${r}`)].join(', ')}</code></td></tr>`,
                )}</tbody></table>`,
              )}`
            : ''
        }
      </section>
      <section class="card" aria-labelledby="lists-h"><h2 id="lists-h">${t.fraud.lists}</h2>
        ${scrollTable(
          t.fraud.lists,
          html`<table><thead><tr><th scope="col">${t.fraud.list}</th><th scope="col">${t.fraud.kind}</th><th scope="col">${t.fraud.value}</th>
          <th scope="col">${t.fraud.note}</th><th scope="col">${t.fraud.expires}</th><th scope="col"><span class="visually-hidden">${t.app.actions}</span></th></tr></thead>
          <tbody>${this.entries.map(
            (
              e,
            ) => html`<tr><td>${e.list}</td><td>${e.kind}</td><td class="mono">${e.value}</td><td>${e.note ?? ''}</td>
              <td>${e.expiresAt ? fmt.time(Date.parse(e.expiresAt)) : t.fraud.never}</td>
              <td>${write && e.projectId !== '*' ? html`<button type="button" class="danger" aria-label=${t.fraud.removeLabel(e.value)} @click=${() => this.removeEntry(e)}>${t.fraud.remove}</button>` : ''}</td></tr>`,
          )}</tbody></table>`,
        )}
        ${
          write
            ? html`<form class="row" @submit=${this.add}>
              <div><label for="list">${t.fraud.list}</label><select id="list" name="list"><option>block</option><option>allow</option></select></div>
              <div><label for="kind">${t.fraud.kind}</label><select id="kind" name="kind"><option>phone</option><option>prefix</option><option>ip</option><option>country</option></select></div>
              <div><label for="value">${t.fraud.value}</label><input id="value" name="value" required></div>
              <div><label for="note">${t.fraud.note}</label><input id="note" name="note"></div>
              <div><label for="expires">${t.fraud.expires}</label><input id="expires" name="expires" type="datetime-local"></div>
              <button type="submit">${t.fraud.add}</button></form>`
            : ''
        }
      </section>
      <section class="card" aria-labelledby="log-h"><h2 id="log-h">${t.fraud.log}</h2>
        ${scrollTable(
          t.fraud.log,
          html`<table><thead><tr><th scope="col">${t.fraud.time}</th><th scope="col">${t.fraud.number}</th><th scope="col">${t.fraud.decision}</th>
          <th scope="col">${t.fraud.outcome}</th><th scope="col">${t.fraud.reasons}</th></tr></thead>
          <tbody>${this.events.map(
            (
              e,
            ) => html`<tr><td>${fmt.time(Date.parse(e.createdAt))}</td><td class="mono">${e.range ?? e.phone}</td><td>${e.decision}</td><td>${e.outcome}</td>
              <td><code>${[...e.reasons, ...e.shadowReasons.map((r) => `shadow ${r}`)].join(', ')}</code></td></tr>`,
          )}</tbody></table>`,
        )}
      </section>`
  }
}
customElements.define('tg-fraud-page', FraudPage)
