/**
 * The country picker of <textgate-verify>: a button opening a search field (a combobox) over a
 * listbox of countries. Internal to the widget: <textgate-verify> renders it, forwards its parts
 * with `exportparts` and hears its `textgate-country-pick` event (not composed: it stays inside
 * the widget's shadow root).
 * @module
 */
import { html, LitElement, nothing, type PropertyValues } from 'lit'
import { POPOVER, PopoverController } from '../controllers/popover'
import { en, type Translation } from '../i18n'
import { type Country, regionCodes } from '../phone'
import { canShowFlags, searchCountries } from '../phone/search'
import { pickerStyles } from './textgate-country-picker.styles'

/** The parts of the picker, forwarded by <textgate-verify> under the same names. */
export const PICKER_PARTS =
  'country-button, country-panel, country-search, country-list, country-option'

/** The no-country globe, drawn, for systems without colour emoji. */
const GLOBE = html`<svg viewBox="0 0 16 16" width="1em" height="1em" fill="none" stroke="currentColor">
  <circle cx="8" cy="8" r="7" /><ellipse cx="8" cy="8" rx="3" ry="7" /><path d="M1 8h14" />
</svg>`

export class CountryPickEvent extends Event {
  constructor(readonly country: Country) {
    super('textgate-country-pick', { bubbles: true })
  }
}

export function flag(country: Country | undefined) {
  const emoji = canShowFlags()
  if (!country) return html`<span class="flag" aria-hidden="true">${emoji ? '🌐' : GLOBE}</span>`
  return emoji
    ? html`<span class="flag" aria-hidden="true">${country.flag}</span>`
    : html`<span class="flag iso" aria-hidden="true">${country.code}</span>`
}

export class TextgateCountryPicker extends LitElement {
  static override styles = pickerStyles
  static override shadowRootOptions = { ...LitElement.shadowRootOptions, delegatesFocus: true }

  static override properties = {
    t: { attribute: false },
    countries: { attribute: false },
    current: { attribute: false },
    preferred: { attribute: false },
    disabled: { type: Boolean },
    open: { state: true },
    query: { state: true },
    active: { state: true },
  }

  /** The widget's texts. */
  declare t: Translation
  /** Every country offered, in the widget's language. */
  declare countries: readonly Country[]
  /** The country chosen, if any. */
  declare current: Country | undefined
  /** Countries listed first, in this order, when nothing is searched. */
  declare preferred: readonly string[]
  declare disabled: boolean
  declare open: boolean
  declare private query: string
  declare private active: number

  private readonly placement = new PopoverController(this, {
    panel: () => this.partElement('country-panel'),
    anchor: () => this.partElement('country-button'),
    rtl: () => this.t.$dir === 'rtl',
  })
  /** Alpha-3 codes and common names, from a chunk loaded when the list first opens. */
  private aliasOf: ((query: string) => string | undefined) | undefined
  private found:
    | { countries: readonly Country[]; query: string; key: string; list: Country[]; top: number }
    | undefined

  constructor() {
    super()
    this.t = en
    this.countries = []
    this.current = undefined
    this.preferred = []
    this.disabled = false
    this.open = false
    this.query = ''
    this.active = 0
  }

  /** Opens the list with the current country active and the search field focused. */
  async show(): Promise<void> {
    if (this.disabled) return
    if (!this.aliasOf) {
      void import('../phone/aliases')
        .then(({ aliases }) => {
          this.aliasOf = aliases(regionCodes())
          this.found = undefined
          this.requestUpdate()
        })
        .catch(() => {
          // Offline: names and alpha-2 codes still match.
        })
    }
    this.placement.choose()
    this.query = ''
    this.active = Math.max(
      0,
      this.options().findIndex((c) => c.code === this.current?.code),
    )
    this.open = true
    await this.updateComplete
    this.partElement('country-search')?.focus()
  }

  async hide(focusButton = true): Promise<void> {
    this.open = false
    if (!focusButton) return
    await this.updateComplete
    this.partElement('country-button')?.focus()
  }

  private partElement(name: string): HTMLElement | null {
    return this.renderRoot.querySelector<HTMLElement>(`[part~="${name}"]`)
  }

  /**
   * The countries matching the search, best first; without a search, the preferred ones lead.
   * Kept while nothing they depend on changes.
   */
  private options(): Country[] {
    const key = this.preferred.join()
    const m = this.found
    if (m && m.countries === this.countries && m.query === this.query && m.key === key) {
      return m.list
    }
    let list = searchCountries(this.countries, this.query, this.aliasOf)
    let top = 0
    if (!this.query.trim()) {
      const first = this.preferred
        .map((code) => list.find((c) => c.code === code))
        .filter((c): c is Country => !!c)
      top = first.length
      list = [...first, ...list.filter((c) => !first.includes(c))]
    }
    this.found = { countries: this.countries, query: this.query, key, list, top }
    return list
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('open')) {
      if (this.open) this.placement.show()
      else this.placement.hide()
    } else if (changed.has('t') && this.open) {
      // Another language, perhaps another direction: the button may have moved to the other side.
      this.placement.place()
    }
    if (changed.has('active' as keyof TextgateCountryPicker) && this.open) {
      this.renderRoot
        .querySelector(`#country-${this.options()[this.active]?.code}`)
        ?.scrollIntoView({ block: 'nearest' })
    }
  }

  /**
   * Closes the list, then tells the widget, which moves focus to the phone field: while the
   * sheet is open (a modal dialog) everything outside it is inert and cannot take focus.
   */
  private async choose(country: Country): Promise<void> {
    this.open = false
    await this.updateComplete
    this.dispatchEvent(new CountryPickEvent(country))
  }

  private onButtonKey(event: KeyboardEvent): void {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      void this.show()
    }
  }

  private onSearchInput(event: Event): void {
    this.query = (event.target as HTMLInputElement).value
    this.active = 0
  }

  private onSearchKey(event: KeyboardEvent): void {
    const count = this.options().length
    const steps: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10 }
    // Home and End move the caret in the search text; with Ctrl they go to the list's ends.
    if (event.ctrlKey && event.key === 'Home') steps.Home = -count
    if (event.ctrlKey && event.key === 'End') steps.End = count
    const step = steps[event.key]
    if (step !== undefined) {
      event.preventDefault()
      this.active = Math.min(Math.max(this.active + step, 0), Math.max(count - 1, 0))
    } else if (event.key === 'Enter') {
      event.preventDefault()
      const country = this.options()[this.active]
      if (country) void this.choose(country)
    } else if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation()
      void this.hide()
    } else if (event.key === 'Tab') {
      void this.hide(false)
    }
  }

  private onFocusOut(event: FocusEvent): void {
    const next = event.relatedTarget as Node | null
    if (this.open && (!next || !this.renderRoot.contains(next))) this.open = false
  }

  /** The search field, the list and its live count: in the popup or the sheet. */
  private renderList() {
    const t = this.t
    const current = this.current
    const options = this.options()
    const active = options[this.active]
    const top = this.found?.top ?? 0
    return html`<input
        part="country-search"
        type="text"
        role="combobox"
        autocomplete="off"
        spellcheck="false"
        aria-label=${t.countrySearch}
        placeholder=${t.countrySearch}
        aria-expanded="true"
        aria-controls="country-list"
        aria-autocomplete="list"
        aria-activedescendant=${active ? `country-${active.code}` : nothing}
        .value=${this.query}
        @input=${this.onSearchInput}
        @keydown=${this.onSearchKey}
      />
      <ul id="country-list" part="country-list" role="listbox" aria-label=${t.countryLabel}>
        ${options.map(
          (c, index) => html`<li
            id="country-${c.code}"
            part="country-option"
            role="option"
            aria-selected=${index === this.active}
            class="${c.code === current?.code ? 'current' : ''} ${index === top - 1 ? 'last-preferred' : ''}"
            @pointerdown=${(e: Event) => e.preventDefault()}
            @click=${() => void this.choose(c)}
          >
            ${flag(c)}<span class="name">${c.name}</span
            ><span class="dial" dir="ltr">+${c.dialCode}</span>
          </li>`,
        )}
      </ul>
      <p class="visually-hidden" role="status">
        ${options.length ? t.countryResults(options.length) : t.noCountryMatch}
      </p>
      ${options.length ? nothing : html`<p class="hint">${t.noCountryMatch}</p>`}`
  }

  protected override render() {
    const t = this.t
    const current = this.current
    let panel: unknown = nothing
    if (this.open && this.placement.sheet) {
      panel = html`<dialog
        part="country-panel"
        class="panel sheet"
        aria-label=${t.countryLabel}
        @close=${() => this.open && this.hide()}
      >
        <button class="close" type="button" @click=${() => this.hide()}>${t.closeList}</button>
        ${this.renderList()}
      </dialog>`
    } else if (this.open) {
      panel = html`<div part="country-panel" class="panel" popover=${POPOVER ? 'manual' : nothing}>
        ${this.renderList()}
      </div>`
    }
    return html`
      <div class="picker" @focusout=${this.onFocusOut}>
        <button
          part="country-button"
          type="button"
          aria-haspopup="listbox"
          aria-expanded=${this.open}
          ?disabled=${this.disabled}
          @click=${() => (this.open ? this.hide() : this.show())}
          @keydown=${this.onButtonKey}
        >
          ${flag(current)}<span class="visually-hidden">${t.countryButton(current?.name)}</span
          ><span class="dial" dir="ltr">${current ? `+${current.dialCode}` : ''}</span>
        </button>
        ${panel}
      </div>
    `
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'textgate-country-picker': TextgateCountryPicker
  }
  interface HTMLElementEventMap {
    'textgate-country-pick': CountryPickEvent
  }
}
