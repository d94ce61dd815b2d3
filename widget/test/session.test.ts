/// <reference types="mocha" />
// The verification session (src/api/session.ts) on its own: what it sends, and what it keeps.
import { expect } from '@open-wc/testing'
import { createClient, TextgateApiError } from '../src/api/client'
import { type StartOptions, VerificationSession } from '../src/api/session'
import { approved, fakeServer, refusal, started } from './helpers'

const host = { requestUpdate: () => {} } as unknown as ConstructorParameters<
  typeof VerificationSession
>[0]
const client = () => createClient({ server: 'https://verify.example', publishableKey: 'pk_test_x' })
const options = (marketing?: boolean): StartOptions => ({
  number: {
    ok: true,
    e164: '+447400123123',
    country: 'GB',
    national: '07400 123123',
    international: '+44 7400 123123',
  },
  consentVersion: '',
  marketing,
  locale: 'en',
  captchaToken: undefined,
  signals: {},
})

describe('verification session', () => {
  let server: ReturnType<typeof fakeServer> | undefined
  afterEach(() => server?.restore())

  it('keeps the Idempotency-Key across a network failure, and takes a new one after a refusal', async () => {
    server = fakeServer({
      '/v1/verifications': ['network-error', refusal(403, 'blocked'), started()],
    })
    const session = new VerificationSession(host, client)
    const failed = async () => {
      try {
        await session.start(options())
      } catch (error) {
        return (error as TextgateApiError).code
      }
      return 'started'
    }
    expect(await failed()).to.equal('network_error')
    expect(await failed()).to.equal('blocked')
    expect(await failed()).to.equal('started')
    const keys = server.calls.map((call) => call.headers.get('Idempotency-Key'))
    expect(keys[0]).to.equal(keys[1])
    expect(keys[2]).to.not.equal(keys[1])
    expect(server.calls[0]!.body).to.deep.include({
      phone: '+447400123123',
      country: 'GB',
      consent: { accepted: true, version: 'v1' },
    })
  })

  it('keeps the Idempotency-Key after a 5xx answer, for the same start only', async () => {
    const gateway = { status: 504, body: '<html><h1>504 Gateway Time-out</h1></html>' }
    server = fakeServer({
      '/v1/verifications': [gateway, refusal(503, 'service_unavailable'), gateway, started()],
    })
    const session = new VerificationSession(host, client)
    const codes: string[] = []
    for (const start of [options(), options(), options(), { ...options(), consentVersion: 'v2' }]) {
      await session.start(start).catch((error: TextgateApiError) => codes.push(error.code))
    }
    expect(codes).to.deep.equal([
      'service_unavailable',
      'service_unavailable',
      'service_unavailable',
    ])
    const keys = server.calls.map((call) => call.headers.get('Idempotency-Key'))
    expect(keys[1]).to.equal(keys[0])
    expect(keys[2]).to.equal(keys[0])
    // Another start (here with another consent) is another request: a key of its own.
    expect(keys[3]).to.not.equal(keys[0])
  })

  it('repeats a start under its kept key in its first language, after the widget’s changed', async () => {
    server = fakeServer({ '/v1/verifications': ['network-error', started(), started()] })
    const session = new VerificationSession(host, client)
    await session.start(options()).catch(() => {})
    await session.start({ ...options(), locale: 'fr' })
    // Once answered, the key is spent: the next start is a new one, in the language of now.
    await session.start({ ...options(), locale: 'fr' })
    const sent = server.calls.map((call) => [
      call.headers.get('Idempotency-Key'),
      (call.body as { locale: string }).locale,
    ])
    expect(sent[1]).to.deep.equal(sent[0])
    expect(sent[0]![1]).to.equal('en')
    expect(sent[2]![0]).to.not.equal(sent[0]![0])
    expect(sent[2]![1]).to.equal('fr')
  })

  it('takes a new Idempotency-Key for another number after a network failure', async () => {
    server = fakeServer({ '/v1/verifications': ['network-error', started()] })
    const session = new VerificationSession(host, client)
    await session.start(options()).catch(() => {})
    const other = options()
    other.number = { ...other.number, e164: '+447400123124' }
    await session.start(other)
    const [first, second] = server.calls.map((call) => call.headers.get('Idempotency-Key'))
    expect(second).to.not.equal(first)
  })

  it('gives up on a server that never answers: a network failure, with the key kept', async () => {
    const original = window.fetch
    const keys: (string | null)[] = []
    // A stalled connection: no answer until the request is aborted.
    window.fetch = (_input: RequestInfo | URL, init?: RequestInit) => {
      keys.push(new Headers(init?.headers).get('Idempotency-Key'))
      return new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason))
      })
    }
    try {
      const session = new VerificationSession(host, () =>
        createClient({
          server: 'https://verify.example',
          publishableKey: 'pk_test_x',
          timeoutMs: 100,
        }),
      )
      for (const _ of [1, 2]) {
        const error = await session.start(options()).catch((e: TextgateApiError) => e)
        expect((error as TextgateApiError).code).to.equal('network_error')
      }
      expect(keys).to.have.length(2)
      expect(keys[1]).to.equal(keys[0])
    } finally {
      window.fetch = original
    }
  })

  it('sends the marketing opt-in only when offered, and keeps what the server said', async () => {
    server = fakeServer({
      '/v1/verifications': [started()],
      '/v1/verifications/:id/check': [approved],
    })
    const session = new VerificationSession(host, client)
    await session.start(options(true))
    expect((server.calls[0]!.body as { consent: unknown }).consent).to.deep.equal({
      accepted: true,
      version: 'v1',
      marketing: true,
    })
    expect(session.pending?.id).to.equal('ver_abc')
    expect(session.shownPhone).to.equal('\u2066+44 7400 123123\u2069')
    expect(session.e164).to.equal('+447400123123')
    expect(session.marketing).to.equal(true)
    expect(await session.check('123456')).to.equal('tok.en.value')
    expect(session.token).to.equal('tok.en.value')
    session.reset()
    expect([session.pending, session.token, session.e164, session.marketing]).to.deep.equal([
      undefined,
      '',
      '',
      false,
    ])
  })

  it('refuses to check before a start', async () => {
    const session = new VerificationSession(host, client)
    const error = await session.check('123456').catch((e: unknown) => e)
    expect(error).to.be.instanceOf(TextgateApiError)
    expect((error as TextgateApiError).code).to.equal('verification_not_found')
  })
})
