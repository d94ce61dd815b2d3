import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { validTemplatesJson } from '../projects'
import { DEFAULT_TEMPLATES, renderCodeMessage, templateProblem } from './index'

const base = { brand: 'Northwind', code: '482913', minutes: 10, origin: null }

describe('code message templates', () => {
  it('has a default in every widget language, each with the code first', () => {
    const widgetLocales = [
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
    ].concat(['ja', 'ko', 'id', 'tr', 'vi', 'it'])
    expect(Object.keys(DEFAULT_TEMPLATES).sort()).toEqual(widgetLocales.sort())
    for (const [locale, template] of Object.entries(DEFAULT_TEMPLATES)) {
      expect(templateProblem(template), locale).toBeNull()
      expect(template.startsWith('{code}'), locale).toBe(true)
      expect(template).toContain('{brand}')
      expect(template).toContain('{minutes}')
    }
  })

  it('picks the exact locale, then its language, then English', () => {
    expect(renderCodeMessage({ ...base, locale: 'fr-CA' })).toBe(
      '482913 est votre code de vérification Northwind. Il expire dans 10 minutes. Ne le partagez pas.',
    )
    expect(renderCodeMessage({ ...base, locale: 'zh-TW' })).toContain('驗證碼')
    // Chinese by script, as the widget picks its language: Hong Kong and Macao read Traditional.
    for (const locale of ['zh-HK', 'zh-Hant', 'zh-Hant-TW', 'zh-MO', 'ZH-hk']) {
      expect(renderCodeMessage({ ...base, locale }), locale).toContain('驗證碼')
    }
    for (const locale of ['zh', 'zh-SG', 'zh-Hans', 'zh-Hans-CN']) {
      expect(renderCodeMessage({ ...base, locale }), locale).toContain('验证码')
    }
    expect(renderCodeMessage({ ...base, locale: 'sw' })).toMatch(/^482913 is your Northwind/)
  })

  it("prefers the store's template in the shopper's language, then ours, then the store's English", () => {
    const templates = { en: 'Northwind code: {code}', 'pt-BR': 'Código Northwind: {code}' }
    expect(renderCodeMessage({ ...base, locale: 'pt-BR', templates })).toBe(
      'Código Northwind: 482913',
    )
    expect(renderCodeMessage({ ...base, locale: 'pt-PT', templates })).toBe(
      'Código Northwind: 482913',
    )
    expect(renderCodeMessage({ ...base, locale: 'de', templates })).toMatch(/Bestätigungscode/)
    expect(renderCodeMessage({ ...base, locale: 'sw', templates })).toBe('Northwind code: 482913')
    const chinese = { 'zh-Hans': '简体 {code}', 'zh-Hant': '繁體 {code}' }
    expect(renderCodeMessage({ ...base, locale: 'zh-TW', templates: chinese })).toBe('繁體 482913')
    expect(renderCodeMessage({ ...base, locale: 'zh-CN', templates: chinese })).toBe('简体 482913')
  })

  it('adds the WebOTP line for the widget page host', () => {
    expect(renderCodeMessage({ ...base, origin: 'https://shop.example', locale: 'en' })).toMatch(
      /\n\n@shop\.example #482913$/,
    )
  })

  it('writes the host of the WebOTP line without the page port, as the spec reads it', () => {
    const line = (origin: string) =>
      renderCodeMessage({ ...base, origin, locale: 'en' })
        .split('\n')
        .at(-1)
    expect(line('http://localhost:5173')).toBe('@localhost #482913')
    expect(line('https://shop.example:8443')).toBe('@shop.example #482913')
    expect(line('https://shop.example:443')).toBe('@shop.example #482913')
  })

  it('refuses templates without {code}, with unknown placeholders or too long', () => {
    expect(() => validTemplatesJson({ en: 'Your code' })).toThrow(/must contain \{code\}/)
    expect(() => validTemplatesJson({ en: '{code} {name}' })).toThrow(
      /unknown placeholder \{name\}/,
    )
    expect(() => validTemplatesJson({ en: `{code}${'x'.repeat(400)}` })).toThrow(/at most 320/)
    expect(() => validTemplatesJson({ 'not a tag': '{code}' })).toThrow(/BCP 47/)
    expect(validTemplatesJson({ fr: '{code} pour {brand}' })).toBe('{"fr":"{code} pour {brand}"}')
  })
})

describe.each(DIALECTS)('messages in the shopper language on %s', (dialect) => {
  let h: Harness
  beforeEach(async () => {
    h = await createHarness(dialect)
  })
  afterEach(async () => {
    await h.dispose()
  })

  it("texts the code in the widget's language, with the project's template when it has one", async () => {
    const { publishableKey, secretKey } = await h.project({
      brand: 'Northwind',
      templates: { de: 'Northwind-Code: {code} ({minutes} Min.)' },
    })
    const start = (phone: string, locale: string) =>
      h.call('POST', '/v1/verifications', {
        key: publishableKey,
        body: { phone, consent: { accepted: true }, locale },
      })
    await start('+447400181818', 'ja')
    await start('+447400191919', 'de-AT')
    await h.dispatcher.drain()
    const body = async (to: string) =>
      (await h.call('GET', `/v1/sandbox/messages?to=${encodeURIComponent(to)}`, { key: secretKey }))
        .json[0].body as string
    expect(await body('+447400181818')).toMatch(
      /^\d{6} はNorthwindの確認コードです。有効期限は10分です。/,
    )
    expect(await body('+447400191919')).toMatch(
      /^Northwind-Code: \d{6} \(10 Min\.\)\n\n@shop\.example #\d{6}$/,
    )
  })
})
