import Dysmsapi, { SendSmsRequest } from '@alicloud/dysmsapi20170525'
import { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { carrierConformance } from '../../../testing/carrier-conformance.case'
import { startAlibabaFake } from '../../../testing/carriers/alibaba'
import type { OutgoingMessage, TemplateData } from '../types'
import { alibabaCarrier, alibabaSignature, percentEncode } from './index'

const accessKeyId = 'LTAI5tEXAMPLEKEYID0000'
const accessKeySecret = 'alibaba-access-key-secret-0123'
const templates = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Alibaba's own template syntax
  SMS_1234567: '您的验证码为${code}，5分钟内有效。',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Alibaba's own template syntax
  SMS_154950909: '您的验证码为${code}，${min}分钟内有效。',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Alibaba's own template syntax
  SMS_154950910: 'Your ${brand} code is ${code}. Valid ${min} minutes.',
}
const callbackToken = 'cbt_alibaba_0123'
const callbackUrl = `https://verify.example/v1/carriers/alibaba/reports?token=${callbackToken}`
const TIMEOUT_MS = 300
/** Ordinary sends get a generous budget: a loaded CI machine must not make them time out. */
const SEND_TIMEOUT_MS = 10_000

carrierConformance('alibaba', async () => {
  const fake = await startAlibabaFake({ accessKeyId, accessKeySecret, templates, callbackUrl })
  const common = {
    accessKeyId,
    signName: '阿里云短信测试',
    templateCode: 'SMS_1234567',
    endpoint: fake.baseUrl,
    callbackToken,
    timeoutMs: TIMEOUT_MS,
  }
  return {
    fake,
    adapter: alibabaCarrier({ ...common, accessKeySecret, timeoutMs: SEND_TIMEOUT_MS }),
    timeoutAdapter: alibabaCarrier({ ...common, accessKeySecret }),
    badCredentials: alibabaCarrier({
      ...common,
      accessKeySecret: 'wrong-secret',
      timeoutMs: SEND_TIMEOUT_MS,
    }),
    timeoutMs: TIMEOUT_MS,
    reportsCarryTime: true,
    throttlesWithoutRetryAfter:
      'alibaba answers throttling with Code isv.BUSINESS_LIMIT_CONTROL in HTTP 200, no Retry-After',
  }
})

describe('alibaba signature helpers', () => {
  it('percent-encodes as RFC 3986 (space as %20, * and ~ as Alibaba expects)', () => {
    expect(percentEncode("a b*c~d!'()")).toBe('a%20b%2Ac~d%21%27%28%29')
  })
})

describe('alibaba fake, driven by the official @alicloud/dysmsapi20170525 SDK', () => {
  let fake: Awaited<ReturnType<typeof startAlibabaFake>>
  const client = (secret: string) =>
    new Dysmsapi(
      new $OpenApiUtil.Config({
        accessKeyId,
        accessKeySecret: secret,
        endpoint: fake.baseUrl.replace('http://', ''),
        protocol: 'http',
        // Signature version 1.0 (HMAC-SHA1) RPC requests, which the adapter speaks.
        signatureAlgorithm: 'v2',
      }),
    )
  beforeAll(async () => {
    fake = await startAlibabaFake({ accessKeyId, accessKeySecret, templates, callbackUrl })
  })
  afterAll(() => fake.close())

  it('accepts sendSms signed by the SDK and answers what it parses', async () => {
    const answer = await client(accessKeySecret).sendSms(
      new SendSmsRequest({
        phoneNumbers: '13800138000',
        signName: '阿里云短信测试',
        templateCode: 'SMS_1234567',
        templateParam: JSON.stringify({ code: '4321' }),
        outId: 'msg_1',
      }),
    )
    expect(answer.statusCode).toBe(200)
    expect(answer.body?.code).toBe('OK')
    expect(answer.body?.bizId).toMatch(/\^0$/)
    expect(fake.sends.at(-1)).toEqual({
      to: '+8613800138000',
      text: '您的验证码为4321，5分钟内有效。',
      templateParams: ['4321'],
      signName: '阿里云短信测试',
      templateCode: 'SMS_1234567',
      variables: { code: '4321' },
    })
  })

  it('rejects an SDK request signed with another secret as SignatureDoesNotMatch', async () => {
    const error = await client('other-secret')
      .sendSms(
        new SendSmsRequest({
          phoneNumbers: '13800138000',
          signName: 'x',
          templateCode: 'SMS_1234567',
        }),
      )
      .catch((e: { code?: string }) => e)
    expect((error as { code?: string }).code).toBe('SignatureDoesNotMatch')
  })

  it('signs like the SDK for a parameter set with awkward characters', () => {
    // The SDK's own v1 signing (OpenApiUtil.getRPCSignature) is the oracle.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Alibaba's own template syntax
    const params = { b: 'x y*z~', a: '验证码 ${code}', Timestamp: '2026-11-27T10:00:00Z' }
    expect(alibabaSignature(params, 'POST', accessKeySecret)).toBe(
      OpenApiUtil.getRPCSignature(params, 'POST', accessKeySecret),
    )
  })
})

describe("alibaba: the project's registered template and sign name reach the wire", () => {
  let fake: Awaited<ReturnType<typeof startAlibabaFake>>
  beforeAll(async () => {
    fake = await startAlibabaFake({ accessKeyId, accessKeySecret, templates, callbackUrl })
  })
  afterAll(() => fake.close())

  const adapter = (entry: { signName?: string; templateCode?: string } = {}) =>
    alibabaCarrier({ accessKeyId, accessKeySecret, endpoint: fake.baseUrl, ...entry })
  const values = { code: '482913', minutes: '10', brand: 'GoodShop' }
  const message = (template?: TemplateData): OutgoingMessage => ({
    id: 'msg_ali_1',
    to: '+8613800138000',
    // The text holds other digit runs first: the code must come from the named values.
    body: '【好店】2026 482913 是您的好店验证码',
    projectId: 'prj_1',
    mode: 'live',
    ...(template ? { template } : {}),
  })

  it('sends the mapped TemplateCode, SignName and TemplateParam built from named values', async () => {
    await adapter({ signName: 'Entry', templateCode: 'SMS_1234567' }).send(
      message({
        values,
        locale: 'zh-CN',
        signName: '好店',
        alibaba: { templateCode: 'SMS_154950909', params: { code: 'code', min: 'minutes' } },
      }),
    )
    expect(fake.sends.at(-1)).toMatchObject({
      to: '+8613800138000',
      signName: '好店',
      templateCode: 'SMS_154950909',
      variables: { code: '482913', min: '10' },
      text: '您的验证码为482913，10分钟内有效。',
    })
  })

  it("uses a locale's own template and sign name (English template, English signature)", async () => {
    await adapter().send(
      message({
        values,
        locale: 'en',
        signName: '好店',
        alibaba: {
          templateCode: 'SMS_154950910',
          signName: 'GoodShop',
          params: { brand: 'brand', code: 'code', min: 'minutes' },
        },
      }),
    )
    expect(fake.sends.at(-1)).toMatchObject({
      signName: 'GoodShop',
      templateCode: 'SMS_154950910',
      text: 'Your GoodShop code is 482913. Valid 10 minutes.',
    })
  })

  it('falls back to the carrier entry, with { code } as the parameters', async () => {
    await adapter({ signName: 'Entry', templateCode: 'SMS_1234567' }).send(
      message({ values, locale: null }),
    )
    expect(fake.sends.at(-1)).toMatchObject({
      signName: 'Entry',
      templateCode: 'SMS_1234567',
      variables: { code: '482913' },
    })
  })

  it('fails permanently, naming what to set, without a template code or a sign name', async () => {
    const before = fake.sends.length
    await expect(
      adapter({ signName: 'Entry' }).send(message({ values, locale: null })),
    ).rejects.toMatchObject({ permanent: true, message: expect.stringMatching(/no template code/) })
    await expect(
      adapter({ templateCode: 'SMS_1234567' }).send(message({ values, locale: null })),
    ).rejects.toMatchObject({ permanent: true, message: expect.stringMatching(/no sign name/) })
    expect(fake.sends.length).toBe(before)
  })
})
