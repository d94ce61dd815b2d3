import { Vonage } from '@vonage/server-sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { carrierConformance } from '../../../testing/carrier-conformance.case'
import { startVonageFake } from '../../../testing/carriers/vonage'
import { sumDecimals, vonageCallbackParams, vonageCarrier, vonageSignature } from './index'

const apiKey = 'abcd1234'
const apiSecret = 'vonage-api-secret'
const signature = { secret: 'vonage-signature-secret-0123456789', method: 'sha256' as const }
const callbackUrl = 'https://verify.example/v1/carriers/vonage/reports'
const TIMEOUT_MS = 300
/** Ordinary sends get a generous budget: a loaded CI machine must not make them time out. */
const SEND_TIMEOUT_MS = 10_000

carrierConformance('vonage', async () => {
  const fake = await startVonageFake({ apiKey, apiSecret, signature, callbackUrl })
  const common = {
    apiKey,
    from: 'Shop',
    callbackUrl,
    restHost: fake.baseUrl,
    timeoutMs: TIMEOUT_MS,
  }
  return {
    fake,
    adapter: vonageCarrier({ ...common, signature, timeoutMs: SEND_TIMEOUT_MS }),
    timeoutAdapter: vonageCarrier({ ...common, signature }),
    badCredentials: vonageCarrier({
      ...common,
      apiSecret: 'wrong-secret',
      timeoutMs: SEND_TIMEOUT_MS,
    }),
    timeoutMs: TIMEOUT_MS,
    reportsCarryTime: true,
  }
})

describe('vonage adapter details', () => {
  let fake: Awaited<ReturnType<typeof startVonageFake>>
  beforeAll(async () => {
    fake = await startVonageFake({ apiKey, apiSecret, signature, callbackUrl })
  })
  afterAll(() => fake.close())

  it("sends ttl: the code's remaining lifetime in ms, clamped to 20 s … 7 days, signed", async () => {
    // A fixed clock near the real one: the fake checks the signed timestamp against it.
    const T = Date.now()
    const adapter = vonageCarrier({
      apiKey,
      signature,
      from: 'Shop',
      restHost: fake.baseUrl,
      now: () => T,
    })
    const send = (to: string, expiresAt?: number) =>
      adapter.send({
        id: `ttl_${to}`,
        to,
        body: 'Code 1234',
        projectId: 'p',
        mode: 'live',
        ...(expiresAt === undefined ? {} : { expiresAt }),
      })
    const start = fake.sends.length
    await send('+447700900201', T + 600_000)
    await send('+447700900202', T + 30 * 86_400_000)
    await send('+447700900203', T + 5_000)
    await send('+447700900204', T - 1_000)
    await send('+447700900205')
    expect(fake.sends.slice(start).map((s) => [s.to, s.ttl])).toEqual([
      ['+447700900201', 600_000],
      ['+447700900202', 604_800_000],
      ['+447700900203', 20_000],
      ['+447700900204', 20_000],
      ['+447700900205', undefined],
    ])
  })

  it('authenticates with api_key/api_secret too, and marks UCS-2 text as type=unicode', async () => {
    const adapter = vonageCarrier({ apiKey, apiSecret, from: 'Shop', restHost: fake.baseUrl })
    await adapter.send({
      id: 'msg_1',
      to: '+447700900123',
      body: 'Код 1234',
      projectId: 'p',
      mode: 'live',
    })
    expect(fake.sends.at(-1)).toMatchObject({ unicode: true, clientRef: 'msg_1' })
    await adapter.send({
      id: 'msg_2',
      to: '+447700900123',
      body: 'Code 1234',
      projectId: 'p',
      mode: 'live',
    })
    expect(fake.sends.at(-1)).toMatchObject({ unicode: false, clientRef: 'msg_2' })
  })

  it('adds up the price of every part exactly', async () => {
    const adapter = vonageCarrier({ apiKey, apiSecret, from: 'Shop', restHost: fake.baseUrl })
    const result = await adapter.send({
      id: 'msg_3',
      to: '+447700900123',
      body: 'a'.repeat(400),
      projectId: 'p',
      mode: 'live',
    })
    expect(result).toMatchObject({ parts: 3, cost: { amount: '0.09990000', currency: 'EUR' } })
    expect(sumDecimals(['0.1', '0.2'])).toBe('0.3')
    expect(sumDecimals(['1', '0.05'])).toBe('1.05')
  })

  it('checks receipts by URL token when no signature secret is set', () => {
    const adapter = vonageCarrier({ apiKey, apiSecret, from: 'Shop', callbackToken: 'tok_123' })
    expect(adapter.capabilities.callbackAuth).toBe('url-token')
    const base = { method: 'GET', headers: {}, body: '' }
    expect(
      adapter.verifyCallback!({ ...base, url: `${callbackUrl}?messageId=1&token=tok_123` }),
    ).toBe(true)
    expect(
      adapter.verifyCallback!({ ...base, url: `${callbackUrl}?messageId=1&token=tok_124` }),
    ).toBe(false)
    expect(
      adapter.parseReports!(
        { ...base, url: `${callbackUrl}?messageId=AB&status=delivered&err-code=0&token=t` },
        5,
      ),
    ).toEqual([{ carrierMessageId: 'AB', status: 'delivered', at: 5 }])
  })
})

describe('vonage fake, driven by the official @vonage/server-sdk', () => {
  let fake: Awaited<ReturnType<typeof startVonageFake>>
  beforeAll(async () => {
    fake = await startVonageFake({ apiKey, apiSecret, signature, callbackUrl })
  })
  afterAll(() => fake.close())

  it('accepts sms.send and answers what the SDK understands', async () => {
    const vonage = new Vonage({ apiKey, apiSecret }, { restHost: fake.baseUrl })
    const answer = await vonage.sms.send({
      to: '447700900123',
      from: 'Shop',
      text: 'Your code is 123456',
    })
    expect(answer.messageCount).toBe('1')
    expect(answer.messages[0]).toMatchObject({ status: '0', to: '447700900123' })
    expect(answer.messages[0]?.messageId).toMatch(/^[0-9A-F]{16}$/)
    expect(fake.sends.at(-1)).toMatchObject({ to: '+447700900123', text: 'Your code is 123456' })
  })

  it('answers failures the SDK raises as MessageSendAllFailure with Vonage status codes', async () => {
    const wrong = new Vonage({ apiKey, apiSecret: 'nope' }, { restHost: fake.baseUrl })
    const denied = await wrong.sms
      .send({ to: '447700900123', from: 'Shop', text: 'x' })
      .catch((e: { response?: { messages: { status: string }[] } }) => e)
    expect(
      (denied as { response: { messages: { status: string }[] } }).response.messages[0]?.status,
    ).toBe('4')

    const vonage = new Vonage({ apiKey, apiSecret }, { restHost: fake.baseUrl })
    const invalid = await vonage.sms
      .send({ to: fake.invalidNumber.slice(1), from: 'Shop', text: 'x' })
      .catch((e: { response?: { messages: { status: string }[] } }) => e)
    expect(
      (invalid as { response: { messages: { status: string }[] } }).response.messages[0]?.status,
    ).toBe('3')
  })

  it('signs receipts so that the SDK verifySignature accepts them, for every method', () => {
    const vonage = new Vonage({ apiKey, apiSecret })
    // The SDK's AlgorithmTypes values, by our method names.
    const sdkMethod = {
      md5hash: 'MD5HASH',
      md5: 'MD5HMAC',
      sha1: 'SHA1HMAC',
      sha256: 'SHA256HMAC',
      sha512: 'SHA512HMAC',
    } as const
    const report = fake.deliveryReport('0A00000012345678', 'delivered')
    const params = vonageCallbackParams(report)
    expect(
      vonage.sms.verifySignature(params.sig!, params, signature.secret, sdkMethod.sha256 as never),
    ).toBe(true)
    expect(
      vonage.sms.verifySignature(params.sig!, params, 'other', sdkMethod.sha256 as never),
    ).toBe(false)
    const awkward = { b: 'x&y=z', a: 'ä 😀', timestamp: '1700000000' }
    for (const method of ['md5hash', 'md5', 'sha1', 'sha256', 'sha512'] as const) {
      const sig = vonageSignature(awkward, signature.secret, method)
      expect(
        vonage.sms.verifySignature(sig, awkward, signature.secret, sdkMethod[method] as never),
      ).toBe(true)
    }
  })
})
