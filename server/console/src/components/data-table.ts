import { css, html, LitElement, type TemplateResult } from 'lit'
import { t } from '../strings/en'
import { base } from '../styles'

export interface Column<Row> {
  key: string
  label: string
  /** The value sorted on (and shown, when there is no render). */
  value: (row: Row) => string | number | null
  render?: (row: Row) => TemplateResult | string
  numeric?: boolean
}

/**
 * A table whose column headers sort it (a button in each header; aria-sort says the order).
 * @summary Sortable table.
 */
export class DataTable<Row = unknown> extends LitElement {
  static override properties = {
    caption: {},
    columns: { attribute: false },
    rows: { attribute: false },
    sortKey: { state: true },
    descending: { state: true },
  }
  static override styles = [
    base,
    css`
      :host { display: block; min-width: 0; }
      th button { background: none; border: 0; color: inherit; padding: 0; font-weight: 600; cursor: pointer; }
      th button:hover { text-decoration: underline; }
      caption { text-align: left; font-weight: 600; padding-bottom: 0.4rem; }
      .wrap { overflow-x: auto; position: relative; }
    `,
  ]
  declare caption: string
  declare columns: Column<Row>[]
  declare rows: Row[]
  declare sortKey: string | undefined
  declare descending: boolean

  constructor() {
    super()
    this.columns = []
    this.rows = []
    this.descending = true
  }

  private sort(key: string) {
    this.descending = this.sortKey === key ? !this.descending : true
    this.sortKey = key
  }

  private sorted(): Row[] {
    const column = this.columns.find((c) => c.key === this.sortKey)
    if (!column) return this.rows
    const direction = this.descending ? -1 : 1
    return [...this.rows].sort((a, b) => {
      const x = column.value(a)
      const y = column.value(b)
      if (x === y) return 0
      if (x === null) return 1
      if (y === null) return -1
      return (x < y ? -1 : 1) * direction
    })
  }

  override render() {
    return html`<div class="wrap" tabindex="0" role="group" aria-label=${this.caption || this.columns.map((c) => c.label).join(', ')}><table>
      ${this.caption ? html`<caption>${this.caption}</caption>` : ''}
      <thead><tr>
        ${this.columns.map(
          (c) => html`<th scope="col" class=${c.numeric ? 'num' : ''}
            aria-sort=${this.sortKey === c.key ? (this.descending ? 'descending' : 'ascending') : 'none'}>
            <button type="button" @click=${() => this.sort(c.key)}>${c.label}<span class="visually-hidden">, ${t.table.sortBy(c.label)}</span></button>
          </th>`,
        )}
      </tr></thead>
      <tbody>
        ${
          this.rows.length === 0
            ? html`<tr><td colspan=${this.columns.length} class="muted">${t.table.empty}</td></tr>`
            : this.sorted().map(
                (row) =>
                  html`<tr>${this.columns.map(
                    (c) =>
                      html`<td class=${c.numeric ? 'num' : ''}>${c.render ? c.render(row) : (c.value(row) ?? '—')}</td>`,
                  )}</tr>`,
              )
        }
      </tbody>
    </table></div>`
  }
}
customElements.define('tg-table', DataTable)

declare global {
  interface HTMLElementTagNameMap {
    'tg-table': DataTable
  }
}
