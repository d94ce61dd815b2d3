/// <reference types="mocha" />
// Translation checks (issue 12): the translations are not yet reviewed by native speakers, so
// these catch what a machine can — a missing key, a lost placeholder, a plural chosen by hand.
import { expect } from '@open-wc/testing'
import { LOCALES, loadTranslation } from '../src/i18n'
import en from '../src/translations/en'

type Tree = Record<string, unknown>

/** Every key path of a translation, with its kind: a text, or a function of n arguments. */
function shape(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const [key, value] of Object.entries(tree)) {
    const path = `${prefix}${key}`
    if (typeof value === 'function') out.set(path, `function/${value.length}`)
    else if (value && typeof value === 'object') {
      for (const [k, v] of shape(value as Tree, `${path}.`)) out.set(k, v)
    } else out.set(path, typeof value)
  }
  return out
}

/** Messages that take a value, and a value for each, which the message must show. */
const VALUES: Record<string, unknown> = {
  countryButton: 'Xanadu',
  countryResults: 7,
  codeLabel: 7,
  codeSentTo: '+44 7400 123123',
  resendIn: 7,
  expiresAt: '23:59',
  attemptsLeft: 7,
  verified: '+44 7400 123123',
  countryNotOffered: 'Xanadu',
  rateLimited: '7 minutes',
}

/** Messages with a count, whose words must follow the locale's plural categories. */
const COUNTED = ['countryResults', 'attemptsLeft', 'resendIn', 'codeLabel'] as const

describe('translations', () => {
  const reference = shape(en as unknown as Tree)

  for (const locale of LOCALES) {
    it(`${locale}: every key of English, of the same kind, and no others`, async () => {
      const t = await loadTranslation(locale)
      expect(t.$code).to.equal(locale)
      expect([...shape(t as unknown as Tree)].sort()).to.deep.equal([...reference].sort())
      for (const [path, kind] of shape(t as unknown as Tree)) {
        if (kind === 'string' && !path.startsWith('$')) {
          const text = path.split('.').reduce<unknown>((o, k) => (o as Tree)[k], t) as string
          expect(text.trim(), path).to.not.equal('')
          expect(text, `${path} has a stray placeholder`).to.not.match(/\$\{|\{\w+\}|%s/)
        }
      }
    })

    it(`${locale}: each message with a value shows it`, async () => {
      const t = (await loadTranslation(locale)) as unknown as Record<string, (v: unknown) => string>
      for (const [key, value] of Object.entries(VALUES)) {
        const text = t[key]!(value)
        expect(text, `${locale}.${key}`).to.contain(String(value))
        expect(text, `${locale}.${key}`).to.not.match(/undefined|NaN|\$\{/)
      }
      expect(t.countryButton!(undefined)).to.not.contain('undefined')
    })

    it(`${locale}: counted messages follow Intl.PluralRules categories`, async () => {
      const t = (await loadTranslation(locale)) as unknown as Record<string, (n: number) => string>
      const rules = new Intl.PluralRules(locale)
      for (const key of COUNTED) {
        // Within one plural category the words are the same: a message that picks its form with
        // `n === 1` instead of the locale's rules fails here (Russian 21 is "one", 11 is "many").
        const byCategory = new Map<string, Map<string, number>>()
        for (let n = 0; n <= 125; n++) {
          const words = t[key]!(n).replace(String(n), '#')
          const category = rules.select(n)
          const seen = byCategory.get(category) ?? new Map<string, number>()
          seen.set(words, n)
          byCategory.set(category, seen)
        }
        for (const [category, forms] of byCategory) {
          expect(
            [...forms.keys()],
            `${locale}.${key}, category "${category}": ${[...forms.values()]}`,
          ).to.have.length(1)
        }
      }
    })
  }
})
