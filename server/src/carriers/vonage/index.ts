/**
 * Vonage (Nexmo) SMS API: `POST {restHost}/sms/json`, form-encoded, authenticated by
 * `api_key` + `api_secret`, or by `api_key` + `timestamp` + `sig` (signed requests). The answer
 * is HTTP 200 even on failure: each part carries its own `status` ("0" is success). Texts to
 * India (+91) carry the project's DLT ids as `entity-id` and `content-id`.
 * Delivery receipts arrive as GET query parameters or as a POST (JSON or form); with a signature
 * secret they carry `sig`: every other parameter, sorted by name, as `&name=value` (with `&` and
 * `=` in values replaced by `_`), hashed with the secret (md5hash appends it and takes MD5; the
 * HMAC methods key an HMAC with it).
 * @module
 */
import { createHash, createHmac } from 'node:crypto'
import { isFreshTimestamp } from '../callback-time'
import {
  carrierFetch,
  DEFAULT_TIMEOUT_MS,
  digitsOnly,
  httpStatusError,
  readJsonBody,
  safeEqual,
  scrubNumbers,
} from '../http'
import { sumDecimals } from '../money'
import { encodingOf } from '../segments'
import { indiaDltIds } from '../template-data'
import {
  type CallbackRequest,
  type CarrierAdapter,
  type CarrierCapabilities,
  CarrierError,
  type DeliveryReport,
  type OutgoingMessage,
  type ReportStatus,
  type SendResult,
  type SentPart,
} from '../types'
import { remainingValidity, type ValidityRange } from '../validity'

export type VonageSignatureMethod = 'md5hash' | 'md5' | 'sha1' | 'sha256' | 'sha512'

export interface VonageOptions {
  apiKey: string
  /** Authenticates sends when no signature secret is set. */
  apiSecret?: string
  /** Signs sends and checks the signature of delivery receipts. */
  signature?: { secret: string; method: VonageSignatureMethod }
  /** Without a signature secret, receipts are checked by this token in the callback URL. */
  callbackToken?: string
  from: string
  /** Our /v1/carriers/vonage/reports URL (public), sent as `callback`. */
  callbackUrl?: string
  /** Vonage states prices without a currency: the account's currency. */
  currency?: string
  restHost?: string
  timeoutMs?: number
  now?: () => number
}

/**
 * `ttl`: how long, in milliseconds, Vonage attempts delivery (72 hours by default); its SMS API
 * accepts 20,000 (20 s) to 604,800,000 (7 days).
 */
export const VONAGE_VALIDITY: ValidityRange = { unitMs: 1, min: 20_000, max: 604_800_000 }

/** SMS API status codes ("0" is success) that retrying can fix. */
const TRANSIENT = new Set(['1', '5', '10'])
/**
 * Statuses about the account, not the text: 4 invalid credentials, 8 account barred, 9 quota
 * (credit) exceeded, 11 account not enabled for this API, 14 invalid signature, 29 destination
 * not whitelisted (trial account), 32 signature and secret disallowed.
 */
const ROUTE_FAULT = new Set(['4', '8', '9', '11', '14', '29', '32'])

const STATUS: Record<string, ReportStatus | undefined> = {
  delivered: 'delivered',
  accepted: 'sent',
  buffered: 'sent',
  expired: 'undelivered',
  failed: 'failed',
  rejected: 'failed',
}

/** The `sig` of a parameter set (the `sig` parameter itself is left out). */
export function vonageSignature(
  params: Record<string, string>,
  secret: string,
  method: VonageSignatureMethod,
): string {
  let data = ''
  for (const name of Object.keys(params).sort()) {
    if (name === 'sig') continue
    data += `&${name}=${String(params[name]).replace(/[&=]/g, '_')}`
  }
  if (method === 'md5hash')
    return createHash('md5')
      .update(data + secret)
      .digest('hex')
  return createHmac(method, secret).update(data).digest('hex')
}

/** Every parameter of a receipt: the query, and a JSON or form body. */
export function vonageCallbackParams(request: CallbackRequest): Record<string, string> {
  const params: Record<string, string> = Object.fromEntries(new URL(request.url).searchParams)
  const body = request.body.trim()
  if (body.startsWith('{')) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(body) as Record<string, unknown>)) {
        if (v !== null && v !== undefined) params[k] = String(v)
      }
    } catch {
      // not JSON after all: nothing more to read
    }
  } else if (body) {
    for (const [k, v] of new URLSearchParams(body)) params[k] = v
  }
  return params
}

/** What the adapter can do, for these options. */
export function vonageCapabilities(
  options: Pick<VonageOptions, 'callbackToken' | 'signature'>,
): CarrierCapabilities {
  return {
    unicode: true,
    deliveryReports: true,
    maxParts: 6,
    senderId: { alphanumeric: true, maxLength: 11 },
    templatesOnly: false,
    callbackAuth: options.signature ? 'signature' : options.callbackToken ? 'url-token' : 'none',
    validityPeriod: true,
  }
}

/**
 * @example
 * const vonage = vonageCarrier({ apiKey, apiSecret, from: 'Shop' })
 */
export function vonageCarrier(options: VonageOptions): CarrierAdapter {
  const restHost = (options.restHost ?? 'https://rest.nexmo.com').replace(/\/$/, '')
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const now = options.now ?? Date.now
  if (!options.apiSecret && !options.signature) {
    throw new Error('vonage: set `apiSecret` or `signature`')
  }

  return {
    id: 'vonage',
    capabilities: vonageCapabilities(options),

    async send(message: OutgoingMessage): Promise<SendResult> {
      const params: Record<string, string> = {
        api_key: options.apiKey,
        from: options.from,
        to: digitsOnly(message.to),
        text: message.body,
        type: encodingOf(message.body) === 'UCS-2' ? 'unicode' : 'text',
        'client-ref': message.id,
      }
      // India DLT: the registered entity and content template (signed like every parameter).
      const dlt = indiaDltIds(message)
      if (dlt?.entityId) params['entity-id'] = dlt.entityId
      if (dlt?.templateId) params['content-id'] = dlt.templateId
      // The code's remaining lifetime: Vonage stops trying once it has passed.
      const ttl = remainingValidity(message, now(), VONAGE_VALIDITY)
      if (ttl !== undefined) params.ttl = String(ttl)
      if (options.callbackUrl) {
        params.callback = options.callbackUrl
        params['status-report-req'] = '1'
      }
      if (options.signature) {
        params.timestamp = String(Math.floor(now() / 1000))
        params.sig = vonageSignature(params, options.signature.secret, options.signature.method)
      } else {
        params.api_secret = options.apiSecret!
      }
      const response = await carrierFetch(
        'vonage',
        `${restHost}/sms/json`,
        {
          method: 'POST',
          headers: {
            'Content-Type': 'application/x-www-form-urlencoded',
            Accept: 'application/json',
          },
          body: new URLSearchParams(params).toString(),
        },
        timeoutMs,
      )
      const json = (await readJsonBody(response)) as
        | {
            'message-count'?: string
            messages?: {
              status?: string
              'message-id'?: string
              'message-price'?: string
              'error-text'?: string
            }[]
          }
        | undefined
      if (!response.ok) {
        throw httpStatusError('vonage', response, json?.messages?.[0]?.['error-text'] ?? '')
      }
      const parts = json?.messages ?? []
      const failed = parts.find((p) => p.status !== '0')
      if (failed || parts.length === 0) {
        const status = failed?.status ?? 'none'
        throw new CarrierError(
          'vonage',
          `status ${status}: ${scrubNumbers(failed?.['error-text'] ?? '')}`,
          {
            permanent: !TRANSIENT.has(status),
            routeFault: ROUTE_FAULT.has(status),
            code: status,
          },
        )
      }
      // One entry per part, each with its own id: Vonage sends a receipt for each part.
      const currency = options.currency ?? 'EUR'
      const sentParts: SentPart[] = parts.map((p) => {
        const partId = p['message-id']
        if (!partId) throw new CarrierError('vonage', 'answer without a message-id')
        const price = p['message-price']
        return { carrierMessageId: partId, ...(price ? { cost: { amount: price, currency } } : {}) }
      })
      const prices = parts.map((p) => p['message-price']).filter((p) => p !== undefined)
      return {
        carrierMessageId: sentParts[0]!.carrierMessageId,
        status: 'sent',
        parts: parts.length,
        sentParts,
        ...(prices.length > 0 ? { cost: { amount: sumDecimals(prices), currency } } : {}),
      }
    },

    verifyCallback(request: CallbackRequest): boolean {
      const params = vonageCallbackParams(request)
      if (options.signature) {
        if (!params.sig) return false
        // Signed callbacks carry the Unix time they were signed at: refuse stale ones.
        if (!isFreshTimestamp(params.timestamp, now())) return false
        const expected = vonageSignature(params, options.signature.secret, options.signature.method)
        return safeEqual(params.sig.toLowerCase(), expected.toLowerCase())
      }
      if (options.callbackToken) {
        const token = new URL(request.url).searchParams.get('token') ?? ''
        return safeEqual(token, options.callbackToken)
      }
      return false
    },

    callbackReplayKey(request: CallbackRequest): string | undefined {
      if (!options.signature) return undefined
      return vonageCallbackParams(request).sig?.toLowerCase()
    },

    parseReports(request: CallbackRequest, receivedAt: number): DeliveryReport[] {
      const params = vonageCallbackParams(request)
      const id = params.messageId
      const status = STATUS[params.status ?? '']
      if (!id || !status) return []
      const stamp = params['message-timestamp']
      const at = stamp ? Date.parse(`${stamp.replace(' ', 'T')}Z`) : Number.NaN
      const errorCode = params['err-code']
      const report: DeliveryReport = {
        carrierMessageId: id,
        status,
        at: Number.isNaN(at) ? receivedAt : at,
      }
      if (errorCode && errorCode !== '0') report.errorCode = errorCode
      if (params.price) report.cost = { amount: params.price, currency: options.currency ?? 'EUR' }
      return [report]
    },
  }
}

/** Adds decimal strings exactly (kept here for callers that import it from the adapter). */
export { sumDecimals }
