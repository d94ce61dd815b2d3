import { css, html, LitElement, unsafeCSS } from 'lit'
import uPlot from 'uplot'
import uplotCss from 'uplot/dist/uPlot.min.css?inline'
import { base } from '../styles'

export interface Series {
  label: string
  values: number[]
}

/**
 * Lines over time drawn by uPlot on a canvas, in the browser's time zone. The canvas is an image
 * with a label; the figures themselves are always in a table next to it.
 * @summary Time-series chart.
 */
export class LineChart extends LitElement {
  static override properties = {
    label: {},
    times: { attribute: false },
    series: { attribute: false },
  }
  static override styles = [
    base,
    unsafeCSS(uplotCss),
    css`
      .legend { display: flex; gap: 1rem; flex-wrap: wrap; margin: 0.25rem 0; font-size: 0.9rem; }
      .swatch { display: inline-block; width: 0.9rem; height: 0.25rem; vertical-align: middle; margin-right: 0.3rem; }
      .s0 { background: var(--bar); }
      .s1 { background: var(--bar-2); }
      .plot { min-height: 220px; }
    `,
  ]
  declare label: string
  /** Seconds since the epoch, one per point. */
  declare times: number[]
  declare series: Series[]
  private plot: uPlot | undefined
  private observer: ResizeObserver | undefined

  constructor() {
    super()
    this.times = []
    this.series = []
  }

  override render() {
    return html`<div class="legend" aria-hidden="true">${this.series.map(
      (s, i) => html`<span><span class="swatch s${i}"></span>${s.label}</span>`,
    )}</div><div class="plot" role="img" aria-label=${this.label}></div>`
  }

  override updated() {
    const target = this.renderRoot.querySelector<HTMLElement>('.plot')
    if (!target) return
    this.plot?.destroy()
    const style = getComputedStyle(this)
    const colours = [
      style.getPropertyValue('--bar').trim(),
      style.getPropertyValue('--bar-2').trim(),
    ]
    const axis = {
      stroke: style.getPropertyValue('--muted').trim(),
      grid: { stroke: style.getPropertyValue('--border').trim(), width: 1 },
    }
    this.plot = new uPlot(
      {
        width: Math.max(280, target.clientWidth || 600),
        height: 220,
        legend: { show: false },
        cursor: { show: false },
        axes: [axis, axis],
        series: [
          {},
          ...this.series.map((s, i) => ({ label: s.label, stroke: colours[i % 2], width: 2 })),
        ],
      },
      [this.times, ...this.series.map((s) => s.values)],
      target,
    )
    this.observer ??= new ResizeObserver(() => {
      const width = Math.max(280, target.clientWidth)
      if (this.plot && Math.abs(this.plot.width - width) > 4)
        this.plot.setSize({ width, height: 220 })
    })
    this.observer.observe(target)
  }

  override disconnectedCallback() {
    super.disconnectedCallback()
    this.observer?.disconnect()
    this.plot?.destroy()
  }
}
customElements.define('tg-line-chart', LineChart)

declare global {
  interface HTMLElementTagNameMap {
    'tg-line-chart': LineChart
  }
}
