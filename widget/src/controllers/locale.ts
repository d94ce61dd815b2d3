/**
 * The widget's language: the nearest `lang` — the element's own, else its closest ancestor's (as
 * HTML inherits it), else the page's `<html lang>`, all watched — else the browser's languages.
 * English is built in; another language's texts load first, then apply.
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import {
  chooseLocale,
  en,
  formatTag,
  type Locale,
  loadedTranslation,
  loadTranslation,
} from '../i18n'
import type { Translation } from '../translations/en'

export class LocaleController implements ReactiveController {
  /** The texts in use. */
  t: Translation = en
  /**
   * The shopper's own tag for that language ("en-GB"), for dates and times; it changes with the
   * texts, never before them, so a clock is not in a language the sentence around it is not.
   */
  tag = 'en'
  private locale: Locale = 'en'
  private langs: MutationObserver | undefined

  constructor(private readonly host: ReactiveControllerHost & HTMLElement) {
    host.addController(this)
  }

  hostConnected(): void {
    this.langs = new MutationObserver(() => this.apply())
    // The whole page: a store may set lang on a section around the widget, not on <html>.
    this.langs.observe(document.documentElement, { attributeFilter: ['lang'], subtree: true })
    this.langs.observe(this.host, { attributeFilter: ['lang'] })
    this.apply()
  }

  hostDisconnected(): void {
    this.langs?.disconnect()
  }

  /** Chooses the locale (again: a `lang` changed, the element's, around it or the page's). */
  private apply(): void {
    const tags = [
      this.host.closest('[lang]')?.getAttribute('lang') ?? '',
      document.documentElement.lang,
      ...(navigator.languages ?? [navigator.language]),
    ]
    const locale = chooseLocale(tags[0]!, tags[1]!, tags.slice(2))
    const tag = formatTag(locale, tags)
    this.locale = locale
    // Until a language's texts have loaded, the ones on screen stay (nothing blank).
    const ready = loadedTranslation(locale)
    if (ready) this.set(ready, locale, tag)
    else
      void loadTranslation(locale).then((translation) => {
        if (this.locale === locale) this.set(translation, locale, tag)
      })
  }

  private set(translation: Translation, locale: Locale, tag: string): void {
    // English in place of a chunk that could not load: its clock is English too.
    if (translation.$code !== locale) tag = translation.$code
    if (translation === this.t && tag === this.tag) return
    this.t = translation
    this.tag = tag
    this.host.requestUpdate()
  }
}
