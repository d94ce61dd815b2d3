/**
 * The phone number field's state: the text as formatted while typed, and its country — which
 * countries the project offers and which the widget starts with (the project's allowed list and
 * the server's guess from `GET /v1/config`, the `default-country` attribute, the browser's
 * languages). Once the shopper picks a country or types a number with `+`, that country is theirs.
 * @module
 */
import type { WidgetConfigResponse } from '@textgate/shared'
import type { ReactiveControllerHost } from 'lit'
import type { Wording } from '../i18n'
import {
  type Country,
  type CountryCode,
  checkPhone,
  countryFromLanguages,
  countryList,
  dialCodeOf,
  type Formatted,
  formatInput,
  isCountry,
  loadFor,
  type PhoneCheck,
  problemAfterNumber,
} from './index'

/** A number the project takes, or what the shopper is told about the one typed. */
export type Validated = { number: Extract<PhoneCheck, { ok: true }> } | { problem: Wording }

export class PhoneField {
  /** The number as shown in the field. */
  text = ''
  country: CountryCode | undefined
  /** The only countries the project accepts, or null for all. */
  allowed: readonly CountryCode[] | null = null
  /** The country the page, the server or the browser suggests. */
  detected: CountryCode | undefined
  /** The shopper chose the country (in the list, or by typing `+`): nothing detected replaces it. */
  private chosen = false
  /** The server's guess of the shopper's country (CDN headers, Accept-Language). */
  private serverHint: CountryCode | undefined
  private readonly catalogs = new Map<string, Country[]>()
  /** Settings asked for so far: only the last one's answer is taken. */
  private configLoads = 0

  constructor(
    private readonly host: ReactiveControllerHost,
    /** The field, when rendered. */
    private readonly input: () => HTMLInputElement | null,
  ) {}

  /** Takes the project's settings. */
  configure(config: WidgetConfigResponse): void {
    this.serverHint = isCountry(config.country)
      ? (config.country.toUpperCase() as CountryCode)
      : undefined
    const allowed = (config.allowedCountries ?? [])
      .map((code) => code.toUpperCase())
      .filter((code): code is CountryCode => isCountry(code))
    this.allowed = allowed.length ? allowed : null
    this.catalogs.clear()
    this.host.requestUpdate()
  }

  /**
   * Sets the starting country unless the shopper chose one or typed digits: `defaultCountry`, else the server's
   * hint, else the browser's languages — the first the project accepts, else the first country
   * it accepts.
   */
  detect(defaultCountry: string): void {
    const allowed = this.allowed
    const accepted = (code: string | undefined): code is CountryCode =>
      isCountry(code) && (!allowed || allowed.includes(code.toUpperCase() as CountryCode))
    const candidates = [
      defaultCountry.toUpperCase(),
      this.serverHint,
      countryFromLanguages(navigator.languages ?? [navigator.language]),
    ]
    const found = candidates.find(accepted) ?? allowed?.[0]
    const next = found ? (found.toUpperCase() as CountryCode) : undefined
    this.detected = next
    // Nor once digits are typed under the country shown: settings that arrive late on a slow
    // network would move the number the shopper is typing to another country.
    if (!this.chosen && !/\d/.test(this.text) && next !== this.country) this.setCountry(next)
  }

  /**
   * The countries to list first: the store's (`preferred`, ISO codes separated by commas or
   * spaces), then the detected one; only those the project accepts.
   */
  preferred(preferred: string): CountryCode[] {
    const codes = [...preferred.toUpperCase().split(/[\s,]+/), this.detected]
    return [...new Set(codes)].filter(
      (code): code is CountryCode =>
        isCountry(code) && (!this.allowed || this.allowed.includes(code as CountryCode)),
    )
  }

  /** Every country the project accepts, named in `locale`. */
  catalog(locale: string): Country[] {
    let list = this.catalogs.get(locale)
    if (!list) {
      const allowed = this.allowed
      list = countryList(locale).filter((c) => !allowed || allowed.includes(c.code))
      this.catalogs.set(locale, list)
    }
    return list
  }

  /** `code` as a country named in `locale`, whether the project accepts it or not. */
  find(code: CountryCode | undefined, locale: string): Country | undefined {
    if (!code) return undefined
    return (
      this.catalog(locale).find((c) => c.code === code) ??
      countryList(locale).find((c) => c.code === code)
    )
  }

  /** The shopper picked `country` in the list. */
  choose(country: Country): void {
    const previous = dialCodeOf(this.country)
    // An international number in the field moves to the new dial code.
    if (previous && this.text.startsWith(`+${previous}`)) {
      this.text = `+${country.dialCode}${this.text.slice(previous.length + 1)}`
    }
    this.chosen = true
    this.setCountry(country.code)
  }

  /** The shopper typed, pasted or deleted in the field. */
  onInput(event: InputEvent): void {
    const input = event.target as HTMLInputElement
    // A + number pasted or inserted (a keyboard's suggestion) is the whole number, not more of
    // the digits already typed.
    if (/[+＋].*\p{Nd}/u.test(event.data ?? '')) input.value = event.data!
    const result = formatInput(
      input.value,
      input.selectionStart ?? input.value.length,
      this.country,
      event.inputType ?? '',
      this.text,
      this.allowed,
    )
    this.apply(result, true)
    if (result.text.startsWith('+') && !result.country) void this.loadMetadata()
  }

  /** What the shopper is told at once when text follows the number (an extension), if any. */
  restProblem(): Wording | undefined {
    const reason = problemAfterNumber(this.text)
    return reason && ((t) => t.phoneErrors[reason])
  }

  /**
   * Empties the field (the form's reset): the number goes, and with it the shopper's choice of
   * country, so the field starts again on the detected one, which settings may move again.
   */
  reset(): void {
    this.text = ''
    this.chosen = false
    if (this.country !== this.detected) this.setCountry(this.detected)
    else this.host.requestUpdate()
  }

  /** Checks the number (loading its country's metadata first). */
  check() {
    return checkPhone(this.text, this.country, this.allowed)
  }

  /**
   * Checks the number for sending: the number when it is valid and the project takes its
   * country, else what the shopper is told (the country named in the language of the moment).
   * Rejects when the country's metadata cannot load.
   */
  async validate(): Promise<Validated> {
    const checked = await this.check()
    if (!checked.ok) {
      const { reason } = checked
      return { problem: (t) => t.phoneErrors[reason] }
    }
    // The country as the server counts it (a Manx 07924 number is IM's, though GB's ranges
    // hold it too; an Åland mobile AX's for a project that allows AX and not FI).
    const { country } = checked
    if (!this.allowed || this.allowed.includes(country)) return { number: checked }
    return { problem: (t) => t.countryNotOffered(this.find(country, t.$code)?.name ?? country) }
  }

  /**
   * Takes the project's settings from `load`, then detects again; without them all still works.
   * An answer that comes after a newer load began (another key or server) is dropped.
   */
  async loadConfig(load: () => Promise<WidgetConfigResponse>, defaultCountry: () => string) {
    const loadNumber = ++this.configLoads
    try {
      const config = await load()
      if (loadNumber !== this.configLoads) return
      this.configure(config)
    } catch {
      return // The server checks the country at the start anyway.
    }
    this.detect(defaultCountry())
  }

  /** Sets the country and loads its phone metadata, then formats the number again. */
  private setCountry(country: CountryCode | undefined): void {
    this.country = country
    this.host.requestUpdate()
    void this.loadMetadata()
  }

  private async loadMetadata(): Promise<void> {
    try {
      await loadFor(this.text, this.country)
    } catch {
      return // Offline: the number stays unformatted; checking it reports the network failure.
    }
    const input = this.input()
    const caret = input ? (input.selectionStart ?? this.text.length) : this.text.length
    const focused = !!input && (input.getRootNode() as ShadowRoot).activeElement === input
    this.apply(formatInput(this.text, caret, this.country, '', '', this.allowed), focused)
  }

  /** Shows a formatted number; `moveCaret` when the shopper is typing in the field. */
  private apply(result: Formatted, moveCaret: boolean): void {
    this.text = result.text
    const input = this.input()
    if (input) {
      if (input.value !== result.text) input.value = result.text
      if (moveCaret) input.setSelectionRange(result.caret, result.caret)
    }
    // A number typed with + names its country (as the server reads it, for the countries the
    // project allows): the shopper's own input, so it may change it.
    if (result.country) {
      this.chosen = true
      this.country = result.country
    }
    this.host.requestUpdate()
  }
}
