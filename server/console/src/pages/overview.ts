import { css, html } from 'lit'
import { api } from '../api'
import '../components/data-table'
import '../components/line-chart'
import type { Column } from '../components/data-table'
import { fmt, ProjectPage, scrollTable } from '../page'
import { t } from '../strings/en'
import { base } from '../styles'

const RANGES = [
  { value: '1', label: t.range.day },
  { value: '7', label: t.range.week },
  { value: '30', label: t.range.month },
  { value: '90', label: t.range.quarter },
]

interface Overview {
  funnel: Record<'started' | 'sent' | 'delivered' | 'verified' | 'redeemed', number>
  byCountry: { country: string; started: number; verified: number; conversion: number }[]
  byCarrier: {
    carrier: string
    texts: number
    delivered: number
    verifications: number
    verified: number
    conversion: number
  }[]
  timings: Record<
    'deliverMs' | 'verifyMs',
    { median: number | null; p95: number | null; count: number }
  >
  spend: { currency: string; amount: number; texts: number }[]
  costPerVerified: { currency: string; amount: number }[]
  fraud: {
    blocked: number
    challenged: number
    decoyed: number
    estimatedSaved: { currency: string; amount: number }[]
  }
  hourly: { hour: number; started: number; verified: number }[]
}

interface Bucket {
  start: number
  label: string
  started: number
  verified: number
}

/** Hourly figures grouped into the browser's own days (or kept hourly for one day). */
function buckets(data: Overview, from: number, to: number, hourly: boolean): Bucket[] {
  const map = new Map<number, Bucket>()
  const keyOf = (ms: number) => {
    const d = new Date(ms)
    if (hourly) d.setMinutes(0, 0, 0)
    else d.setHours(0, 0, 0, 0)
    return d.getTime()
  }
  for (let ms = keyOf(from); ms < to; ms = hourly ? ms + 3600_000 : keyOf(ms + 26 * 3600_000)) {
    map.set(ms, {
      start: ms,
      label: hourly
        ? new Date(ms).toLocaleString(undefined, {
            hour: 'numeric',
            day: 'numeric',
            month: 'short',
          })
        : new Date(ms).toLocaleDateString(undefined, { day: 'numeric', month: 'short' }),
      started: 0,
      verified: 0,
    })
  }
  for (const h of data.hourly) {
    const bucket = map.get(keyOf(h.hour * 3600_000))
    if (bucket) {
      bucket.started += h.started
      bucket.verified += h.verified
    }
  }
  return [...map.values()]
}

export class OverviewPage extends ProjectPage {
  static override properties = {
    ...ProjectPage.properties,
    data: { state: true },
    days: { state: true },
    mode: { state: true },
  }
  static override styles = [
    base,
    css`
      .bar { height: 0.6rem; background: var(--bar); border-radius: 3px; display: block; min-width: 2px; }
      .funnel td:last-child { width: 40%; }
    `,
  ]
  declare data: Overview | undefined
  declare days: string
  declare mode: string
  private from = 0
  private to = 0

  constructor() {
    super()
    this.days = '7'
    this.mode = ''
  }

  protected async load() {
    this.to = Date.now()
    this.from = this.to - Number(this.days) * 86_400_000
    const mode = this.mode ? `&mode=${this.mode}` : ''
    this.data = await api<Overview>(
      'GET',
      `${this.base}/overview?from=${this.from}&to=${this.to}${mode}`,
    )
  }

  private change(event: Event) {
    const target = event.target as HTMLSelectElement
    if (target.name === 'days') this.days = target.value
    else this.mode = target.value
    void this.refresh()
  }

  override updated(changed: Map<string, unknown>) {
    super.updated(changed)
    // Funnel bars get their width through the CSSOM (allowed by the CSP; inline style is not).
    for (const bar of this.renderRoot.querySelectorAll<HTMLElement>('.bar[data-share]')) {
      bar.style.width = `${Math.round(Number(bar.dataset.share) * 100)}%`
    }
  }

  override render() {
    const d = this.data
    return html`<h1>${t.overview.heading}</h1>
      <div class="row">
        <div><label for="days">${t.range.label}</label>
          <select id="days" name="days" @change=${this.change}>
            ${RANGES.map((r) => html`<option value=${r.value} ?selected=${r.value === this.days}>${r.label}</option>`)}
          </select></div>
        <div><label for="mode">${t.range.mode}</label>
          <select id="mode" name="mode" @change=${this.change}>
            <option value="" ?selected=${this.mode === ''}>${t.range.all}</option>
            <option value="live" ?selected=${this.mode === 'live'}>${t.range.live}</option>
            <option value="test" ?selected=${this.mode === 'test'}>${t.range.test}</option>
          </select></div>
      </div>
      ${this.status()}
      ${d ? this.renderData(d) : ''}`
  }

  private renderData(d: Overview) {
    const steps = [
      ['started', t.overview.started],
      ['sent', t.overview.sent],
      ['delivered', t.overview.delivered],
      ['verified', t.overview.verified],
      ['redeemed', t.overview.redeemed],
    ] as const
    const hourly = this.days === '1'
    const series = buckets(d, this.from, this.to, hourly)
    const countryColumns: Column<Overview['byCountry'][number]>[] = [
      { key: 'country', label: t.overview.country, value: (r) => r.country },
      { key: 'started', label: t.overview.started, value: (r) => r.started, numeric: true },
      { key: 'verified', label: t.overview.verified, value: (r) => r.verified, numeric: true },
      {
        key: 'conversion',
        label: t.overview.conversion,
        value: (r) => r.conversion,
        render: (r) => fmt.percent(r.conversion),
        numeric: true,
      },
    ]
    const carrierColumns: Column<Overview['byCarrier'][number]>[] = [
      { key: 'carrier', label: t.overview.carrier, value: (r) => r.carrier },
      { key: 'texts', label: t.overview.texts, value: (r) => r.texts, numeric: true },
      { key: 'delivered', label: t.overview.delivered, value: (r) => r.delivered, numeric: true },
      { key: 'verified', label: t.overview.verified, value: (r) => r.verified, numeric: true },
      {
        key: 'conversion',
        label: t.overview.conversion,
        value: (r) => r.conversion,
        render: (r) => fmt.percent(r.conversion),
        numeric: true,
      },
    ]
    const seriesColumns: Column<Bucket>[] = [
      { key: 'start', label: t.overview.period, value: (r) => r.start, render: (r) => r.label },
      { key: 'started', label: t.overview.started, value: (r) => r.started, numeric: true },
      { key: 'verified', label: t.overview.verified, value: (r) => r.verified, numeric: true },
    ]
    return html`
      <section class="card" aria-labelledby="funnel-h">
        <h2 id="funnel-h">${t.overview.funnel}</h2>
        <table class="funnel"><tbody>
          ${steps.map(([key, label]) => {
            const share = d.funnel.started ? d.funnel[key] / d.funnel.started : 0
            return html`<tr><th scope="row">${label}</th><td class="num" data-testid="funnel-${key}">${fmt.number(d.funnel[key])}</td>
              <td class="num muted">${fmt.percent(share)}</td><td><span class="bar" data-share=${share}></span></td></tr>`
          })}
        </tbody></table>
      </section>
      <section class="card" aria-labelledby="chart-h">
        <h2 id="chart-h">${hourly ? t.overview.chartHour : t.overview.chart}</h2>
        <tg-line-chart label=${`${hourly ? t.overview.chartHour : t.overview.chart}. ${t.overview.chartSummary(series.length)}`}
          .times=${series.map((b) => b.start / 1000)}
          .series=${[
            { label: t.overview.started, values: series.map((b) => b.started) },
            { label: t.overview.verified, values: series.map((b) => b.verified) },
          ]}></tg-line-chart>
        <details><summary>${t.overview.chart}</summary>
          <tg-table .columns=${seriesColumns} .rows=${series}></tg-table></details>
      </section>
      <div class="grid">
        <section class="card" aria-labelledby="country-h"><h2 id="country-h">${t.overview.byCountry}</h2>
          <tg-table .columns=${countryColumns} .rows=${d.byCountry}></tg-table></section>
        <section class="card" aria-labelledby="carrier-h"><h2 id="carrier-h">${t.overview.byCarrier}</h2>
          <tg-table .columns=${carrierColumns} .rows=${d.byCarrier}></tg-table></section>
      </div>
      <div class="grid">
        <section class="card" aria-labelledby="timings-h"><h2 id="timings-h">${t.overview.timings}</h2>
          ${scrollTable(
            t.overview.timings,
            html`<table><thead><tr><th scope="col"><span class="visually-hidden">${t.overview.timings}</span></th><th scope="col" class="num">${t.overview.median}</th>
            <th scope="col" class="num">${t.overview.p95}</th><th scope="col" class="num">${t.overview.samples}</th></tr></thead>
          <tbody>
            ${(
              [
                ['deliverMs', t.overview.timeToDeliver],
                ['verifyMs', t.overview.timeToVerify],
              ] as const
            ).map(
              ([
                key,
                label,
              ]) => html`<tr><th scope="row">${label}</th><td class="num">${fmt.duration(d.timings[key].median)}</td>
                <td class="num">${fmt.duration(d.timings[key].p95)}</td><td class="num">${fmt.number(d.timings[key].count)}</td></tr>`,
            )}
          </tbody></table>`,
          )}</section>
        <section class="card" aria-labelledby="spend-h"><h2 id="spend-h">${t.overview.spend}</h2>
          <dl class="figures">
            ${d.spend.length === 0 ? html`<div><dt>${t.overview.spend}</dt><dd>—</dd></div>` : ''}
            ${d.spend.map((s) => html`<div><dt>${t.overview.spend} (${s.currency})</dt><dd>${fmt.money(s.amount, s.currency)}</dd></div>`)}
            ${d.costPerVerified.map((s) => html`<div><dt>${t.overview.costPerVerified}</dt><dd>${fmt.money(s.amount, s.currency)}</dd></div>`)}
          </dl></section>
        <section class="card" aria-labelledby="fraud-h"><h2 id="fraud-h">${t.overview.fraud}</h2>
          <dl class="figures">
            <div><dt>${t.overview.blocked}</dt><dd data-testid="fraud-blocked">${fmt.number(d.fraud.blocked)}</dd></div>
            <div><dt>${t.overview.challenged}</dt><dd>${fmt.number(d.fraud.challenged)}</dd></div>
            <div><dt>${t.overview.decoyed}</dt><dd>${fmt.number(d.fraud.decoyed)}</dd></div>
            ${d.fraud.estimatedSaved.map((s) => html`<div><dt>${t.overview.saved}</dt><dd>${fmt.money(s.amount, s.currency)}</dd></div>`)}
          </dl>
          <p class="muted">${t.overview.saved}: ${t.overview.savedHelp}</p></section>
      </div>`
  }
}
customElements.define('tg-overview-page', OverviewPage)

declare global {
  interface HTMLElementTagNameMap {
    'tg-overview-page': OverviewPage
  }
}
