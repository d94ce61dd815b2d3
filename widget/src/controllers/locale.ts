/**
 * The widget's language: the element's `lang`, else the page's `<html lang>` (both watched), else
 * the browser's languages. English is built in; another language's texts load first, then apply.
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
    this.langs.observe(document.documentElement, { attributeFilter: ['lang'] })
    this.langs.observe(this.host, { attributeFilter: ['lang'] })
    this.apply()
  }

  hostDisconnected(): void {
    this.langs?.disconnect()
  }

  /** Chooses the locale (again: the element's or the page's `lang` changed). */
  private apply(): void {
    const tags = [
      this.host.getAttribute('lang') ?? '',
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
