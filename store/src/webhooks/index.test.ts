import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { verifyWebhook, WebhookVerificationError } from '.'

const secret = `whsec_${btoa('a'.repeat(32))}`
const other = `whsec_${btoa('b'.repeat(32))}`
const body = JSON.stringify({
  type: 'key.revoked',
  timestamp: '2026-12-01T00:00:00.000Z',
  data: {
    projectId: 'prj_1',
    mode: 'test',
    keyId: 'key_1',
    kind: 'secret',
    hint: 'sk_…',
    revokedAt: '2026-12-01T00:00:00.000Z',
  },
})
const now = new Date('2026-12-01T00:00:10Z')

/** Headers as the server sends them: signed by the `standardwebhooks` package. */
function signed(secrets: string[], id = 'msg_1', at = new Date('2026-12-01T00:00:00Z')) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' '),
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'accepted'
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.code
    throw error
  }
}

describe('verifyWebhook (Standard Webhooks, WebCrypto)', () => {
  it('accepts what the standardwebhooks package signed, and returns the id and event', async () => {
    const verified = await verifyWebhook(body, signed([secret]), secret, { now })
    expect(verified.id).toBe('msg_1')
    expect(verified.event.type).toBe('key.revoked')
    expect(verified.timestamp.toISOString()).toBe('2026-12-01T00:00:00.000Z')
    // The official verifier agrees with it on the same input.
    expect(new Webhook(secret).verify(body, signed([secret], 'msg_1', new Date()))).toMatchObject({
      type: 'key.revoked',
    })
  })

  it('reads a Headers object, and accepts either secret during a rotation', async () => {
    const headers = new Headers(signed([other, secret]))
    expect((await verifyWebhook(body, headers, secret, { now })).id).toBe('msg_1')
    expect((await verifyWebhook(body, signed([secret]), [other, secret], { now })).id).toBe('msg_1')
  })

  it('refuses a wrong secret, a changed body, a changed id and a stale timestamp', async () => {
    expect(await codeOf(verifyWebhook(body, signed([secret]), other, { now }))).toBe(
      'invalid_signature',
    )
    expect(await codeOf(verifyWebhook(`${body} `, signed([secret]), secret, { now }))).toBe(
      'invalid_signature',
    )
    const moved = { ...signed([secret]), 'webhook-id': 'msg_2' }
    expect(await codeOf(verifyWebhook(body, moved, secret, { now }))).toBe('invalid_signature')
    const later = new Date(now.getTime() + 6 * 60_000)
    expect(await codeOf(verifyWebhook(body, signed([secret]), secret, { now: later }))).toBe(
      'timestamp_out_of_range',
    )
  })

  it('names missing headers and a malformed secret', async () => {
    const { 'webhook-signature': _, ...unsigned } = signed([secret])
    expect(await codeOf(verifyWebhook(body, unsigned, secret, { now }))).toBe('missing_headers')
    expect(await codeOf(verifyWebhook(body, signed([secret]), 'whsec_***', { now }))).toBe(
      'invalid_secret',
    )
  })
})
