/** The routing file's entry ids are what the operator reads: in start-up warnings and in errors. */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { startTwilioFake } from '../../testing/carriers/twilio'
import { CarrierError } from '../carriers/types'
import { carrierFromSpec, routerFromConfig, routingWarnings } from './index'
import { parseRoutingConfig } from './routing-file'

const ENV = { VONAGE_SECRET: 'vonage-secret', VONAGE_SIG: 'vonage-sig', TW_TOKEN: 'tw-token' }

const routing = (entries: { id: string }[]) =>
  parseRoutingConfig(
    {
      carriers: entries,
      projects: { '*': { rules: [{ routes: entries.map((c) => ({ carrier: c.id })) }] } },
    },
    'routes.json',
    ENV,
  )

/** A logger whose lines the test reads. */
function capturingLogger() {
  const lines: { level: number; msg: string }[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  return { logger: pino({ level: 'info' }, stream), lines }
}

describe('vonage entries whose receipts nothing can prove genuine', () => {
  const signed = {
    id: 'vonage-signed',
    type: 'vonage',
    apiKey: 'abc123',
    signature: { secretEnv: 'VONAGE_SIG', method: 'sha256' },
    from: 'Shop',
  }
  const tokened = {
    id: 'vonage-token',
    type: 'vonage',
    apiKey: 'abc123',
    apiSecretEnv: 'VONAGE_SECRET',
    callbackTokenEnv: 'VONAGE_SECRET',
    from: 'Shop',
  }
  const bare = {
    id: 'vonage-uk',
    type: 'vonage',
    apiKey: 'abc123',
    apiSecretEnv: 'VONAGE_SECRET',
    from: 'Shop',
  }

  it('are accepted, with a warning naming the entry id', () => {
    const config = routing([signed, tokened, bare])
    const warnings = routingWarnings(config)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^carrier "vonage-uk" \(vonage\): .*every delivery report/)
    expect(warnings[0]).toMatch(/"signature".*"callbackTokenEnv"/)
    // No secret, nor the name of the variable holding one, is in the warning.
    expect(warnings[0]).not.toMatch(/vonage-secret|VONAGE_SECRET/)
  })

  it('are warned about at start-up, once each', async () => {
    const { logger, lines } = capturingLogger()
    const router = routerFromConfig(routing([signed, bare]), { env: ENV, logger })
    await router.close()
    const warnings = lines.filter((line) => line.level === 40)
    expect(warnings.map((line) => line.msg)).toEqual([expect.stringContaining('"vonage-uk"')])
  })
})

describe('errors name the entry id, not the provider', () => {
  const entry = (baseUrl: string) => ({
    id: 'twilio-eu',
    type: 'twilio',
    accountSid: `AC${'0123456789abcdef'.repeat(2)}`,
    authTokenEnv: 'TW_TOKEN',
    from: '+15005550006',
    baseUrl,
  })
  const message = {
    id: 'msg_1',
    to: '+447400123781',
    body: 'Your code is 123456',
    projectId: 'prj_1',
    mode: 'live' as const,
  }

  it('says "[textgate] [twilio-eu]" and keeps retry advice', async () => {
    const config = routing([entry('http://127.0.0.1:9')])
    const adapter = carrierFromSpec(config.carriers[0]!, { env: ENV })
    const error = await adapter.send(message).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(CarrierError)
    expect((error as CarrierError).carrier).toBe('twilio-eu')
    expect((error as CarrierError).message).toMatch(/^\[textgate\] \[twilio-eu\] network error/)
    expect((error as CarrierError).permanent).toBe(false)
  })

  it('passes permanent refusals and their codes through the router under the entry id', async () => {
    const fake = await startTwilioFake({
      accountSid: `AC${'0123456789abcdef'.repeat(2)}`,
      authToken: 'tw-token',
      callbackUrl: 'https://verify.example/v1/carriers/twilio-eu/reports',
    })
    try {
      const router = routerFromConfig(routing([entry(fake.baseUrl)]), { env: ENV })
      const error = await router
        .send({ ...message, projectId: 'prj_1', to: fake.invalidNumber })
        .then(
          () => undefined,
          (e: unknown) => e as CarrierError,
        )
      await router.close()
      expect(error).toMatchObject({ carrier: 'twilio-eu', permanent: true })
      expect(error?.message).toMatch(/^\[textgate\] \[twilio-eu\] HTTP 400/)
      expect(error?.message).not.toMatch(/\[twilio\]/)
      expect(error?.code).toBeTruthy()
    } finally {
      await fake.close()
    }
  })

  it('keeps a refused-credentials error a fault of the route under the entry id', async () => {
    const fake = await startTwilioFake({
      accountSid: `AC${'0123456789abcdef'.repeat(2)}`,
      authToken: 'another-token',
      callbackUrl: 'https://verify.example/v1/carriers/twilio-eu/reports',
    })
    try {
      const adapter = carrierFromSpec(routing([entry(fake.baseUrl)]).carriers[0]!, { env: ENV })
      const error = await adapter.send(message).then(
        () => undefined,
        (e: unknown) => e as CarrierError,
      )
      expect(error).toMatchObject({ carrier: 'twilio-eu', routeFault: true, permanent: false })
      expect(error?.message).toMatch(/^\[textgate\] \[twilio-eu\] HTTP 401/)
    } finally {
      await fake.close()
    }
  })
})
