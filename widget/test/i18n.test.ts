/// <reference types="mocha" />
import { expect, waitUntil } from '@open-wc/testing'
import { chooseLocale, LOCALES, loadTranslation, matchLocale } from '../src/i18n'
import en from '../src/translations/en'
import { mount, part } from './helpers'

const chunkFetched = (name: string) =>
  performance.getEntriesByType('resource').some((e) => e.name.includes(`/translations/${name}.ts`))

describe('languages', () => {
  afterEach(() => document.documentElement.setAttribute('lang', 'en'))

  it('chooses the element’s lang, then the page’s, then the browser’s', () => {
    expect(chooseLocale('de', 'fr', ['ja'])).to.equal('de')
    expect(chooseLocale('', 'fr-CA', ['ja'])).to.equal('fr')
    expect(chooseLocale('', '', ['xx', 'pt-PT', 'ja'])).to.equal('pt-BR')
    expect(chooseLocale('', 'tlh', ['nl'])).to.equal('en')
    expect(matchLocale('zh-HK')).to.equal('zh-TW')
    expect(matchLocale('zh-Hant')).to.equal('zh-TW')
    expect(matchLocale('zh')).to.equal('zh-CN')
  })

  it('loads a locale lazily, only when used, from the page’s <html lang>', async () => {
    expect(chunkFetched('ko')).to.equal(false)
    document.documentElement.setAttribute('lang', 'ko')
    const { el } = await mount()
    await waitUntil(() => part(el, 'submit-button').textContent?.includes('코드 보내기'))
    expect(chunkFetched('ko')).to.equal(true)
    expect(chunkFetched('vi')).to.equal(false)
    expect(part(el, 'base').getAttribute('lang')).to.equal('ko')
  })

  it('arabic renders right to left, with the number itself left to right', async () => {
    const { el } = await mount('default-country="EG" lang="ar"')
    await waitUntil(() => part(el, 'base').getAttribute('dir') === 'rtl', 'never rtl')
    expect(getComputedStyle(part(el, 'base')).direction).to.equal('rtl')
    expect(part(el, 'submit-button').textContent?.trim()).to.equal('إرسال الرمز')
    expect(part(el, 'phone-input').getAttribute('dir')).to.equal('ltr')
    // Country names come from Intl.DisplayNames in the same language.
    expect(part(el, 'country-button').textContent).to.contain('مصر')
  })

  it('follows a change of the element’s lang, with country names in that language', async () => {
    const { el } = await mount('default-country="DE"')
    el.setAttribute('lang', 'fr')
    await waitUntil(() => part(el, 'submit-button').textContent?.includes('Envoyer le code'))
    await el.updateComplete
    expect(part(el, 'country-button').textContent).to.contain('Allemagne')
    expect(part(el, 'base').getAttribute('dir')).to.equal('ltr')
  })

  it('has 16 locales with every text of English', async () => {
    expect(LOCALES).to.have.length(16)
    const shape = (value: unknown): unknown =>
      typeof value === 'object' && value
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]))
        : typeof value
    for (const locale of LOCALES) {
      const translation = await loadTranslation(locale)
      expect(translation.$code, locale).to.equal(locale)
      expect(shape(translation), locale).to.deep.equal(shape(en))
      expect(translation.attemptsLeft(3), locale).to.contain('3')
    }
  })
})
