import { sms } from 'tencentcloud-sdk-nodejs-sms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { carrierConformance } from '../../../testing/carrier-conformance.case'
import { startTencentFake } from '../../../testing/carriers/tencent'
import type { OutgoingMessage, TemplateData } from '../types'
import { defaultTemplateParams, tencentCarrier } from './index'

const secretId = 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE'
const secretKey = 'tencent-secret-key-0123456789'
const smsSdkAppId = '1400006666'
const templates = {
  '1110': '{1} is your verification code. It expires in 10 minutes.',
  '2220': '{1}为您的验证码，请于{2}分钟内填写。',
  '3330': '{2}: {1} is your code, valid {3} minutes.',
}
const callbackToken = 'cbt_tencent_0123'
const callbackUrl = `https://verify.example/v1/carriers/tencent/reports?token=${callbackToken}`
const TIMEOUT_MS = 300
/** Ordinary sends get a generous budget: a loaded CI machine must not make them time out. */
const SEND_TIMEOUT_MS = 10_000

carrierConformance('tencent', async () => {
  const fake = await startTencentFake({ secretId, secretKey, smsSdkAppId, templates, callbackUrl })
  const common = {
    secretId,
    smsSdkAppId,
    templateId: '1110',
    signName: 'Shop',
    endpoint: fake.baseUrl,
    callbackToken,
    timeoutMs: TIMEOUT_MS,
  }
  return {
    fake,
    adapter: tencentCarrier({ ...common, secretKey, timeoutMs: SEND_TIMEOUT_MS }),
    timeoutAdapter: tencentCarrier({ ...common, secretKey }),
    badCredentials: tencentCarrier({
      ...common,
      secretKey: 'wrong-secret',
      timeoutMs: SEND_TIMEOUT_MS,
    }),
    timeoutMs: TIMEOUT_MS,
    reportsCarryTime: true,
    throttlesWithoutRetryAfter:
      'tencent answers HTTP 200 with Error.Code RequestLimitExceeded and no Retry-After',
  }
})

describe('tencent adapter details', () => {
  it('takes the code as the template parameter, and refuses a text without one', () => {
    const base = { id: 'm', to: '+447700900123', projectId: 'p', mode: 'live' as const }
    expect(defaultTemplateParams({ ...base, body: '123456 is your Shop code' })).toEqual(['123456'])
    expect(() => defaultTemplateParams({ ...base, body: 'no code' })).toThrow(/no code/)
  })
})

describe('tencent fake, driven by the official tencentcloud-sdk-nodejs-sms', () => {
  let fake: Awaited<ReturnType<typeof startTencentFake>>
  const client = (key: string) =>
    new sms.v20210111.Client({
      credential: { secretId, secretKey: key },
      region: 'ap-guangzhou',
      profile: {
        httpProfile: { endpoint: fake.baseUrl.replace('http://', ''), protocol: 'http://' },
      },
    })
  beforeAll(async () => {
    fake = await startTencentFake({ secretId, secretKey, smsSdkAppId, templates, callbackUrl })
  })
  afterAll(() => fake.close())

  it('accepts SendSms signed by the SDK (TC3-HMAC-SHA256) and answers what it parses', async () => {
    const answer = await client(secretKey).SendSms({
      PhoneNumberSet: ['+447700900123'],
      SmsSdkAppId: smsSdkAppId,
      TemplateId: '1110',
      TemplateParamSet: ['654321'],
      SessionContext: 'msg_1',
    })
    expect(answer.SendStatusSet?.[0]).toMatchObject({ Code: 'Ok', Fee: 1, SessionContext: 'msg_1' })
    expect(answer.SendStatusSet?.[0]?.SerialNo).toMatch(/^2028:/)
    expect(fake.sends.at(-1)).toEqual({
      to: '+447700900123',
      text: '654321 is your verification code. It expires in 10 minutes.',
      templateParams: ['654321'],
      templateId: '1110',
    })
  })

  it('rejects an SDK request signed with another key as AuthFailure.SignatureFailure', async () => {
    const error = await client('other-key')
      .SendSms({ PhoneNumberSet: ['+447700900123'], SmsSdkAppId: smsSdkAppId, TemplateId: '1110' })
      .catch((e: { code?: string }) => e)
    expect((error as { code?: string }).code).toBe('AuthFailure.SignatureFailure')
  })
})

describe("tencent: the project's registered template and sign name reach the wire", () => {
  let fake: Awaited<ReturnType<typeof startTencentFake>>
  beforeAll(async () => {
    fake = await startTencentFake({ secretId, secretKey, smsSdkAppId, templates, callbackUrl })
  })
  afterAll(() => fake.close())

  const adapter = (entry: { signName?: string; templateId?: string } = {}) =>
    tencentCarrier({ secretId, secretKey, smsSdkAppId, endpoint: fake.baseUrl, ...entry })
  const values = { code: '482913', minutes: '10', brand: 'GoodShop' }
  const message = (to: string, template?: TemplateData): OutgoingMessage => ({
    id: 'msg_tc_1',
    to,
    body: '【好店】2026 482913 为您的验证码',
    projectId: 'prj_1',
    mode: 'live',
    ...(template ? { template } : {}),
  })

  it('sends the mapped TemplateId, SignName and TemplateParamSet in the declared order', async () => {
    await adapter({ templateId: '1110', signName: 'Entry' }).send(
      message('+8613800138000', {
        values,
        locale: 'zh-CN',
        signName: '好店',
        tencent: { templateId: '2220', params: ['code', 'minutes'] },
      }),
    )
    expect(fake.sends.at(-1)).toEqual({
      to: '+8613800138000',
      signName: '好店',
      templateId: '2220',
      templateParams: ['482913', '10'],
      text: '482913为您的验证码，请于10分钟内填写。',
    })
    await adapter().send(
      message('+447700900123', {
        values,
        locale: 'en',
        tencent: { templateId: '3330', params: ['code', 'brand', 'minutes'] },
      }),
    )
    expect(fake.sends.at(-1)).toMatchObject({
      templateId: '3330',
      templateParams: ['482913', 'GoodShop', '10'],
      text: 'GoodShop: 482913 is your code, valid 10 minutes.',
    })
  })

  it('falls back to the carrier entry, with ["code"] as the parameters', async () => {
    await adapter({ templateId: '1110', signName: 'Entry' }).send(
      message('+8613800138000', { values, locale: null }),
    )
    expect(fake.sends.at(-1)).toMatchObject({
      signName: 'Entry',
      templateId: '1110',
      templateParams: ['482913'],
    })
  })

  it('refuses a +86 text without a sign name, and any text without a template id', async () => {
    const before = fake.sends.length
    await expect(
      adapter({ templateId: '1110' }).send(message('+8613800138000', { values, locale: null })),
    ).rejects.toMatchObject({ permanent: true, message: expect.stringMatching(/need a sign name/) })
    await expect(
      adapter({ signName: 'Entry' }).send(message('+447700900123', { values, locale: null })),
    ).rejects.toMatchObject({ permanent: true, message: expect.stringMatching(/no template id/) })
    expect(fake.sends.length).toBe(before)
  })
})
