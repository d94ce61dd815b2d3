/**
 * For store servers: verify a Textgate webhook (Standard Webhooks 1.0) with WebCrypto alone.
 *
 * Written here rather than taken from the `standardwebhooks` package (which the server signs
 * with, and which the tests check this against): that package ships CommonJS and a pure-JS
 * SHA-256, and this verifier must load unchanged on Node, Deno, Bun and edge runtimes; the
 * scheme itself is one HMAC-SHA256 over `id.timestamp.body`.
 * @module
 */
import type { WebhookEvent } from '@textgate/shared'

export type WebhookErrorCode =
  | 'missing_headers'
  | 'invalid_secret'
  | 'timestamp_out_of_range'
  | 'invalid_signature'
  | 'invalid_payload'

export class WebhookVerificationError extends Error {
  constructor(
    readonly code: WebhookErrorCode,
    message: string,
  ) {
    super(`[textgate] [webhooks] ${message}`)
    this.name = 'WebhookVerificationError'
  }
}

export interface VerifiedWebhook {
  /** The `webhook-id`: the same on every retry and replay of one event, so deduplicate on it. */
  id: string
  /** When the event was signed (the `webhook-timestamp`). */
  timestamp: Date
  event: WebhookEvent
}

export interface VerifyWebhookOptions {
  /** How far the signing time may be from now; default 300 s, as Standard Webhooks advises. */
  toleranceSeconds?: number
  /** The current time, for tests. */
  now?: Date
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') {
    return (headers as Headers).get(name) ?? undefined
  }
  const record = headers as Record<string, string | string[] | undefined>
  const key = Object.keys(record).find((k) => k.toLowerCase() === name)
  const value = key === undefined ? undefined : record[key]
  return Array.isArray(value) ? value.join(' ') : value
}

function base64Bytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
  } catch {
    return undefined
  }
}

const encoder = new TextEncoder()
const keys = new Map<string, Promise<CryptoKey>>()

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret)
  if (!key) {
    const raw = base64Bytes(secret.startsWith('whsec_') ? secret.slice(6) : secret)
    if (!raw || raw.length === 0) {
      throw new WebhookVerificationError('invalid_secret', 'the secret is not whsec_ + base64')
    }
    key = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    keys.set(secret, key)
  }
  return key
}

/**
 * Checks a webhook request's Standard Webhooks signature and age, then parses its body.
 * `body` must be the raw request body, byte for byte (read it with `await request.text()`
 * before any JSON parsing). `secret` is the endpoint's `whsec_…` secret; pass two during a
 * rotation. Throws {@link WebhookVerificationError}.
 * @example
 * import { verifyWebhook } from '@textgate/store'
 *
 * const { id, event } = await verifyWebhook(await request.text(), request.headers, process.env.TEXTGATE_WEBHOOK_SECRET)
 * if (await seenBefore(id)) return new Response(null, { status: 204 }) // a retry or a replay
 * if (event.type === 'verification.approved') markVerified(event.data.verificationId)
 */
export async function verifyWebhook(
  body: string,
  headers: HeaderSource,
  secret: string | readonly string[],
  { toleranceSeconds = 300, now = new Date() }: VerifyWebhookOptions = {},
): Promise<VerifiedWebhook> {
  const id = header(headers, 'webhook-id')
  const timestamp = header(headers, 'webhook-timestamp')
  const signatures = header(headers, 'webhook-signature')
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature are required',
    )
  }
  const seconds = /^\d{1,15}$/.test(timestamp) ? Number(timestamp) : Number.NaN
  if (!(Math.abs(now.getTime() / 1000 - seconds) <= toleranceSeconds)) {
    throw new WebhookVerificationError(
      'timestamp_out_of_range',
      'webhook-timestamp is too old, too new or not a number (a replayed request?)',
    )
  }
  const secrets = typeof secret === 'string' ? [secret] : secret
  if (secrets.length === 0) throw new WebhookVerificationError('invalid_secret', 'no secret given')
  const signed = encoder.encode(`${id}.${timestamp}.${body}`)
  const candidates = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => base64Bytes(s.slice(3)))
    .filter((s) => s !== undefined)
  let valid = false
  for (const s of secrets) {
    const key = await hmacKey(s)
    for (const candidate of candidates) {
      // crypto.subtle.verify compares in constant time.
      if (await crypto.subtle.verify('HMAC', key, candidate, signed)) valid = true
    }
  }
  if (!valid) {
    throw new WebhookVerificationError('invalid_signature', 'no signature matches the secret')
  }
  let event: WebhookEvent
  try {
    event = JSON.parse(body) as WebhookEvent
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'the body is not JSON')
  }
  return { id, timestamp: new Date(seconds * 1000), event }
}
