import { sms } from 'tencentcloud-sdk-nodejs-sms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { carrierConformance } from '../conformance.case'
import { startTencentFake } from './fake'
import { defaultTemplateParams, tencentCarrier } from './index'

const secretId = 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE'
const secretKey = 'tencent-secret-key-0123456789'
const smsSdkAppId = '1400006666'
const templates = { '1110': '{1} is your verification code. It expires in 10 minutes.' }
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
    })
  })

  it('rejects an SDK request signed with another key as AuthFailure.SignatureFailure', async () => {
    const error = await client('other-key')
      .SendSms({ PhoneNumberSet: ['+447700900123'], SmsSdkAppId: smsSdkAppId, TemplateId: '1110' })
      .catch((e: { code?: string }) => e)
    expect((error as { code?: string }).code).toBe('AuthFailure.SignatureFailure')
  })
})
