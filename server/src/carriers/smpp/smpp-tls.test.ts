/**
 * SMPP over TLS ("ssmpp") against the fake SMSC listening over TLS, with a throwaway PKI made
 * by the `openssl` command for this run (nothing is kept on disk).
 */
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CarrierError, type DeliveryReport, type OutgoingMessage } from '../types'
import { type SmppCarrier, type SmppCarrierOptions, smppCarrier } from './index'
import {
  type FakeSmsc,
  type FakeSmscOptions,
  makeTestPki,
  startFakeSmsc,
  type TestPki,
} from './testing'

function message(to: string, body: string): OutgoingMessage {
  return { id: `msg_${to}`, to, body, projectId: 'prj_1', mode: 'live' }
}

async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A pino logger whose lines are kept, parsed. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

describe('SMPP over TLS', () => {
  let pki: TestPki
  let smsc: FakeSmsc | undefined
  let carrier: SmppCarrier | undefined

  beforeAll(() => {
    pki = makeTestPki()
  })

  async function setUp(
    carrierOptions: Partial<SmppCarrierOptions> = {},
    smscOptions: FakeSmscOptions = {},
  ) {
    smsc = await startFakeSmsc({ tls: pki.server, ...smscOptions })
    carrier = smppCarrier({
      id: 'smsc-tls',
      host: smsc.host,
      port: smsc.port,
      systemId: 'textgate',
      password: 'secret1',
      sourceAddr: 'Shop',
      reconnectBaseMs: 20,
      reconnectMaxMs: 1_000,
      connectTimeoutMs: 3_000,
      ...carrierOptions,
    })
    return { adapter: carrier, fake: smsc }
  }

  afterEach(async () => {
    await carrier?.close()
    carrier = undefined
    await smsc?.close()
    smsc = undefined
  })

  it('sends over TLS with the CA given and gets the receipt back over it', async () => {
    const { adapter, fake } = await setUp({ tls: { ca: pki.ca } })
    const reports: DeliveryReport[] = []
    adapter.onReport((report) => reports.push(report))
    const result = await adapter.send(message('+447700900140', 'Your code is 123456'))
    expect(result.status).toBe('sent')
    expect(adapter.state).toBe('bound')
    expect(fake.submitted).toMatchObject([{ to: '+447700900140', text: 'Your code is 123456' }])
    await until(() => reports.length === 1)
    expect(reports[0]).toMatchObject({
      carrierMessageId: result.carrierMessageId,
      status: 'delivered',
    })
  })

  it('refuses a certificate it cannot verify, permanently and without sending', async () => {
    const { lines, logger } = capturingLogger()
    const { adapter, fake } = await setUp({ tls: { ca: pki.otherCa }, logger })
    const refused = await adapter.send(message('+447700900141', 'x')).catch((e) => e)
    expect(refused).toBeInstanceOf(CarrierError)
    expect(refused).toMatchObject({ permanent: true })
    expect(refused.message).toContain('TLS certificate verification failed')
    expect(adapter.state).toBe('refused')
    // Held like refused credentials: the next send fails at once, without a new connection.
    const again = await adapter.send(message('+447700900141', 'y')).catch((e) => e)
    expect(again).toMatchObject({ permanent: true })
    expect(again.message).toContain('TLS certificate verification failed')
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(fake.bindAttempts).toBe(0)
    expect(fake.submitted).toHaveLength(0)
    expect(lines.some((line) => line.level === 50 && line.carrier === 'smsc-tls')).toBe(true)
  })

  it('refuses a certificate whose name does not match the servername', async () => {
    const { adapter, fake } = await setUp({ tls: { ca: pki.ca, servername: 'smsc.example.net' } })
    const refused = await adapter.send(message('+447700900142', 'x')).catch((e) => e)
    expect(refused).toMatchObject({ permanent: true, code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
    expect(fake.submitted).toHaveLength(0)
  })

  it('verifies against the bundled roots with tls: true, which do not know the test CA', async () => {
    const { adapter, fake } = await setUp({ tls: true })
    const refused = await adapter.send(message('+447700900143', 'x')).catch((e) => e)
    expect(refused).toMatchObject({ permanent: true })
    expect(refused.message).toContain('TLS certificate verification failed')
    expect(fake.submitted).toHaveLength(0)
  })

  it('accepts any certificate with rejectUnauthorized: false, and warns once it is made', async () => {
    const { lines, logger } = capturingLogger()
    const { adapter, fake } = await setUp({ tls: { rejectUnauthorized: false }, logger })
    const warnings = lines.filter((line) => line.level === 40)
    expect(warnings).toHaveLength(1)
    expect(String(warnings[0]!.msg)).toContain('"smsc-tls"')
    expect(String(warnings[0]!.msg)).toContain('verification is off')
    expect((await adapter.send(message('+447700900144', 'x'))).status).toBe('sent')
    expect(fake.submitted).toHaveLength(1)
  })

  it('presents a client certificate when the SMSC requires one', async () => {
    const { adapter, fake } = await setUp(
      { tls: { ca: pki.ca, ...pki.client } },
      { tls: { ...pki.server, ca: pki.ca } },
    )
    expect((await adapter.send(message('+447700900145', 'x'))).status).toBe('sent')
    expect(fake.submitted).toHaveLength(1)
  })

  it('fails permanently when the SMSC refuses our lack of a client certificate', async () => {
    const { adapter, fake } = await setUp(
      { tls: { ca: pki.ca } },
      { tls: { ...pki.server, ca: pki.ca } },
    )
    const refused = await adapter.send(message('+447700900146', 'x')).catch((e) => e)
    expect(refused).toMatchObject({ permanent: true })
    expect(refused.message).toContain('client certificate')
    expect(fake.submitted).toHaveLength(0)
  })

  it('does not talk TLS to a clear-text SMSC, nor clear text to a TLS one', async () => {
    const { adapter } = await setUp({ tls: { ca: pki.ca } }, { tls: undefined })
    const error = await adapter.send(message('+447700900147', 'x')).catch((e) => e)
    expect(error).toMatchObject({ permanent: false })
    await carrier?.close()
    await smsc?.close()
    const clear = await setUp({ connectTimeoutMs: 500 })
    const clearError = await clear.adapter.send(message('+447700900147', 'y')).catch((e) => e)
    expect(clearError).toBeInstanceOf(CarrierError)
    expect(clear.fake.bindAttempts).toBe(0)
  })
})
