import twilio from 'twilio'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { carrierConformance } from '../../../testing/carrier-conformance.case'
import { startTwilioFake } from '../../../testing/carriers/twilio'
import { twilioCarrier, twilioSignature } from './index'

const accountSid = `AC${'0123456789abcdef'.repeat(2)}`
const authToken = 'twilio-test-auth-token-0123456789'
const callbackUrl = 'https://verify.example/v1/carriers/twilio/reports?project=p1'
const TIMEOUT_MS = 300
/** Ordinary sends get a generous budget: a loaded CI machine must not make them time out. */
const SEND_TIMEOUT_MS = 10_000

carrierConformance('twilio', async () => {
  const fake = await startTwilioFake({ accountSid, authToken, callbackUrl })
  const common = {
    accountSid,
    from: '+15005550006',
    statusCallbackUrl: callbackUrl,
    baseUrl: fake.baseUrl,
    timeoutMs: TIMEOUT_MS,
  }
  return {
    fake,
    adapter: twilioCarrier({ ...common, authToken, timeoutMs: SEND_TIMEOUT_MS }),
    timeoutAdapter: twilioCarrier({ ...common, authToken }),
    badCredentials: twilioCarrier({
      ...common,
      authToken: 'wrong-secret',
      timeoutMs: SEND_TIMEOUT_MS,
    }),
    timeoutMs: TIMEOUT_MS,
    reportsCarryTime: false,
  }
})

describe('twilio adapter details', () => {
  it("keeps Twilio's error code on the CarrierError", async () => {
    const fake = await startTwilioFake({ accountSid, authToken, callbackUrl })
    try {
      const adapter = twilioCarrier({
        accountSid,
        authToken,
        from: '+15005550006',
        baseUrl: fake.baseUrl,
      })
      const error = await adapter
        .send({ id: 'm', to: fake.invalidNumber, body: 'x', projectId: 'p', mode: 'live' })
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ permanent: true, code: '21211' })
    } finally {
      await fake.close()
    }
  })
})

describe('twilio ValidityPeriod', () => {
  const T = Date.UTC(2026, 10, 27, 12, 0, 0)
  it("sends the code's remaining lifetime in seconds, rounded down and clamped to 1 … 36,000", async () => {
    const fake = await startTwilioFake({ accountSid, authToken, callbackUrl })
    try {
      const adapter = twilioCarrier({
        accountSid,
        authToken,
        from: '+15005550006',
        baseUrl: fake.baseUrl,
        now: () => T,
      })
      const send = (to: string, expiresAt?: number) =>
        adapter.send({
          id: to,
          to,
          body: 'Your code is 123456',
          projectId: 'p',
          mode: 'live',
          ...(expiresAt === undefined ? {} : { expiresAt }),
        })
      await send('+447700900101', T + 600_000)
      await send('+447700900102', T + 599_999)
      await send('+447700900103', T + 20 * 3_600_000)
      await send('+447700900104', T + 400)
      await send('+447700900105', T - 10_000)
      await send('+447700900106')
      expect(fake.accepted.map((a) => [a.form.To, a.form.ValidityPeriod])).toEqual([
        ['+447700900101', '600'],
        ['+447700900102', '599'],
        ['+447700900103', '36000'],
        ['+447700900104', '1'],
        ['+447700900105', '1'],
        ['+447700900106', undefined],
      ])
      expect(fake.accepted.map((a) => a.validityPeriod)).toEqual([
        600,
        599,
        36_000,
        1,
        1,
        undefined,
      ])
    } finally {
      await fake.close()
    }
  })
})

describe('twilio fake, driven by the official twilio SDK', () => {
  let fake: Awaited<ReturnType<typeof startTwilioFake>>
  let client: twilio.Twilio
  beforeAll(async () => {
    fake = await startTwilioFake({ accountSid, authToken, callbackUrl })
    client = twilio(accountSid, authToken)
    // The SDK's API domain, pointed at the fake instead of api.twilio.com.
    client.api.baseUrl = fake.baseUrl
  })
  afterAll(() => fake.close())

  it('accepts messages.create and answers a resource the SDK understands', async () => {
    const created = await client.messages.create({
      to: '+447700900123',
      from: '+15005550006',
      body: 'Ваш код 123456',
      statusCallback: callbackUrl,
    })
    expect(created.sid).toMatch(/^SM[0-9a-f]{32}$/)
    expect(created.status).toBe('queued')
    expect(created.numSegments).toBe('1')
    expect(created.dateCreated).toBeInstanceOf(Date)
    expect(fake.sends.at(-1)).toEqual({ to: '+447700900123', text: 'Ваш код 123456' })
  })

  it("records the SDK's validityPeriod as the same ValidityPeriod field the adapter sends", async () => {
    await client.messages.create({
      to: '+447700900123',
      from: '+15005550006',
      body: 'Your code is 123456',
      validityPeriod: 600,
    })
    const sdk = fake.accepted.at(-1)!
    expect(sdk.validityPeriod).toBe(600)
    const adapter = twilioCarrier({
      accountSid,
      authToken,
      from: '+15005550006',
      baseUrl: fake.baseUrl,
      now: () => 1_000_000,
    })
    await adapter.send({
      id: 'm',
      to: '+447700900123',
      body: 'Your code is 123456',
      projectId: 'p',
      mode: 'live',
      expiresAt: 1_600_000,
    })
    const ours = fake.accepted.at(-1)!
    expect(ours.form).toEqual(sdk.form)
    // Out of Twilio's range: refused with its code, as the SDK reports it.
    const refused = await client.messages
      .create({ to: '+447700900123', from: '+15005550006', body: 'x', validityPeriod: 36_001 })
      .catch((e: unknown) => e as { status: number; code: number })
    expect(refused).toMatchObject({ status: 400, code: 21624 })
  })

  it('answers errors the SDK turns into RestException with Twilio codes', async () => {
    const invalid = await client.messages
      .create({ to: fake.invalidNumber, from: '+15005550006', body: 'x' })
      .catch((e: unknown) => e as { status: number; code: number })
    expect(invalid).toMatchObject({ status: 400, code: 21211 })

    const wrong = twilio(accountSid, 'wrong-secret')
    wrong.api.baseUrl = fake.baseUrl
    const denied = await wrong.messages
      .create({ to: '+447700900123', from: '+15005550006', body: 'x' })
      .catch((e: unknown) => e as { status: number; code: number })
    expect(denied).toMatchObject({ status: 401, code: 20003 })
  })

  it('signs status callbacks so that twilio.validateRequest accepts them', () => {
    for (const status of ['sent', 'delivered', 'failed'] as const) {
      const report = fake.deliveryReport('SMabc', status, { errorCode: '30008' })
      const params = Object.fromEntries(new URLSearchParams(report.body))
      expect(
        twilio.validateRequest(
          authToken,
          report.headers['x-twilio-signature']!,
          callbackUrl,
          params,
        ),
      ).toBe(true)
      expect(
        twilio.validateRequest(
          'other-token',
          report.headers['x-twilio-signature']!,
          callbackUrl,
          params,
        ),
      ).toBe(false)
    }
  })

  it('computes the same signature as getExpectedTwilioSignature for awkward parameters', () => {
    const params = { Body: 'ä & b=c + 😀', To: '+1 555', a: '', Z: 'z', MessageSid: 'SM1' }
    const url = 'https://verify.example/hook?x=1&y=%20two'
    expect(twilioSignature(authToken, url, new URLSearchParams(params))).toBe(
      twilio.getExpectedTwilioSignature(authToken, url, params),
    )
  })
})

describe('carrier error texts', () => {
  it('never carry the phone number the carrier echoed', async () => {
    const fake = await startTwilioFake({ accountSid, authToken, callbackUrl })
    try {
      const adapter = twilioCarrier({
        accountSid,
        authToken,
        from: '+15005550006',
        baseUrl: fake.baseUrl,
      })
      const error = (await adapter
        .send({ id: 'm', to: fake.invalidNumber, body: 'x', projectId: 'p', mode: 'live' })
        .catch((e: unknown) => e)) as Error
      expect(error.message).toContain('[number]')
      expect(error.message).not.toContain(fake.invalidNumber.slice(1))
    } finally {
      await fake.close()
    }
  })
})
