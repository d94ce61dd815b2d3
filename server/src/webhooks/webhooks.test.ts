import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer as createHttpServer } from 'node:http'
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Server,
  type Socket,
} from 'node:net'
import { WebhookEvent } from '@textgate/shared'
import type { CompiledQuery } from 'kysely'
import { pino } from 'pino'
import * as v from 'valibot'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, DEVELOPMENT_WEBHOOK_NETWORKS, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { raiseKeyRevoked } from '../../testing/webhook-events'
import { type Receiver, startReceiver } from '../../testing/webhook-receiver'
import { expireVerifications } from '../verifications/service'
import { createWebhookDispatcher } from './dispatcher'
import { emitWebhookEvent } from './emit'
import { MAX_ATTEMPTS, RETRY_DELAYS_MS, retryDelayMs } from './schedule'
import { type SendInput, type SendOutcome, sendWebhook } from './send'
import {
  checkResolvedHost,
  checkWebhookUrl,
  guardedLookup,
  literalAllowed,
  NO_WEBHOOK_NETWORKS,
  parseWebhookRanges,
  type WebhookNetworks,
} from './url-policy'

const PHONE = '+447400123456'

describe('retry schedule', () => {
  it('backs off exponentially with jitter over about three days', () => {
    const total = RETRY_DELAYS_MS.reduce((sum, ms) => sum + ms, 0)
    expect(total / 3_600_000).toBeGreaterThan(70)
    expect(total / 3_600_000).toBeLessThan(80)
    for (let i = 1; i < RETRY_DELAYS_MS.length; i++) {
      expect(RETRY_DELAYS_MS[i]).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[i - 1] as number)
    }
    expect(retryDelayMs(1, () => 0)).toBe(4_000)
    expect(retryDelayMs(1, () => 1)).toBe(6_000)
    expect(retryDelayMs(MAX_ATTEMPTS)).toBeUndefined()
  })
})

describe('guarded DNS lookup', () => {
  it('refuses to connect a live endpoint to a name that resolves to loopback', async () => {
    const result = await new Promise<{ error: NodeJS.ErrnoException | null }>((resolve) =>
      guardedLookup('live')('localhost', { all: true }, (error) => resolve({ error })),
    )
    expect(result.error?.code).toBe('EADDRNOTALLOWED')
    const test = await new Promise<{ error: NodeJS.ErrnoException | null }>((resolve) =>
      guardedLookup('test', DEVELOPMENT_WEBHOOK_NETWORKS)('localhost', { all: true }, (error) =>
        resolve({ error }),
      ),
    )
    expect(test.error).toBeNull()
  })
})

describe("the operator's own networks (TEXTGATE_WEBHOOK_NETWORKS)", () => {
  const ranges = (text: string, testLoopback = true): WebhookNetworks => ({
    ranges: parseWebhookRanges(text),
    testLoopback,
  })
  const networks = ranges(' 10.0.0.0/8, fd00::/8 ,127.0.0.0/8')

  it('reads CIDR ranges, and names the first that is not one', () => {
    expect(networks.ranges.map(([address, bits]) => `${address.toString()}/${bits}`)).toEqual([
      '10.0.0.0/8',
      'fd00::/8',
      '127.0.0.0/8',
    ])
    expect(parseWebhookRanges('')).toEqual([])
    expect(() => parseWebhookRanges('10.0.0.0/8, 192.168.1.1')).toThrow(
      '"192.168.1.1" is not a network in CIDR form',
    )
  })

  it('closes loopback to test keys off a development server, unless the operator lists it', async () => {
    const production = ranges('', false)
    for (const url of [
      'http://127.0.0.1:8080/hooks',
      'http://localhost:8080/hooks',
      'https://[::1]/x',
    ]) {
      expect(() => checkWebhookUrl(url, 'test', production)).toThrow('on this server')
      // A name is held at its lookup (below); an address at once.
      if (!url.includes('localhost')) expect(literalAllowed(url, 'test', production)).toBe(false)
    }
    const lookup = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      guardedLookup('test', production)('localhost', { all: true }, (error) => resolve(error)),
    )
    expect(lookup?.code).toBe('EADDRNOTALLOWED')
    // Listed, it is the operator's to open.
    const listed = ranges('127.0.0.0/8', false)
    expect(checkWebhookUrl('http://127.0.0.1:8080/hooks', 'test', listed)).toBe(
      'http://127.0.0.1:8080/hooks',
    )
    expect(literalAllowed('http://127.0.0.1:8080/hooks', 'test', listed)).toBe(true)
    // On a development server, as before; left out (an embedder's app), closed.
    expect(
      literalAllowed('http://127.0.0.1:8080/hooks', 'test', DEVELOPMENT_WEBHOOK_NETWORKS),
    ).toBe(true)
    expect(literalAllowed('http://127.0.0.1:8080/hooks', 'test', NO_WEBHOOK_NETWORKS)).toBe(false)
  })

  it('opens those networks to endpoints of either mode, https for live, and no others', () => {
    // Live: https into the operator's networks; plain http never.
    expect(checkWebhookUrl('https://10.1.2.3/hooks', 'live', networks)).toBe(
      'https://10.1.2.3/hooks',
    )
    expect(() => checkWebhookUrl('http://10.1.2.3/hooks', 'live', networks)).toThrow(
      'must be https',
    )
    // Test: plain http too, as to loopback.
    expect(checkWebhookUrl('http://10.1.2.3:8080/hooks', 'test', networks)).toBe(
      'http://10.1.2.3:8080/hooks',
    )
    expect(literalAllowed('https://[fd00::2]/hooks', 'live', networks)).toBe(true)
    expect(literalAllowed('http://10.1.2.3:8080/hooks', 'test', networks)).toBe(true)
    // Outside them nothing changes: other private ranges, metadata, plain http to the internet.
    for (const mode of ['test', 'live'] as const) {
      expect(() => checkWebhookUrl('https://192.168.1.5/x', mode, networks)).toThrow(
        'private or reserved',
      )
      expect(literalAllowed('https://169.254.169.254/x', mode, networks)).toBe(false)
    }
    expect(literalAllowed('http://93.184.215.14/hooks', 'test', networks)).toBe(false)
    // Without the setting, the operator's networks are as closed as any.
    expect(() => checkWebhookUrl('https://10.1.2.3/hooks', 'live')).toThrow('private or reserved')
    expect(literalAllowed('http://10.1.2.3:8080/hooks', 'test')).toBe(false)
  })

  it('connects a live endpoint to a name in them, checked on save and at the connection', async () => {
    // localhost (127.0.0.1 and ::1) stands for a name on the operator's network.
    const v4 = ranges('127.0.0.0/8')
    const lookup = (nets = v4) =>
      new Promise<{ error: NodeJS.ErrnoException | null; found: unknown }>((resolve) =>
        guardedLookup('live', nets)('localhost', { all: true }, (error, found) =>
          resolve({ error, found }),
        ),
      )
    const allowed = await lookup()
    expect(allowed.error).toBeNull()
    // Only the addresses inside the networks are offered to the connection.
    expect(allowed.found).toEqual([{ address: '127.0.0.1', family: 4 }])
    expect((await lookup(NO_WEBHOOK_NETWORKS)).error?.code).toBe('EADDRNOTALLOWED')
    await expect(checkResolvedHost('https://localhost/hooks', 'live', v4)).resolves.toBeUndefined()
    // A test-mode plain-http name must resolve inside loopback or the networks only.
    await expect(
      checkResolvedHost('http://localhost.textgate.invalid/x', 'test', v4),
    ).rejects.toThrow('does not resolve')

    const receiver = await startReceiver(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'])
    try {
      const post = (nets?: typeof v4) =>
        sendWebhook({
          url: receiver.url,
          mode: 'live',
          ...(nets ? { networks: nets } : {}),
          messageId: 'msg_networks',
          payload: '{"type":"verification.approved"}',
          secrets: receiver.secrets,
          at: new Date(),
          timeoutMs: 2_000,
        })
      expect(await post()).toMatchObject({ ok: false, error: 'the address is private or reserved' })
      expect(await post(v4)).toMatchObject({ ok: true, statusCode: 204 })
      expect(receiver.received).toHaveLength(1)
    } finally {
      await receiver.close()
    }
  })
})

describe('one webhook post', () => {
  const sockets = new Set<Socket>()
  const servers: Server[] = []
  afterAll(() => {
    for (const socket of sockets) socket.destroy()
    for (const server of servers) server.close()
  })
  async function listen(server: Server): Promise<string> {
    servers.push(server)
    server.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  }
  const post = (url: string) =>
    sendWebhook({
      url,
      mode: 'test',
      networks: DEVELOPMENT_WEBHOOK_NETWORKS,
      messageId: 'msg_slow',
      payload: '{}',
      secrets: [`whsec_${Buffer.alloc(32, 7).toString('base64')}`],
      at: new Date(),
      timeoutMs: 400,
    })
  /** Settles with the outcome, or 'still waiting' after 3 s. */
  const within3s = (outcome: Promise<SendOutcome>) =>
    Promise.race([
      outcome,
      new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 3000)),
    ])

  it('gives up on an endpoint that sends its answer a byte at a time, past the time allowed', async () => {
    // Never silent for as long as the socket's idle timeout, never done.
    const url = await listen(
      createTcpServer((socket) => {
        const line = 'HTTP/1.1 200 OK\r\nX-Slow: '
        let i = 0
        const timer = setInterval(() => socket.write(line[i++] ?? 'a'), 50)
        socket.on('close', () => clearInterval(timer))
        socket.on('error', () => {})
      }),
    )
    const outcome = await within3s(post(url))
    expect(outcome).toMatchObject({ ok: false, statusCode: null })
    expect((outcome as SendOutcome).error).toMatch(/no answer within 400 ms/)
  })

  it('counts a 2xx that came in time, without waiting for a body that never ends', async () => {
    const url = await listen(
      createHttpServer((_req, res) => {
        res.writeHead(200)
        const timer = setInterval(() => res.write('.'), 50)
        res.on('close', () => clearInterval(timer))
      }),
    )
    const outcome = await within3s(post(url))
    expect(outcome).toMatchObject({ ok: true, statusCode: 200, error: null })
  })
})

for (const dialect of DIALECTS) {
  describe(`webhooks (${dialect})`, () => {
    let h: Harness
    let pk: string
    let sk: string
    let projectId: string
    let receiver: Receiver

    beforeAll(async () => {
      h = await createHarness(dialect)
      const created = await h.project({ name: 'Northwind' })
      pk = created.publishableKey
      sk = created.secretKey
      projectId = created.project.id
    })
    afterAll(() => h.dispose())
    afterEach(async () => {
      await receiver?.close()
      await h.db.deleteFrom('webhook_attempts').execute()
      await h.db.deleteFrom('webhook_deliveries').execute()
      await h.db.deleteFrom('webhook_endpoints').execute()
    })

    async function endpoint(events?: string[], query = '') {
      receiver = await startReceiver()
      const created = await h.call('POST', '/v1/webhooks/endpoints', {
        key: sk,
        body: { url: receiver.url + query, ...(events ? { events } : {}) },
      })
      expect(created.status).toBe(201)
      receiver.secrets.push(created.json.secret)
      return created.json as { id: string; secret: string }
    }

    async function verify(marketing = false) {
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: PHONE, consent: { accepted: true, version: 'tos-1', marketing } },
      })
      expect(started.status).toBe(201)
      const [code] = await h.inbox(sk, PHONE)
      const checked = await h.call('POST', `/v1/verifications/${started.json.id}/check`, {
        key: pk,
        body: { code },
      })
      expect(checked.status).toBe(200)
      return { id: started.json.id as string, code: code as string }
    }

    it('delivers verification.approved then consent.marketing, signed, typed, without the code', async () => {
      await endpoint()
      const { id, code } = await verify(true)
      await h.webhooks.drain()
      expect(receiver.rejected).toEqual([])
      expect(receiver.received.map((r) => r.event.type)).toEqual([
        'message.delivered',
        'verification.approved',
        'consent.marketing',
      ])
      for (const r of receiver.received) {
        expect(r.id).toMatch(/^msg_/)
        expect(v.safeParse(WebhookEvent, r.event).success).toBe(true)
        expect(r.body).not.toContain(code)
        expect(r.event.data).toMatchObject({ projectId, mode: 'test', verificationId: id })
      }
      expect(receiver.received[0]?.event.data).toMatchObject({
        to: PHONE,
        carrier: 'sandbox',
        status: 'delivered',
      })
      expect(receiver.received[1]?.event.data.phone).toBe(PHONE)
    })

    it('sends only the event types an endpoint asked for', async () => {
      await endpoint(['verification.failed'])
      await verify(true)
      await h.webhooks.drain()
      expect(receiver.received).toEqual([])
    })

    it('raises verification.failed for too many wrong codes and for an expired code', async () => {
      await endpoint(['verification.failed'])
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: PHONE, consent: { accepted: true } },
      })
      const [code] = await h.inbox(sk, PHONE)
      const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
      for (let i = 0; i < 5; i++) {
        await h.call('POST', `/v1/verifications/${started.json.id}/check`, {
          key: pk,
          body: { code: wrong },
        })
      }
      const second = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123457', consent: { accepted: true } },
      })
      h.advance(11 * 60_000)
      expect(await expireVerifications(h.db, h.now())).toBeGreaterThanOrEqual(1)
      // Expired once only, however often the sweep runs.
      expect(await expireVerifications(h.db, h.now())).toBe(0)
      await h.webhooks.drain()
      const failed = receiver.received.map((r) => r.event.data)
      expect(failed).toContainEqual(
        expect.objectContaining({ verificationId: started.json.id, reason: 'max_attempts' }),
      )
      expect(failed).toContainEqual(
        expect.objectContaining({ verificationId: second.json.id, reason: 'expired' }),
      )
      expect(failed.filter((d) => d.verificationId === second.json.id)).toHaveLength(1)
      // The expired verification's text is given up (message.failed), not sent.
      await h.dispatcher.drain()
    })

    it('cancels a pending verification for the store, once, with verification.failed (canceled)', async () => {
      await endpoint(['verification.failed'])
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: PHONE, consent: { accepted: true } },
      })
      const id = started.json.id as string
      const [code] = await h.inbox(sk, PHONE)
      expect((await h.call('POST', `/v1/verifications/${id}/cancel`, { key: pk })).status).toBe(403)
      const canceled = await h.call('POST', `/v1/verifications/${id}/cancel`, { key: sk })
      expect(canceled.status).toBe(200)
      expect(canceled.json).toMatchObject({ id, status: 'canceled' })
      // Again: the same answer, and no second event.
      const again = await h.call('POST', `/v1/verifications/${id}/cancel`, { key: sk })
      expect(again.json).toMatchObject({ id, status: 'canceled' })
      // Its code no longer works.
      const checked = await h.call('POST', `/v1/verifications/${id}/check`, {
        key: pk,
        body: { code },
      })
      expect(checked.status).toBe(409)
      expect(checked.json.error).toMatchObject({
        code: 'verification_not_pending',
        status: 'canceled',
      })
      await h.webhooks.drain()
      expect(receiver.rejected).toEqual([])
      const failed = receiver.received.map((r) => r.event)
      expect(failed).toEqual([
        expect.objectContaining({
          type: 'verification.failed',
          data: expect.objectContaining({ verificationId: id, reason: 'canceled', phone: PHONE }),
        }),
      ])

      // An approved one is not pending any more; an expired one is expired; others unknown.
      const approved = await verify()
      const late = await h.call('POST', `/v1/verifications/${approved.id}/cancel`, { key: sk })
      expect(late.status).toBe(409)
      expect(late.json.error).toMatchObject({
        code: 'verification_not_pending',
        status: 'approved',
      })
      const other = await h.project({ name: 'Other' })
      const foreign = await h.call('POST', `/v1/verifications/${id}/cancel`, {
        key: other.secretKey,
      })
      expect(foreign.status).toBe(404)
      const stale = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123458', consent: { accepted: true } },
      })
      h.advance(11 * 60_000)
      const expired = await h.call('POST', `/v1/verifications/${stale.json.id}/cancel`, { key: sk })
      expect(expired.status).toBe(410)
      await h.webhooks.drain()
      expect(receiver.received.map((r) => r.event.data.reason)).toEqual(['canceled', 'expired'])
      // The expired verification's text is given up here, not in the next test.
      await h.dispatcher.drain()
    })

    it('keeps retrying while the receiver is down, then delivers everything in order', async () => {
      await endpoint()
      receiver.status = 503
      const ids = [(await verify(true)).id, (await verify(true)).id]
      await h.webhooks.drain()
      expect(receiver.received).toEqual([])
      const log = await h.call('GET', `/v1/webhooks/endpoints/${(await list())[0]}/deliveries`, {
        key: sk,
      })
      expect(log.status).toBe(200)
      const attempted = log.json.data.filter((d: { attempts: number }) => d.attempts > 0)
      // Later events wait behind their verification's first (message.delivered): one attempt
      // each so far.
      expect(attempted).toHaveLength(2)
      expect(attempted[0].log[0]).toMatchObject({ attempt: 1, statusCode: 503 })
      expect(attempted[0].log[0].latencyMs).toBeGreaterThanOrEqual(0)
      expect(attempted[0].state).toBe('pending')
      const endpointRow = await h.call('GET', `/v1/webhooks/endpoints/${(await list())[0]}`, {
        key: sk,
      })
      expect(endpointRow.json.failingSince).not.toBeNull()

      receiver.status = 204
      // The first retry is due 4–6 s later.
      h.advance(6_100)
      await h.webhooks.drain()
      expect(receiver.rejected).toEqual([])
      expect(receiver.received).toHaveLength(6)
      for (const id of ids) {
        const types = receiver.received
          .filter((r) => r.event.data.verificationId === id)
          .map((r) => r.event.type)
        expect(types).toEqual(['message.delivered', 'verification.approved', 'consent.marketing'])
      }
      const after = await h.call('GET', `/v1/webhooks/endpoints/${(await list())[0]}`, { key: sk })
      expect(after.json.failingSince).toBeNull()
    })

    it('disables an endpoint that answers 410 Gone, keeping its events for a replay', async () => {
      const created = await endpoint(['verification.approved'])
      receiver.status = 410
      await verify()
      await h.webhooks.drain()
      // Standard Webhooks: 410 means the receiver wants no more. No retry, and the endpoint is
      // disabled at once, not after days of failures.
      expect(receiver.requests).toBe(1)
      const row = await h.call('GET', `/v1/webhooks/endpoints/${created.id}`, { key: sk })
      expect(row.json).toMatchObject({ enabled: false, disabledReason: 'gone' })
      const failed = await h.call(
        'GET',
        `/v1/webhooks/endpoints/${created.id}/deliveries?state=failed`,
        { key: sk },
      )
      expect(failed.json.data).toHaveLength(1)
      expect(failed.json.data[0].log).toEqual([expect.objectContaining({ statusCode: 410 })])
      // Nothing more is sent, even after the schedule's first steps.
      await verify()
      h.advance(6 * 60_000)
      await h.webhooks.drain()
      expect(receiver.requests).toBe(1)
      // The receiver comes back: enabled, one replay recovers both approvals.
      receiver.status = 204
      await h.call('PATCH', `/v1/webhooks/endpoints/${created.id}`, {
        key: sk,
        body: { enabled: true },
      })
      const replayed = await h.call('POST', `/v1/webhooks/endpoints/${created.id}/replay`, {
        key: sk,
        body: {},
      })
      expect(replayed.json).toEqual({ replayed: 2 })
      await h.webhooks.drain()
      expect(receiver.rejected).toEqual([])
      expect(receiver.received).toHaveLength(2)
    })

    it("waits as long as the endpoint's Retry-After asks, never less than the schedule", async () => {
      const created = await endpoint(['verification.approved'])
      receiver.status = 503
      const waits: number[] = []
      const due = async () => {
        const [delivery] = await h.db
          .selectFrom('webhook_deliveries')
          .select(['id', 'available_at', 'state'])
          .where('endpoint_id', '=', created.id)
          .execute()
        const [last] = await h.db
          .selectFrom('webhook_attempts')
          .select('created_at')
          .where('delivery_id', '=', delivery?.id as string)
          .orderBy('attempt', 'desc')
          .limit(1)
          .execute()
        return (delivery?.available_at as number) - (last?.created_at as number)
      }
      // Delay-seconds: an hour instead of the schedule's 5 s.
      receiver.errorHeaders = { 'retry-after': '3600' }
      await verify()
      await h.webhooks.drain()
      waits.push(await due())
      // Sooner than the schedule: the schedule's 5 minutes hold.
      receiver.errorHeaders = { 'retry-after': '1' }
      h.advance(3_600_000)
      await h.webhooks.drain()
      waits.push(await due())
      // An HTTP date, and more than a day: held to a day.
      receiver.errorHeaders = {
        'retry-after': new Date(Date.now() + 10 * 86_400_000).toUTCString(),
      }
      h.advance(6 * 60_000)
      await h.webhooks.drain()
      waits.push(await due())
      expect(receiver.requests).toBe(3)
      expect(waits[0]).toBe(3_600_000)
      expect(waits[1]).toBeGreaterThanOrEqual(4 * 60_000)
      expect(waits[1]).toBeLessThanOrEqual(6 * 60_000)
      expect(waits[2]).toBe(24 * 3_600_000)
      receiver.status = 204
      h.advance(24 * 3_600_000)
      await h.webhooks.drain()
      expect(receiver.received).toHaveLength(1)
    })

    it("holds an endpoint's other deliveries while it answers 429, without spending their attempts", async () => {
      const created = await endpoint(['verification.approved'])
      receiver.status = 429
      receiver.errorHeaders = { 'retry-after': '600' }
      // One delivery at a time, so the second is due when the first's answer comes.
      const one = createWebhookDispatcher({
        storage: h.storage,
        encryptionKey: h.secrets.encryptionKey,
        logger: pino({ level: 'silent' }),
        now: h.now,
        window: 1,
        networks: DEVELOPMENT_WEBHOOK_NETWORKS,
      })
      await verify()
      await verify()
      await one.drain()
      // Two approvals due; the first's 429 holds the second: one request, not two.
      expect(receiver.requests).toBe(1)
      const rows = await h.db
        .selectFrom('webhook_deliveries')
        .select(['attempts', 'available_at', 'state'])
        .where('endpoint_id', '=', created.id)
        .orderBy('attempts', 'desc')
        .execute()
      expect(rows.map((r) => [r.state, r.attempts])).toEqual([
        ['pending', 1],
        ['pending', 0],
      ])
      expect(rows[1]?.available_at).toBe(rows[0]?.available_at)
      expect((rows[0]?.available_at as number) - h.now()).toBeGreaterThanOrEqual(600_000)
      receiver.status = 204
      h.advance(600_000)
      await one.drain()
      expect(receiver.received).toHaveLength(2)
    })

    for (const status of [429, 503]) {
      it(`holds an event raised after a ${status} until the endpoint's retry time, as the ones waiting`, async () => {
        const created = await endpoint(['verification.approved'])
        receiver.status = status
        receiver.errorHeaders = { 'retry-after': '600' }
        const first = await verify()
        await h.webhooks.drain()
        expect(receiver.requests).toBe(1)
        // Raised a minute later, well before the endpoint's retry time: it waits too.
        h.advance(60_000)
        const second = await verify()
        await h.webhooks.drain()
        expect(receiver.requests).toBe(1)
        const endpointRow = await h.call('GET', `/v1/webhooks/endpoints/${created.id}`, {
          key: sk,
        })
        const heldUntil = Date.parse(endpointRow.json.heldUntil)
        expect(heldUntil - h.now()).toBeGreaterThanOrEqual(500_000)
        // The delivery log shows both waiting for it.
        const log = await h.call('GET', `/v1/webhooks/endpoints/${created.id}/deliveries`, {
          key: sk,
        })
        for (const delivery of log.json.data) {
          expect(Date.parse(delivery.nextAttemptAt)).toBeGreaterThanOrEqual(heldUntil)
        }
        // Nothing is stuck while the endpoint asked for time, however long that is.
        h.advance(8 * 60_000)
        await h.webhooks.drain()
        expect(receiver.requests).toBe(1)
        expect((await h.call('GET', '/readyz')).json.checks.webhooks).toBe('ok')
        // At the retry time both go (two verifications: no order between them), the hold over.
        receiver.status = 204
        h.advance(60_000)
        await h.webhooks.drain()
        expect(receiver.rejected).toEqual([])
        expect(receiver.received.map((r) => r.event.data.verificationId).sort()).toEqual(
          [first.id, second.id].sort(),
        )
        const after = await h.call('GET', `/v1/webhooks/endpoints/${created.id}`, { key: sk })
        expect(after.json.heldUntil).toBeNull()
      })
    }

    it("ends the endpoint's hold when its URL changes: what waited for the old receiver goes to the new one now", async () => {
      const created = await endpoint(['verification.approved'])
      receiver.status = 429
      receiver.errorHeaders = { 'retry-after': '3600' }
      const first = await verify()
      await h.webhooks.drain()
      const second = await verify()
      await h.webhooks.drain()
      expect(receiver.requests).toBe(1)
      receiver.status = 204
      const moved = await h.call('PATCH', `/v1/webhooks/endpoints/${created.id}`, {
        key: sk,
        body: { url: `${receiver.url}?moved=1` },
      })
      expect(moved.status).toBe(200)
      expect(moved.json.heldUntil).toBeNull()
      await h.webhooks.drain()
      expect(receiver.received.map((r) => r.event.data.verificationId).sort()).toEqual(
        [first.id, second.id].sort(),
      )
    })

    it('holds the endpoint at most 5 minutes after a 503 without Retry-After, though the failing delivery waits its own longer step', async () => {
      const created = await endpoint(['verification.approved'])
      receiver.status = 503
      const first = await verify()
      // The delivery is on its fourth attempt: its next step is about two hours away.
      await h.db
        .updateTable('webhook_deliveries')
        .set({ attempts: 3 })
        .where('endpoint_id', '=', created.id)
        .execute()
      await h.webhooks.drain()
      expect(receiver.requests).toBe(1)
      const [failed] = await h.db
        .selectFrom('webhook_deliveries')
        .select(['available_at'])
        .where('endpoint_id', '=', created.id)
        .execute()
      expect((failed?.available_at as number) - h.now()).toBeGreaterThanOrEqual(90 * 60_000)
      const held = await h.call('GET', `/v1/webhooks/endpoints/${created.id}`, { key: sk })
      const heldFor = Date.parse(held.json.heldUntil) - h.now()
      expect(heldFor).toBeGreaterThan(0)
      expect(heldFor).toBeLessThanOrEqual(5 * 60_000)
      // A later event waits for the hold's end, not for the failing delivery's two hours.
      receiver.status = 204
      const second = await verify()
      await h.webhooks.drain()
      expect(receiver.requests).toBe(1)
      h.advance(5 * 60_000)
      await h.webhooks.drain()
      expect(receiver.received.map((r) => r.event.data.verificationId)).toEqual([second.id])
      expect(first.id).not.toBe(second.id)
    })

    it("claims nothing for a held endpoint, even a delivery written due, and readiness waits for the hold's end", async () => {
      const created = await endpoint(['key.revoked'])
      const heldUntil = h.now() + 10 * 60_000
      await h.db
        .updateTable('webhook_endpoints')
        .set({ held_until: heldUntil })
        .where('id', '=', created.id)
        .execute()
      // Written due at once, as by a process that read the endpoint just before its hold began.
      await raiseKeyRevoked(h.db, projectId, h.now())
      await h.db
        .updateTable('webhook_deliveries')
        .set({ available_at: h.now() })
        .where('endpoint_id', '=', created.id)
        .execute()
      h.advance(9 * 60_000)
      expect(await h.webhooks.drain()).toBe(0)
      expect(receiver.requests).toBe(0)
      expect((await h.call('GET', '/readyz')).json.checks.webhooks).toBe('ok')
      // Due since the hold ended, not since it was written: a minute is not stuck.
      h.advance(2 * 60_000)
      expect((await h.call('GET', '/readyz')).json.checks.webhooks).toBe('ok')
      // Five minutes after the hold, unclaimed, it is.
      h.advance(5 * 60_000)
      const stuck = await h.call('GET', '/readyz')
      expect(stuck.json.checks.webhooks).toBe('stuck')
      expect(await h.webhooks.drain()).toBe(1)
      expect(receiver.received).toHaveLength(1)
    })

    it("stays ready while a store's endpoint is down and its later events wait in order", async () => {
      await endpoint()
      receiver.status = 500
      await verify()
      await h.webhooks.drain()
      // Minutes later the dispatcher keeps retrying message.delivered on its schedule; the
      // approval behind it is due but waits for it on purpose: nothing is stuck.
      h.advance(6 * 60_000)
      await h.webhooks.drain()
      expect(receiver.requests).toBe(2)
      const ready = await h.call('GET', '/readyz')
      expect(ready.json.checks.webhooks).toBe('ok')
      expect(ready.status).toBe(200)
      // A delivery due and claimed by no one for 5 minutes still counts (no dispatcher ran).
      h.advance(12 * 60_000)
      const stuck = await h.call('GET', '/readyz')
      expect(stuck.json.checks.webhooks).toBe('stuck')
    })

    it('gives a slow endpoint two of the dispatcher slots, so other stores are not held behind it', async () => {
      // An endpoint that takes 300 ms over each answer, counting the posts under way at once.
      let inFlight = 0
      let most = 0
      /** At each slow answer: how many events the other endpoint had received. */
      const otherHad: number[] = []
      const slow = createHttpServer((request, response) => {
        inFlight++
        most = Math.max(most, inFlight)
        request.resume()
        setTimeout(() => {
          inFlight--
          otherHad.push(receiver.received.length)
          response.writeHead(204).end()
        }, 300)
      })
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
      try {
        const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/hooks`
        const made = await h.call('POST', '/v1/webhooks/endpoints', {
          key: sk,
          body: { url: slowUrl, events: ['verification.approved'] },
        })
        expect(made.status).toBe(201)
        await endpoint(['key.revoked'])
        const at = Date.now()
        for (let i = 0; i < 6; i++) {
          await h.db.transaction().execute((trx) =>
            emitWebhookEvent(trx, {
              type: 'verification.approved',
              projectId,
              mode: 'test',
              orderKey: `ver_slow_${i}`,
              at,
              data: {
                verificationId: `ver_slow_${i}`,
                phone: PHONE,
                country: 'GB',
                approvedAt: new Date(at).toISOString(),
              },
            }),
          )
        }
        // Raised after all of them: without a share per endpoint it waits for every slot.
        await raiseKeyRevoked(h.db, projectId, at + 1, at)
        const dispatcher = createWebhookDispatcher({
          storage: h.storage,
          encryptionKey: h.secrets.encryptionKey,
          logger: pino({ level: 'silent' }),
          window: 4,
          networks: DEVELOPMENT_WEBHOOK_NETWORKS,
        })
        expect(await dispatcher.drain()).toBe(7)
        expect(otherHad).toHaveLength(6)
        expect(most).toBe(2)
        expect(receiver.received.map((r) => r.event.type)).toEqual(['key.revoked'])
        // The other endpoint's event went through beside the slow one's first posts, not after.
        expect(otherHad[0]).toBe(1)
      } finally {
        await new Promise<void>((resolve) => {
          slow.closeAllConnections()
          slow.close(() => resolve())
        })
      }
    })

    it('takes a redirect as a failure and never follows it (the Location is not called)', async () => {
      // The target a redirect would send the post to (in production, an internal address).
      let targetHits = 0
      const target = createHttpServer((request, response) => {
        targetHits++
        request.resume()
        response.writeHead(204).end()
      })
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
      const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/internal`
      try {
        const created = await endpoint(['verification.approved'])
        receiver.status = 307
        receiver.errorHeaders = { location: targetUrl }
        await verify()
        await h.webhooks.drain()
        h.advance(6_100)
        await h.webhooks.drain()
        expect(receiver.requests).toBe(2)
        expect(targetHits).toBe(0)
        const log = await h.call('GET', `/v1/webhooks/endpoints/${created.id}/deliveries`, {
          key: sk,
        })
        expect(log.json.data[0].state).toBe('pending')
        expect(log.json.data[0].log.map((a: { statusCode: number }) => a.statusCode)).toEqual([
          307, 307,
        ])
      } finally {
        await new Promise<void>((resolve) => {
          target.closeAllConnections()
          target.close(() => resolve())
        })
      }
    })

    async function list(): Promise<string[]> {
      const listed = await h.call('GET', '/v1/webhooks/endpoints', { key: sk })
      return listed.json.data.map((e: { id: string }) => e.id)
    }

    it('signs with every earlier secret still in its overlap, each until its own time, five at most', async () => {
      const created = await endpoint(['verification.approved'])
      const rotate = async (keepPreviousSeconds: number) => {
        const r = await h.call('POST', `/v1/webhooks/endpoints/${created.id}/rotate-secret`, {
          key: sk,
          body: { keepPreviousSeconds },
        })
        expect(r.status).toBe(200)
        return r.json as { secret: string; previousSecrets: { expiresAt: string }[] }
      }
      /** Which of `secrets` signed the newest delivery (each HMAC checked by hand). */
      const signers = async (secrets: string[]) => {
        await verify()
        await h.webhooks.drain()
        const r = receiver.received.at(-1)
        if (!r) throw new Error('nothing received')
        const entries = r.signature.split(' ').map((entry) => entry.replace(/^v1,/, ''))
        const signed = `${r.id}.${r.timestamp}.${r.body}`
        return {
          entries: entries.length,
          by: secrets.map((secret) =>
            entries.includes(
              createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
                .update(signed)
                .digest('base64'),
            ),
          ),
        }
      }
      const first = created.secret
      const rotatedAt = h.now()
      const second = (await rotate(3600)).secret
      h.advance(10 * 60_000)
      // Rotated again within the first overlap: the first secret still signs, until its own end.
      const third = await rotate(7200)
      expect(third.previousSecrets.map((p) => Date.parse(p.expiresAt))).toEqual([
        h.now() + 7_200_000,
        rotatedAt + 3_600_000 + 1,
      ])
      receiver.secrets = [first]
      expect(await signers([third.secret, second, first])).toEqual({
        entries: 3,
        by: [true, true, true],
      })
      // The first's overlap ends; the second's goes on.
      h.advance(55 * 60_000)
      receiver.secrets = [second]
      expect(await signers([third.secret, second, first])).toEqual({
        entries: 2,
        by: [true, true, false],
      })
      const shown = await h.call('GET', `/v1/webhooks/endpoints/${created.id}`, { key: sk })
      expect(shown.json.previousSecrets).toHaveLength(1)
      expect(shown.json.previousSecretExpiresAt).toBe(shown.json.previousSecrets[0].expiresAt)
      h.advance(2 * 3_600_000)
      receiver.secrets = [third.secret]
      expect(await signers([third.secret, second])).toEqual({ entries: 1, by: [true, false] })
      expect(receiver.rejected).toEqual([])

      // Seven rotations in a row: the five newest earlier secrets sign, the oldest dropped first.
      const secrets = [third.secret]
      for (let i = 0; i < 7; i++) {
        h.advance(60_000)
        secrets.push((await rotate(3600)).secret)
      }
      const kept = await h.call('GET', `/v1/webhooks/endpoints/${created.id}`, { key: sk })
      expect(kept.json.previousSecrets).toHaveLength(5)
      receiver.secrets = [secrets.at(-1) as string]
      const signed = await signers(secrets)
      expect(signed.entries).toBe(6)
      expect(signed.by).toEqual([false, false, true, true, true, true, true, true])
      // Rotating with no overlap: the new secret alone signs, at once.
      const alone = await rotate(0)
      expect(alone.previousSecrets).toEqual([])
      receiver.secrets = [alone.secret]
      expect(await signers([alone.secret, ...secrets])).toEqual({
        entries: 1,
        by: [true, ...secrets.map(() => false)],
      })
    })

    it('signs with both secrets during a rotation, then with the new one alone', async () => {
      const created = await endpoint(['verification.approved'])
      const rotated = await h.call('POST', `/v1/webhooks/endpoints/${created.id}/rotate-secret`, {
        key: sk,
        body: { keepPreviousSeconds: 3600 },
      })
      expect(rotated.status).toBe(200)
      expect(rotated.json.secret).toMatch(/^whsec_/)
      expect(rotated.json.secret).not.toBe(created.secret)
      await verify()
      await h.webhooks.drain()
      expect(receiver.rejected).toEqual([])
      expect(receiver.received[0]?.signature.split(' ')).toHaveLength(2)
      // A receiver that knows only the new secret accepts it, as one that knows only the old.
      receiver.secrets = [rotated.json.secret]
      await verify()
      receiver.secrets = [created.secret]
      await verify()
      await h.webhooks.drain()
      expect(receiver.rejected).toEqual([])
      expect(receiver.received).toHaveLength(3)

      const now = await h.call('POST', `/v1/webhooks/endpoints/${created.id}/rotate-secret`, {
        key: sk,
        body: { keepPreviousSeconds: 0 },
      })
      receiver.secrets = [rotated.json.secret]
      await verify()
      await h.webhooks.drain()
      expect(receiver.rejected).toHaveLength(1)
      // Refused by the receiver, retried on the schedule: it gets it once it has the new secret.
      receiver.secrets = [now.json.secret]
      h.advance(6_100)
      await h.webhooks.drain()
      expect(receiver.received.at(-1)?.signature.split(' ')).toHaveLength(1)
    })

    it('verifies by hand as the spec writes it, not only with the standardwebhooks package', async () => {
      const created = await endpoint()
      const rotated = await h.call('POST', `/v1/webhooks/endpoints/${created.id}/rotate-secret`, {
        key: sk,
        body: { keepPreviousSeconds: 3600 },
      })
      const secrets = [rotated.json.secret as string, created.secret]
      receiver.secrets = secrets
      const { code } = await verify(true)
      await h.webhooks.drain()
      expect(receiver.received).toHaveLength(3)
      for (const r of receiver.received) {
        // Secrets: `whsec_` + base64 of 24–64 random bytes.
        const keys = secrets.map((secret) => {
          expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/)
          const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
          expect(key.length).toBeGreaterThanOrEqual(24)
          expect(key.length).toBeLessThanOrEqual(64)
          return key
        })
        // webhook-id without a '.', webhook-timestamp in whole seconds near now.
        expect(r.id).toMatch(/^[A-Za-z0-9_-]+$/)
        expect(r.timestamp).toMatch(/^\d+$/)
        expect(Math.abs(Number(r.timestamp) - Date.now() / 1000)).toBeLessThan(300)
        // `v1,<base64>` entries, space-separated, one per secret that signs, each the HMAC-SHA256
        // of `{id}.{timestamp}.{body}`, compared in constant time.
        const entries = r.signature.split(' ')
        expect(entries).toHaveLength(2)
        const signed = Buffer.from(`${r.id}.${r.timestamp}.${r.body}`)
        for (const key of keys) {
          const expected = createHmac('sha256', key).update(signed).digest()
          const matching = entries.filter((entry) => {
            const [version, value] = entry.split(',')
            const got = Buffer.from(value ?? '', 'base64')
            return version === 'v1' && got.length === 32 && timingSafeEqual(got, expected)
          })
          expect(matching).toHaveLength(1)
        }
        // The payload: `{ type, timestamp, data }`, an RFC 3339 time, nothing secret.
        const payload = JSON.parse(r.body)
        expect(Object.keys(payload).sort()).toEqual(['data', 'timestamp', 'type'])
        expect(payload.type).toMatch(/^[a-z_]+(\.[a-z_]+)+$/)
        expect(new Date(payload.timestamp).toISOString()).toBe(payload.timestamp)
        for (const secret of [code, sk, pk, ...secrets]) expect(r.body).not.toContain(secret)
      }
    })

    it('replays a delivery with the same webhook-id, so the receiver can tell', async () => {
      const created = await endpoint(['verification.approved'])
      await verify()
      await h.webhooks.drain()
      const log = await h.call('GET', `/v1/webhooks/endpoints/${created.id}/deliveries`, {
        key: sk,
      })
      const delivery = log.json.data[0]
      expect(delivery.state).toBe('delivered')
      const replayed = await h.call('POST', `/v1/webhooks/deliveries/${delivery.id}/replay`, {
        key: sk,
      })
      expect(replayed.json).toEqual({ replayed: 1 })
      await h.webhooks.drain()
      expect(receiver.received).toHaveLength(2)
      expect(receiver.received[1]?.id).toBe(receiver.received[0]?.id)
      expect(receiver.received[1]?.duplicate).toBe(true)
    })

    it('refuses endpoints that are not https, or private, in live mode', async () => {
      const live = await h.project({ name: 'Live shop' })
      const { createApiKey } = await import('../projects')
      const liveKeys = { secretKey: await createApiKey(h.db, live.project.id, 'secret', 'live') }
      const refuse = async (key: string, url: string) => {
        const r = await h.call('POST', '/v1/webhooks/endpoints', { key, body: { url } })
        expect(r.status, url).toBe(422)
        expect(r.json.error.code).toBe('webhook_url_not_allowed')
      }
      for (const url of [
        'http://hooks.example.com/x',
        'https://127.0.0.1/x',
        'https://[::1]/x',
        'https://localhost/x',
        'https://10.1.2.3/x',
        'https://192.168.1.5/x',
        'https://169.254.169.254/latest/meta-data',
        'https://100.64.0.1/x',
        'https://[fd00::1]/x',
        'https://[::ffff:10.0.0.1]/x',
        'ftp://example.com/x',
        'https://user:pw@example.com/x',
      ]) {
        await refuse(liveKeys.secretKey, url)
      }
      await refuse(sk, 'http://hooks.example.com/x')
      const ok = await h.call('POST', '/v1/webhooks/endpoints', {
        key: liveKeys.secretKey,
        body: { url: 'https://93.184.215.14/hooks' },
      })
      expect(ok.status).toBe(201)
      // A test key sees only test endpoints.
      expect(await list()).toEqual([])
    })

    it('refuses test-mode endpoints on the private network, link-local or reserved addresses', async () => {
      for (const url of [
        'https://10.1.2.3/x',
        'https://192.168.1.5/x',
        'https://172.16.0.1/x',
        'https://169.254.169.254/latest/meta-data',
        'https://100.64.0.1/x',
        'https://[fd00::1]/x',
        'https://[fe80::1]/x',
        'https://[::ffff:10.0.0.1]/x',
        'https://[::a9fe:a9fe]/x',
        'https://0.0.0.0/x',
      ]) {
        const r = await h.call('POST', '/v1/webhooks/endpoints', { key: sk, body: { url } })
        expect([url, r.status, r.json.error?.code]).toEqual([url, 422, 'webhook_url_not_allowed'])
        // And were one stored before (or by hand), no connection is made to it.
        expect([url, literalAllowed(url, 'test')]).toEqual([url, false])
      }
      // A developer's own machine, and the internet, stay open to test keys.
      for (const url of [
        'http://127.0.0.1:8080/hooks',
        'http://localhost:8080/hooks',
        'https://[::1]/hooks',
        'https://93.184.215.14/hooks',
      ]) {
        const r = await h.call('POST', '/v1/webhooks/endpoints', { key: sk, body: { url } })
        expect([url, r.status]).toEqual([url, 201])
        expect(literalAllowed(url, 'test', DEVELOPMENT_WEBHOOK_NETWORKS)).toBe(true)
      }
    })

    it('answers other projects, publishable keys and bad bodies with clear errors', async () => {
      const created = await endpoint()
      const other = await h.project({ name: 'Other' })
      const foreign = await h.call('GET', `/v1/webhooks/endpoints/${created.id}`, {
        key: other.secretKey,
      })
      expect(foreign.status).toBe(404)
      expect(foreign.json.error.code).toBe('webhook_endpoint_not_found')
      const publishable = await h.call('GET', '/v1/webhooks/endpoints', { key: pk })
      expect(publishable.status).toBe(403)
      const bad = await h.call('POST', '/v1/webhooks/endpoints', {
        key: sk,
        body: { url: receiver.url, events: ['verification.nope'] },
      })
      expect(bad.status).toBe(400)
      expect(bad.json.error.code).toBe('invalid_request')
      const disabled = await h.call('PATCH', `/v1/webhooks/endpoints/${created.id}`, {
        key: sk,
        body: { enabled: false },
      })
      expect(disabled.json).toMatchObject({ enabled: false, disabledReason: 'manual' })
      await verify()
      await h.webhooks.drain()
      expect(receiver.received).toEqual([])
      const deleted = await h.call('DELETE', `/v1/webhooks/endpoints/${created.id}`, { key: sk })
      expect(deleted.status).toBe(204)
    })

    it('asks once whether anything is due for all the workers of a round, then delivers with all of them', async () => {
      // Counts the "is anything due" reads the dispatcher sends through its database handle.
      let asked = 0
      const db = h.storage.db
      const counting = new Proxy(db, {
        get(target, property) {
          if (property === 'executeQuery') {
            return (query: CompiledQuery) => {
              if (/from "webhook_deliveries" where "state" = .* limit/.test(query.sql)) asked++
              return target.executeQuery(query)
            }
          }
          const value = Reflect.get(target, property)
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
      const sent: SendInput[] = []
      const dispatcher = createWebhookDispatcher({
        storage: { ...h.storage, db: counting },
        encryptionKey: h.secrets.encryptionKey,
        logger: pino({ level: 'silent' }),
        window: 4,
        send: async (input): Promise<SendOutcome> => {
          sent.push(input)
          return { ok: true, statusCode: 204, latencyMs: 1, error: null }
        },
      })
      // Nothing due: one read for the round's four workers.
      expect(await dispatcher.drain()).toBe(0)
      expect(asked).toBe(1)
      // Three due: every one delivered (the workers go on asking as they finish).
      await endpoint()
      for (let i = 0; i < 3; i++) {
        await h.db.transaction().execute((trx) =>
          emitWebhookEvent(trx, {
            type: 'verification.approved',
            projectId,
            mode: 'test',
            orderKey: `ver_${i}`,
            at: Date.now(),
            data: {
              verificationId: `ver_${i}`,
              phone: PHONE,
              country: 'GB',
              approvedAt: new Date().toISOString(),
            },
          }),
        )
      }
      expect(await dispatcher.drain()).toBe(3)
      expect(sent.map((input) => input.url)).toEqual([receiver.url, receiver.url, receiver.url])
    })

    it('gives up after the schedule and disables an endpoint failing for days', async () => {
      const created = await endpoint(['verification.approved'], '?token=receiver-secret')
      let clock = Date.now()
      const attempts: SendInput[] = []
      const lines: { msg: string; endpointId?: string; url?: string }[] = []
      const logger = pino(
        { level: 'warn' },
        { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) },
      )
      const failing = createWebhookDispatcher({
        storage: h.storage,
        encryptionKey: h.secrets.encryptionKey,
        logger,
        now: () => clock,
        send: async (input): Promise<SendOutcome> => {
          attempts.push(input)
          return { ok: false, statusCode: 500, latencyMs: 3, error: null }
        },
      })
      await h.db.transaction().execute((trx) =>
        emitWebhookEvent(trx, {
          type: 'verification.approved',
          projectId,
          mode: 'test',
          orderKey: 'ver_x',
          at: clock,
          data: {
            verificationId: 'ver_x',
            phone: PHONE,
            country: 'GB',
            approvedAt: new Date(clock).toISOString(),
          },
        }),
      )
      const started = clock
      for (let i = 0; i < MAX_ATTEMPTS + 2; i++) {
        await failing.drain()
        const next = await h.db
          .selectFrom('webhook_deliveries')
          .select(['available_at', 'state'])
          .executeTakeFirstOrThrow()
        if (next.state !== 'pending') break
        clock = next.available_at
      }
      expect(attempts).toHaveLength(MAX_ATTEMPTS)
      expect(new Set(attempts.map((a) => a.messageId)).size).toBe(1)
      const hours = (clock - started) / 3_600_000
      expect(hours).toBeGreaterThan(55)
      expect(hours).toBeLessThan(95)
      // Given up, not yet disabled: that takes 5 days of failures.
      const given = await h.call('GET', `/v1/webhooks/endpoints/${created.id}`, { key: sk })
      expect(given.json).toMatchObject({ enabled: true })
      clock = started + 5 * 24 * 3_600_000
      await h.db.transaction().execute((trx) =>
        emitWebhookEvent(trx, {
          type: 'verification.approved',
          projectId,
          mode: 'test',
          orderKey: 'ver_y',
          at: clock,
          data: {
            verificationId: 'ver_y',
            phone: PHONE,
            country: 'GB',
            approvedAt: new Date(clock).toISOString(),
          },
        }),
      )
      await failing.drain()
      const endpointNow = await h.call('GET', `/v1/webhooks/endpoints/${created.id}`, { key: sk })
      expect(endpointNow.json).toMatchObject({ enabled: false, disabledReason: 'failing' })
      const disabledLine = lines.find((l) => l.msg.startsWith('webhook endpoint disabled'))
      // The endpoint's URL is logged without its query, where receivers keep tokens.
      expect(disabledLine?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[^?]*\?…$/)
      expect(JSON.stringify(lines)).not.toContain('receiver-secret')
      const failed = await h.call(
        'GET',
        `/v1/webhooks/endpoints/${created.id}/deliveries?state=failed`,
        { key: sk },
      )
      expect(failed.json.data.at(-1).log).toHaveLength(MAX_ATTEMPTS)

      // Events raised while it is disabled are kept as failed; enabling and replaying sends all.
      await verify()
      const refused = await h.call('POST', `/v1/webhooks/endpoints/${created.id}/replay`, {
        key: sk,
      })
      expect(refused.json.error.code).toBe('webhook_endpoint_disabled')
      await h.call('PATCH', `/v1/webhooks/endpoints/${created.id}`, {
        key: sk,
        body: { enabled: true },
      })
      const replayed = await h.call('POST', `/v1/webhooks/endpoints/${created.id}/replay`, {
        key: sk,
        body: {},
      })
      // ver_x (given up) and the approval raised while disabled; ver_y, pending when the
      // endpoint was disabled, resumes on its own schedule.
      expect(replayed.json).toEqual({ replayed: 2 })
      await h.webhooks.drain()
      const got = receiver.received.map((r) => r.event.data.verificationId)
      expect(got).toHaveLength(2)
      expect(got).toContain('ver_x')
      const pending = await h.call(
        'GET',
        `/v1/webhooks/endpoints/${created.id}/deliveries?state=pending`,
        { key: sk },
      )
      expect(pending.json.data).toHaveLength(1)
    })
  })
}
