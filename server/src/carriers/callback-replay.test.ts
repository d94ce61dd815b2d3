/**
 * Signed carrier callbacks: a timestamp within ±5 minutes, no second application of the same
 * signed callback, a warning about bad signatures at most once a minute, and no secret of a
 * callback URL in any log line.
 */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { genericHttpCarrier, genericSignature } from './generic'
import { vonageCarrier, vonageSignature } from './vonage/index'

const SECRET = 'callback-replay-signature-secret'
const signature = { secret: SECRET, method: 'sha256' as const }
const seconds = (offsetMs = 0) => String(Math.floor((Date.now() + offsetMs) / 1000))

function capturingLogger() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

const generic = () =>
  genericHttpCarrier({
    url: 'http://127.0.0.1:9/never',
    body: { to: '{{to}}', text: '{{text}}' },
    responseIdPath: 'id',
    callback: {
      secret: SECRET,
      idPath: 'id',
      statusPath: 'status',
      statusMap: { DELIVERED: 'delivered' },
    },
  })

const vonage = (options: { token?: string } = {}) =>
  vonageCarrier({
    apiKey: 'k1',
    ...(options.token ? { apiSecret: 's1', callbackToken: options.token } : { signature }),
    from: 'Shop',
    restHost: 'http://127.0.0.1:9',
  })

for (const dialect of DIALECTS) {
  describe(`carrier callbacks: freshness and replays (${dialect})`, () => {
    let h: Harness | undefined
    afterEach(async () => {
      await h?.dispose()
      h = undefined
    })

    const postGeneric = (
      body: string,
      timestamp: string,
      sig = genericSignature(SECRET, body, timestamp),
    ) =>
      (h as Harness).call('POST', '/v1/carriers/generic/reports', {
        origin: null,
        body,
        headers: { 'X-Signature': sig, 'X-Signature-Timestamp': timestamp },
      })

    it('generic HTTP: refuses stale, future and unstamped callbacks, and replays', async () => {
      h = await createHarness(dialect, { liveCarrier: generic() })
      const body = JSON.stringify({ id: 'gw-1', status: 'DELIVERED' })
      // One timestamp for both copies: computing it twice can cross a second boundary, and a
      // different timestamp is a different signed callback, not a replay.
      const stamp = seconds(-4 * 60_000)
      const fresh = await postGeneric(body, stamp)
      expect(fresh.status).toBe(200)
      expect(fresh.json).toMatchObject({ received: 1 })
      const replay = await postGeneric(body, stamp)
      expect(replay.status).toBe(200)
      expect(replay.json).toEqual({ replayed: true })
      expect((await postGeneric(body, seconds(-6 * 60_000))).status).toBe(401)
      expect((await postGeneric(body, seconds(6 * 60_000))).status).toBe(401)
      const unstamped = await h.call('POST', '/v1/carriers/generic/reports', {
        origin: null,
        body,
        headers: { 'X-Signature': genericSignature(SECRET, body, '') },
      })
      expect(unstamped.status).toBe(401)
      // A timestamp moved forward without re-signing fails the signature.
      const sig = genericSignature(SECRET, body, seconds(-60_000))
      expect((await postGeneric(body, seconds(), sig)).status).toBe(401)
    })

    it('Vonage signed callbacks: refuses stale timestamps and replays', async () => {
      h = await createHarness(dialect, { liveCarrier: vonage() })
      const receipt = (timestamp: string) => {
        const params: Record<string, string> = {
          messageId: 'vn-1',
          status: 'delivered',
          'api-key': 'k1',
          'message-timestamp': '2026-11-25 12:00:00',
          timestamp,
          nonce: 'n1',
        }
        params.sig = vonageSignature(params, SECRET, 'sha256')
        return JSON.stringify(params)
      }
      const post = (body: string) =>
        (h as Harness).call('POST', '/v1/carriers/vonage/reports', { origin: null, body })
      const body = receipt(seconds(-60_000))
      expect((await post(body)).json).toMatchObject({ received: 1 })
      expect((await post(body)).json).toEqual({ replayed: true })
      expect((await post(receipt(seconds(-10 * 60_000)))).status).toBe(401)
      expect((await post(receipt(seconds(10 * 60_000)))).status).toBe(401)
    })

    it('warns about bad signatures at most once a minute, and never logs a callback URL secret', async () => {
      const { logger, lines } = capturingLogger()
      const token = 'url-token-9f8e7d6c5b4a'
      h = await createHarness(dialect, { liveCarrier: vonage({ token }), logger })
      for (let i = 0; i < 50; i++) {
        const res = await h.call('POST', `/v1/carriers/vonage/reports?token=wrong-${i}`, {
          origin: null,
          body: JSON.stringify({ messageId: 'vn-2', status: 'delivered' }),
        })
        expect(res.status).toBe(401)
      }
      const good = await h.call('POST', `/v1/carriers/vonage/reports?token=${token}`, {
        origin: null,
        body: JSON.stringify({ messageId: 'vn-2', status: 'delivered' }),
      })
      expect(good.status).toBe(200)
      const warnings = lines.filter((line) => line.includes('signature'))
      expect(warnings).toHaveLength(1)
      const all = lines.join('')
      expect(all).not.toContain(token)
      expect(all).not.toContain('wrong-')
      // The access log still has the request, by path only.
      expect(all).toContain('/v1/carriers/vonage/reports')
    })
  })
}
