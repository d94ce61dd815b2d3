import { describe, expect, it } from 'vitest'
import { carrierConformance } from '../../../testing/carrier-conformance.case'
import { startGenericFake } from '../../../testing/carriers/generic'
import { type GenericHttpOptions, genericHttpCarrier, readPath } from './index'

const token = 'generic-bearer-token'
const secret = 'generic-callback-secret'
const callbackUrl = 'https://verify.example/v1/carriers/generic/reports'
const TIMEOUT_MS = 300
/** Ordinary sends get a generous budget: a loaded CI machine must not make them time out. */
const SEND_TIMEOUT_MS = 10_000

function options(baseUrl: string, bearer: string, timeoutMs = SEND_TIMEOUT_MS): GenericHttpOptions {
  return {
    url: `${baseUrl}/api/v1/messages`,
    headers: { Authorization: `Bearer ${bearer}` },
    body: { recipient: '{{to}}', content: '{{text}}', ref: '{{id}}' },
    responseIdPath: 'data.message.id',
    callback: {
      secret,
      idPath: 'event.message_id',
      statusPath: 'event.state',
      statusMap: {
        submitted: 'sent',
        delivered: 'delivered',
        expired: 'undelivered',
        rejected: 'failed',
      },
      errorCodePath: 'event.error_code',
      timePath: 'event.occurred_at',
    },
    timeoutMs,
  }
}

carrierConformance('generic', async () => {
  const fake = await startGenericFake({ token, secret, callbackUrl })
  return {
    fake,
    adapter: genericHttpCarrier(options(fake.baseUrl, token)),
    timeoutAdapter: genericHttpCarrier(options(fake.baseUrl, token, TIMEOUT_MS)),
    badCredentials: genericHttpCarrier(options(fake.baseUrl, 'wrong-secret')),
    timeoutMs: TIMEOUT_MS,
    reportsCarryTime: true,
  }
})

describe('generic adapter details', () => {
  it('fills the template, escaping nothing by hand (JSON does it)', async () => {
    const fake = await startGenericFake({ token, secret, callbackUrl })
    try {
      const adapter = genericHttpCarrier(options(fake.baseUrl, token))
      await adapter.send({
        id: 'msg_g1',
        to: '+447700900123',
        body: 'say "hi" {{id}}',
        projectId: 'p',
        mode: 'live',
      })
      expect(fake.sends.at(-1)).toEqual({
        to: '+447700900123',
        text: 'say "hi" {{id}}',
        ref: 'msg_g1',
      })
    } finally {
      await fake.close()
    }
  })

  it('fills {{validitySeconds}} with the seconds left, clamped, and empty without an expiry', async () => {
    const fake = await startGenericFake({ token, secret, callbackUrl })
    try {
      const T = Date.UTC(2026, 10, 27, 12, 0, 0)
      const base = options(fake.baseUrl, token)
      const adapter = genericHttpCarrier({
        ...base,
        body: { ...base.body, validity_seconds: '{{validitySeconds}}' },
        validitySeconds: { min: 30, max: 3_600 },
        now: () => T,
      })
      expect(adapter.capabilities.validityPeriod).toBe(true)
      expect(genericHttpCarrier(base).capabilities.validityPeriod).toBe(false)
      const send = (id: string, expiresAt?: number) =>
        adapter.send({
          id,
          to: '+447700900123',
          body: 'Code 1',
          projectId: 'p',
          mode: 'live',
          ...(expiresAt === undefined ? {} : { expiresAt }),
        })
      await send('v1', T + 600_000)
      await send('v2', T + 599_999)
      await send('v3', T + 86_400_000)
      await send('v4', T + 10_000)
      await send('v5')
      expect(fake.sends.map((s) => [s.ref, s.validitySeconds])).toEqual([
        ['v1', '600'],
        ['v2', '599'],
        ['v3', '3600'],
        ['v4', '30'],
        ['v5', ''],
      ])
      // Without a configured range: at least 1 s, no maximum.
      const open = genericHttpCarrier({
        ...base,
        body: { ...base.body, validity_seconds: '{{validitySeconds}}' },
        now: () => T,
      })
      await open.send({
        id: 'v6',
        to: '+447700900123',
        body: 'x',
        projectId: 'p',
        mode: 'live',
        expiresAt: T + 86_400_000,
      })
      await open.send({
        id: 'v7',
        to: '+447700900123',
        body: 'x',
        projectId: 'p',
        mode: 'live',
        expiresAt: T - 1,
      })
      expect(fake.sends.slice(-2).map((s) => s.validitySeconds)).toEqual(['86400', '1'])
    } finally {
      await fake.close()
    }
  })

  it('reads dotted paths, array indexes included', () => {
    expect(readPath({ a: { b: [{ c: 1 }] } }, 'a.b.0.c')).toBe(1)
    expect(readPath({ a: null }, 'a.b')).toBeUndefined()
  })

  it('reads a list of reports when listPath is set', () => {
    const adapter = genericHttpCarrier({
      ...options('http://127.0.0.1:1', token),
      callback: {
        ...options('', token).callback!,
        listPath: 'events',
        idPath: 'message_id',
        statusPath: 'state',
      },
    })
    const body = JSON.stringify({
      events: [
        { message_id: 'a', state: 'delivered' },
        { message_id: 'b', state: 'unknown' },
      ],
    })
    expect(
      adapter.parseReports!({ method: 'POST', url: callbackUrl, headers: {}, body }, 9),
    ).toEqual([{ carrierMessageId: 'a', status: 'delivered', at: 9 }])
  })
})
