import { describe, expect, it } from 'vitest'
import { renderCodeMessage } from './index'
import {
  parseRegistrations,
  RegistrationsError,
  type SmsRegistrations,
  templateData,
} from './registrations'

const registrations: SmsRegistrations = {
  signName: '好店',
  alibaba: { templateCode: 'SMS_154950909', params: { code: 'code', min: 'minutes' } },
  tencent: { templateId: '1110', params: ['code', 'minutes'] },
  indiaDlt: { entityId: '1101456789012345678', templateId: '1107161234567890123' },
  locales: {
    en: { signName: 'GoodShop', alibaba: { templateCode: 'SMS_154950910' } },
    hi: { indiaDlt: { templateId: '1107161234567890999' } },
  },
}

function issuesOf(input: unknown): string[] {
  try {
    parseRegistrations(input)
  } catch (error) {
    if (error instanceof RegistrationsError) return error.issues
    throw error
  }
  return []
}

describe('SMS registrations', () => {
  it('accepts a full mapping, as an object or its JSON', () => {
    expect(parseRegistrations(registrations)).toEqual(registrations)
    expect(parseRegistrations(JSON.stringify(registrations))).toEqual(registrations)
    expect(parseRegistrations({})).toEqual({})
  })

  it('names every bad field once, by its path', () => {
    const issues = issuesOf({
      signName: '【好店】',
      alibaba: { templateCode: '154950909', params: { min: 'minutes' } },
      tencent: { templateId: 'abc', params: ['code', 'seconds'] },
      indiaDlt: { entityId: 1101456789 },
      locales: { 'not a tag': {}, fr: { tencent: { sign: 'x' } } },
      extra: true,
    })
    expect(issues).toEqual([
      'signName: is the name alone, without 【】 brackets',
      'alibaba.templateCode: must look like SMS_123456789',
      'alibaba.params: must map one variable to "code"',
      'tencent.templateId: must be the numeric id',
      'tencent.params.1: must be "code", "minutes" or "brand"',
      'indiaDlt.entityId: must be text (the id as digits, in quotes)',
      'locales.not a tag: locale keys must be BCP 47 tags such as zh-CN',
      'locales.fr.tencent.sign: is not a known field',
      'extra: is not a known field',
    ])
    expect(issuesOf('{ nope')).toEqual(['(root): is not JSON'])
    expect(issuesOf({ indiaDlt: { templateId: '12' } })).toEqual([
      'indiaDlt.templateId: must be the DLT id: 10 to 30 digits',
    ])
  })

  it("lays the locale's fields over the project's, by language when the tag is not listed", () => {
    const base = { code: '482913', minutes: 10, brand: 'Shop', registrations }
    const zh = templateData({ ...base, locale: 'zh-CN' })
    expect(zh).toEqual({
      values: { code: '482913', minutes: '10', brand: 'Shop' },
      locale: 'zh-CN',
      signName: '好店',
      alibaba: registrations.alibaba,
      tencent: registrations.tencent,
      indiaDlt: registrations.indiaDlt,
    })
    const en = templateData({ ...base, locale: 'en-GB' })
    expect(en.signName).toBe('GoodShop')
    expect(en.alibaba).toEqual({
      templateCode: 'SMS_154950910',
      params: { code: 'code', min: 'minutes' },
    })
    const hi = templateData({ ...base, locale: 'hi' })
    expect(hi.indiaDlt).toEqual({
      entityId: '1101456789012345678',
      templateId: '1107161234567890999',
    })
    expect(templateData({ ...base, locale: null, registrations: null })).toEqual({
      values: { code: '482913', minutes: '10', brand: 'Shop' },
      locale: null,
    })
  })
})

describe('the 【signature】 of texts to mainland China', () => {
  const input = { brand: '好店', code: '482913', minutes: 10, origin: null }

  it('starts the default zh text with the sign name', () => {
    expect(renderCodeMessage({ ...input, locale: 'zh-CN', chinaSignature: '好店' })).toBe(
      '【好店】482913 是您的好店验证码，10分钟内有效。请勿告诉他人。',
    )
    expect(renderCodeMessage({ ...input, locale: 'zh-CN' })).toBe(
      '482913 是您的好店验证码，10分钟内有效。请勿告诉他人。',
    )
  })

  it('does not sign twice a template that carries its signature', () => {
    const templates = { 'zh-CN': '【好店】您的验证码是{code}' }
    expect(
      renderCodeMessage({ ...input, locale: 'zh-CN', templates, chinaSignature: '好店' }),
    ).toBe('【好店】您的验证码是482913')
  })
})
