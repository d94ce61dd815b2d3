import { css, html, LitElement, svg } from 'lit'
import { encode } from 'uqr'

/**
 * A QR code drawn as SVG rectangles from uqr's matrix (no inline style, no data URL).
 * @summary QR code.
 */
export class QrCode extends LitElement {
  static override properties = { value: {}, label: {} }
  static override styles = css`
    svg { width: 200px; height: 200px; background: #fff; padding: 8px; border-radius: 6px; }
  `
  declare value: string
  declare label: string

  override render() {
    if (!this.value) return html``
    const { data, size } = encode(this.value, { ecc: 'M', border: 2 })
    const cells = []
    for (let y = 0; y < size; y += 1) {
      for (let x = 0; x < size; x += 1) {
        if (data[y]?.[x]) cells.push(svg`<rect x=${x} y=${y} width="1" height="1"></rect>`)
      }
    }
    return html`<svg role="img" aria-label=${this.label} viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges" fill="#000">${cells}</svg>`
  }
}
customElements.define('tg-qr-code', QrCode)

declare global {
  interface HTMLElementTagNameMap {
    'tg-qr-code': QrCode
  }
}
