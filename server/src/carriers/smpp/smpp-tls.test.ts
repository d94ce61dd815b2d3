/**
 * SMPP over TLS ("ssmpp") against the fake SMSC listening over TLS, with a throwaway PKI made
 * by the `openssl` command for this run (nothing is kept on disk).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type FakeSmsc,
  type FakeSmscOptions,
  makeTestPki,
  startFakeSmsc,
  type TestPki,
} from '../../../testing/carriers/smpp'
import { routingProblems } from '../../../testing/routing-problems'
import { waitUntil } from '../../../testing/wait-until'
import { carrierFromSpec } from '../../routing/index'
import { loadRoutingFile, parseRoutingConfig } from '../../routing/routing-file'
import { CarrierError, type DeliveryReport, type OutgoingMessage } from '../types'
import { type SmppCarrier, type SmppCarrierOptions, smppCarrier } from './index'

function message(to: string, body: string): OutgoingMessage {
  return { id: `msg_${to}`, to, body, projectId: 'prj_1', mode: 'live' }
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
    await waitUntil(() => reports.length === 1)
    expect(reports[0]).toMatchObject({
      carrierMessageId: result.carrierMessageId,
      status: 'delivered',
    })
  })

  it('refuses a certificate it cannot verify, as a fault of the route, without sending', async () => {
    const { lines, logger } = capturingLogger()
    const { adapter, fake } = await setUp({ tls: { ca: pki.otherCa }, logger })
    const refused = await adapter.send(message('+447700900141', 'x')).catch((e) => e)
    expect(refused).toBeInstanceOf(CarrierError)
    expect(refused).toMatchObject({ routeFault: true })
    expect(refused.message).toContain('TLS certificate verification failed')
    expect(adapter.state).toBe('refused')
    // Held like refused credentials: the next send fails at once, without a new connection.
    const again = await adapter.send(message('+447700900141', 'y')).catch((e) => e)
    expect(again).toMatchObject({ routeFault: true })
    expect(again.message).toContain('TLS certificate verification failed')
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(fake.connections).toBe(1)
    expect(fake.bindAttempts).toBe(0)
    expect(fake.submitted).toHaveLength(0)
    expect(lines.some((line) => line.level === 50 && line.carrier === 'smsc-tls')).toBe(true)
  })

  it('refuses a certificate whose name does not match the servername', async () => {
    const { adapter, fake } = await setUp({ tls: { ca: pki.ca, servername: 'smsc.example.net' } })
    const refused = await adapter.send(message('+447700900142', 'x')).catch((e) => e)
    expect(refused).toMatchObject({ routeFault: true, code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
    expect(fake.submitted).toHaveLength(0)
  })

  it('verifies against the bundled roots with tls: true, which do not know the test CA', async () => {
    const { adapter, fake } = await setUp({ tls: true })
    const refused = await adapter.send(message('+447700900143', 'x')).catch((e) => e)
    expect(refused).toMatchObject({ routeFault: true })
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

  it('fails as a fault of the route when the SMSC refuses our lack of a client certificate', async () => {
    const { adapter, fake } = await setUp(
      { tls: { ca: pki.ca } },
      { tls: { ...pki.server, ca: pki.ca } },
    )
    const refused = await adapter.send(message('+447700900146', 'x')).catch((e) => e)
    expect(refused).toMatchObject({ routeFault: true })
    expect(refused.message).toContain('client certificate')
    expect(fake.submitted).toHaveLength(0)
  })

  it('gives up a bind under way when closed, leaving no connection behind', async () => {
    const { adapter, fake } = await setUp({ tls: { ca: pki.ca } })
    const binding = adapter.connect().catch((e) => e)
    await adapter.close()
    expect(await binding).toMatchObject({ permanent: false })
    expect((await binding).message).toContain('closed')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(fake.binds).toBe(0)
    expect(adapter.state).toBe('closed')
    // The fake's close waits for every connection: none is left open.
    await fake.close()
    smsc = undefined
  })

  it('does not talk TLS to a clear-text SMSC, nor clear text to a TLS one', async () => {
    const { adapter } = await setUp(
      { tls: { ca: pki.ca }, connectTimeoutMs: 300 },
      { tls: undefined },
    )
    const error = await adapter.send(message('+447700900147', 'x')).catch((e) => e)
    expect(error).toMatchObject({ permanent: false })
    expect(error.message).toContain('no TLS handshake within 300 ms')
    await carrier?.close()
    await smsc?.close()
    const clear = await setUp({ connectTimeoutMs: 500 })
    const clearError = await clear.adapter.send(message('+447700900147', 'y')).catch((e) => e)
    expect(clearError).toBeInstanceOf(CarrierError)
    expect(clear.fake.bindAttempts).toBe(0)
  })
})

describe('routing file: SMPP tls', () => {
  let pki: TestPki
  let dir: string
  const smpp = {
    id: 'smsc-a',
    type: 'smpp',
    host: '127.0.0.1',
    port: 3550,
    systemId: 'textgate',
    password: 'secret1',
    sourceAddr: 'Shop',
  }
  const parse = (tls: unknown, baseDir?: string) =>
    parseRoutingConfig(
      { carriers: [{ ...smpp, tls }], projects: {} },
      'routes.json',
      {},
      baseDir ?? dir,
    )
  const problems = (tls: unknown) => routingProblems(() => parse(tls))

  beforeAll(() => {
    pki = makeTestPki()
    dir = mkdtempSync(join(tmpdir(), 'textgate-tls-config-'))
    writeFileSync(join(dir, 'ca.pem'), pki.ca)
    writeFileSync(join(dir, 'client.pem'), pki.client.cert)
    writeFileSync(join(dir, 'client.key'), pki.client.key)
    writeFileSync(join(dir, 'server.key'), pki.server.key)
    writeFileSync(join(dir, 'notes.txt'), 'not a certificate')
  })

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('takes true, or files relative to the routing file', () => {
    expect(parse(true).carriers[0]).toMatchObject({ tls: true })
    const parsed = parse({
      caFile: 'ca.pem',
      certFile: 'client.pem',
      keyFile: 'client.key',
      servername: 'smsc.example.net',
    })
    expect(parsed.carriers[0]).toMatchObject({
      tls: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem') },
    })
    writeFileSync(
      join(dir, 'routes.json'),
      JSON.stringify({ carriers: [{ ...smpp, tls: { caFile: 'ca.pem' } }], projects: {} }),
    )
    expect(loadRoutingFile(join(dir, 'routes.json'), {}).carriers[0]).toMatchObject({
      tls: { caFile: join(dir, 'ca.pem') },
    })
  })

  it('names each bad field with one message', () => {
    expect(problems('yes')).toEqual([
      'carriers.0.tls: must be true or an object such as { "caFile": "smsc-ca.pem" }',
    ])
    expect(problems({ caFile: 3 })).toEqual(['carriers.0.tls.caFile: must be a file path'])
    expect(problems({ verify: false })).toEqual(['carriers.0.tls.verify: is not a known field'])
    expect(problems({ rejectUnauthorized: 'no' })).toEqual([
      'carriers.0.tls.rejectUnauthorized: must be true or false',
    ])
    expect(problems({ servername: '' })).toEqual(['carriers.0.tls.servername: must not be empty'])
  })

  it('reads the files at start-up, naming the entry and the field of one it cannot use', () => {
    expect(problems({ caFile: 'missing.pem' })).toEqual([
      `carriers.0.tls.caFile: cannot read ${join(dir, 'missing.pem')} (ENOENT) (carrier "smsc-a")`,
    ])
    expect(problems({ caFile: 'notes.txt' })).toEqual([
      `carriers.0.tls.caFile: ${join(dir, 'notes.txt')} holds no PEM certificate (carrier "smsc-a")`,
    ])
    expect(problems({ certFile: 'client.pem' })).toEqual([
      'carriers.0.tls.keyFile: is required with "certFile" (the client certificate\'s key) (carrier "smsc-a")',
    ])
    expect(problems({ keyFile: 'client.key' })).toEqual([
      'carriers.0.tls.certFile: is required with "keyFile" (carrier "smsc-a")',
    ])
    const mismatch = problems({ certFile: 'client.pem', keyFile: 'server.key' })
    expect(mismatch).toHaveLength(1)
    expect(mismatch[0]).toMatch(
      /^carriers\.0\.tls\.keyFile: .*server\.key is not an unencrypted PEM key/,
    )
    // Never any key material.
    expect(mismatch[0]).not.toContain('PRIVATE KEY')
    const keyBody = pki.server.key.split('\n')[1]!
    expect(mismatch[0]).not.toContain(keyBody.slice(0, 16))
  })

  it('builds an adapter that sends over TLS, and warns at start-up when verification is off', async () => {
    const smsc = await startFakeSmsc({ tls: pki.server })
    const { lines, logger } = capturingLogger()
    const secure = parse({ caFile: 'ca.pem' }).carriers[0]!
    const insecure = parse({ rejectUnauthorized: false }).carriers[0]!
    const adapters = [
      carrierFromSpec({ ...secure, port: smsc.port } as typeof secure, { logger, env: {} }),
      carrierFromSpec({ ...insecure, id: 'smsc-b', port: smsc.port } as typeof insecure, {
        logger,
        env: {},
      }),
    ] as SmppCarrier[]
    try {
      const warnings = lines.filter((line) => line.level === 40)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatchObject({ carrier: 'smsc-b' })
      expect(String(warnings[0]!.msg)).toContain('"smsc-b"')
      for (const adapter of adapters) {
        expect((await adapter.send(message('+447700900150', 'x'))).status).toBe('sent')
      }
      expect(smsc.submitted).toHaveLength(2)
      // Verification stays on when the entry does not mention rejectUnauthorized.
      writeFileSync(join(dir, 'other-ca.pem'), pki.otherCa)
      const untrusted = parse({ caFile: 'other-ca.pem' }).carriers[0]!
      const refusing = carrierFromSpec(
        { ...untrusted, id: 'smsc-c', port: smsc.port } as typeof untrusted,
        { env: {} },
      ) as SmppCarrier
      adapters.push(refusing)
      const refused = await refusing.send(message('+447700900151', 'x')).catch((e) => e)
      expect(refused).toMatchObject({ routeFault: true })
      expect(refused.message).toContain('TLS certificate verification failed')
      expect(smsc.submitted).toHaveLength(2)
    } finally {
      for (const adapter of adapters) await adapter.close()
      await smsc.close()
    }
  })
})
