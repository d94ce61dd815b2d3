/**
 * Locales of <textgate-verify>: which one a page wants, and loading it. English is built in;
 * every other locale is its own chunk, imported only when used.
 * @module
 */
import en, { type Translation } from './translations/en'

export type { Translation }
export { en }

/**
 * A message kept as what it says, not as one language's text: worded anew with the texts in use
 * at each render, so a change of language mid-flow re-words what is already on screen.
 */
export type Wording = (t: Translation) => string

export const LOCALES = [
  'en',
  'zh-CN',
  'zh-TW',
  'ru',
  'hi',
  'es',
  'pt-BR',
  'fr',
  'de',
  'ar',
  'ja',
  'ko',
  'id',
  'tr',
  'vi',
  'it',
] as const
export type Locale = (typeof LOCALES)[number]

type Loader = () => Promise<{ default: Translation }>
const LOADERS: Record<Exclude<Locale, 'en'>, Loader> = {
  'zh-CN': () => import('./translations/zh-CN'),
  'zh-TW': () => import('./translations/zh-TW'),
  ru: () => import('./translations/ru'),
  hi: () => import('./translations/hi'),
  es: () => import('./translations/es'),
  'pt-BR': () => import('./translations/pt-BR'),
  fr: () => import('./translations/fr'),
  de: () => import('./translations/de'),
  ar: () => import('./translations/ar'),
  ja: () => import('./translations/ja'),
  ko: () => import('./translations/ko'),
  id: () => import('./translations/id'),
  tr: () => import('./translations/tr'),
  vi: () => import('./translations/vi'),
  it: () => import('./translations/it'),
}

/** The supported locale closest to one BCP 47 tag, if any ("pt" → pt-BR, "zh-HK" → zh-TW). */
export function matchLocale(tag: string | null | undefined): Locale | undefined {
  if (!tag) return undefined
  let locale: Intl.Locale
  try {
    locale = new Intl.Locale(tag)
  } catch {
    return undefined
  }
  const { language } = locale
  if (language === 'zh') {
    const { script, region } = locale.maximize()
    return script === 'Hant' || region === 'TW' || region === 'HK' || region === 'MO'
      ? 'zh-TW'
      : 'zh-CN'
  }
  if (language === 'pt') return 'pt-BR'
  if (language === 'in') return 'id'
  return LOCALES.find((candidate) => candidate === language)
}

/** The first supported locale among the element's lang, the page's, then the browser's. */
export function chooseLocale(
  elementLang: string,
  pageLang: string,
  browserLanguages: readonly string[],
): Locale {
  for (const tag of [elementLang, pageLang, ...browserLanguages]) {
    const locale = matchLocale(tag)
    if (locale) return locale
  }
  return 'en'
}

/**
 * The tag to format dates and numbers with for `locale`: the most precise of the element's lang,
 * the page's and the browser's languages that names it ("en-GB" before "en"), else the locale.
 */
export function formatTag(locale: Locale, tags: readonly string[]): string {
  const same = tags.filter((tag) => matchLocale(tag) === locale)
  return same.find((tag) => tag.includes('-')) ?? same[0] ?? locale
}

const cache = new Map<Locale, Translation>([['en', en]])

/** The texts of a locale already loaded, if so. */
export const loadedTranslation = (locale: Locale) => cache.get(locale)

/** Loads a locale's texts (once); English when the chunk cannot be fetched. */
export async function loadTranslation(locale: Locale): Promise<Translation> {
  const known = cache.get(locale)
  if (known) return known
  try {
    const { default: translation } = await LOADERS[locale as Exclude<Locale, 'en'>]()
    cache.set(locale, translation)
    return translation
  } catch {
    return en
  }
}
