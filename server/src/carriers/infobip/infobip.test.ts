import { AuthType, Infobip } from '@infobip-api/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { carrierConformance } from '../../../testing/carrier-conformance.case'
import { startInfobipFake } from '../../../testing/carriers/infobip'
import { infobipCarrier, parseInfobipTime } from './index'

const apiKey = 'infobip-api-key-0123456789abcdef'
const callbackToken = 'cbt_0123456789abcdef'
const notifyUrl = `https://verify.example/v1/carriers/infobip/reports?token=${callbackToken}`
const TIMEOUT_MS = 300
/** Ordinary sends get a generous budget: a loaded CI machine must not make them time out. */
const SEND_TIMEOUT_MS = 10_000

carrierConformance('infobip', async () => {
  const fake = await startInfobipFake({ apiKey, notifyUrl })
  const common = {
    baseUrl: fake.baseUrl,
    from: 'Shop',
    notifyUrl: 'https://verify.example/v1/carriers/infobip/reports',
    callbackToken,
    timeoutMs: TIMEOUT_MS,
  }
  return {
    fake,
    adapter: infobipCarrier({ ...common, apiKey, timeoutMs: SEND_TIMEOUT_MS }),
    timeoutAdapter: infobipCarrier({ ...common, apiKey }),
    badCredentials: infobipCarrier({
      ...common,
      apiKey: 'wrong-secret',
      timeoutMs: SEND_TIMEOUT_MS,
    }),
    timeoutMs: TIMEOUT_MS,
    reportsCarryTime: true,
  }
})

describe('infobip adapter details', () => {
  let fake: Awaited<ReturnType<typeof startInfobipFake>>
  beforeAll(async () => {
    fake = await startInfobipFake({ apiKey, notifyUrl })
  })
  afterAll(() => fake.close())

  it('passes our message id and a notify URL carrying the token', async () => {
    const adapter = infobipCarrier({
      baseUrl: fake.baseUrl,
      apiKey,
      from: 'Shop',
      notifyUrl: 'https://verify.example/v1/carriers/infobip/reports',
      callbackToken,
    })
    const result = await adapter.send({
      id: 'msg_ib1',
      to: '+447700900123',
      body: 'Code 1',
      projectId: 'p',
      mode: 'live',
    })
    expect(result.carrierMessageId).toBe('msg_ib1')
    expect(fake.sends.at(-1)).toMatchObject({ messageId: 'msg_ib1', notifyUrl })
  })

  it("sends validityPeriod: the code's remaining lifetime in whole minutes, 1 … 2,880", async () => {
    const T = Date.UTC(2026, 10, 27, 12, 0, 0)
    const adapter = infobipCarrier({ baseUrl: fake.baseUrl, apiKey, from: 'Shop', now: () => T })
    const send = (id: string, expiresAt?: number) =>
      adapter.send({
        id,
        to: '+447700900123',
        body: 'Code 1',
        projectId: 'p',
        mode: 'live',
        ...(expiresAt === undefined ? {} : { expiresAt }),
      })
    await send('vp_10m', T + 600_000)
    await send('vp_9m59', T + 599_999)
    await send('vp_3d', T + 3 * 86_400_000)
    await send('vp_30s', T + 30_000)
    await send('vp_past', T - 1_000)
    await send('vp_none')
    const recorded = fake.sends
      .filter((s) => s.messageId?.startsWith('vp_'))
      .map((s) => [s.messageId, s.validityPeriod])
    expect(recorded).toEqual([
      ['vp_10m', 10],
      ['vp_9m59', 9],
      ['vp_3d', 2_880],
      ['vp_30s', 1],
      ['vp_past', 1],
      ['vp_none', undefined],
    ])
  })

  it('reads the price of every part and Infobip timestamps', () => {
    const adapter = infobipCarrier({ baseUrl: fake.baseUrl, apiKey, from: 'Shop', callbackToken })
    const report = fake.deliveryReport('m1', 'delivered', {
      at: Date.parse('2026-11-27T10:00:00Z'),
    })
    const body = JSON.parse(report.body)
    body.results[0].smsCount = 3
    const [parsed] = adapter.parseReports!({ ...report, body: JSON.stringify(body) }, 0)
    expect(parsed).toMatchObject({
      cost: { amount: '0.0375', currency: 'EUR' },
      at: Date.parse('2026-11-27T10:00:00Z'),
    })
    expect(parseInfobipTime('2026-11-27T11:00:00.000+0100')).toBe(
      Date.parse('2026-11-27T10:00:00Z'),
    )
  })
})

describe('infobip fake, driven by the official @infobip-api/sdk', () => {
  let fake: Awaited<ReturnType<typeof startInfobipFake>>
  beforeAll(async () => {
    fake = await startInfobipFake({ apiKey, notifyUrl })
  })
  afterAll(() => fake.close())

  it('accepts channels.sms.send and answers what the SDK returns', async () => {
    const infobip = new Infobip({ baseUrl: fake.baseUrl, apiKey, authType: AuthType.ApiKey })
    const response = await infobip.channels.sms.send({
      messages: [{ destinations: [{ to: '447700900123' }], from: 'Shop', text: 'Ваш код 123456' }],
    })
    expect(response.status).toBe(200)
    expect(response.data.messages[0]).toMatchObject({
      to: '447700900123',
      status: { groupName: 'PENDING' },
    })
    expect(fake.sends.at(-1)).toMatchObject({ to: '+447700900123', text: 'Ваш код 123456' })
  })

  it('answers a wrong key with 401 UNAUTHORIZED as the SDK sees it', async () => {
    const infobip = new Infobip({
      baseUrl: fake.baseUrl,
      apiKey: 'nope',
      authType: AuthType.ApiKey,
    })
    const error = await infobip.channels.sms.send({
      messages: [{ destinations: [{ to: '447700900123' }], from: 'Shop', text: 'x' }],
    })
    expect(error.response.status).toBe(401)
    expect(error.response.data.requestError.serviceException.messageId).toBe('UNAUTHORIZED')
  })
})
