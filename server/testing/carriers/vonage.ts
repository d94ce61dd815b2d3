/**
 * A local Vonage SMS API (`/sms/json`): form or JSON bodies; credentials as `api_key` +
 * `api_secret`, as HTTP Basic (what the current SDK sends), or as a signed request (`sig`);
 * answers HTTP 200 with one entry per part and a per-part `status`, as Vonage does; and
 * delivery receipts signed with the signature secret. Test-only.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { SegmentedMessage } from 'sms-segments-calculator'
import type { ReportStatus } from '../../src/carriers/types'
import { type VonageSignatureMethod, vonageSignature } from '../../src/carriers/vonage/index'
import type { CarrierFake, FakeSend } from '../carrier-conformance.case'
import { basicCredentials, type FakeAnswer, startFakeServer } from './fake-server'

export interface VonageFakeOptions {
  apiKey: string
  apiSecret: string
  signature: { secret: string; method: VonageSignatureMethod }
  callbackUrl: string
  pricePerPart?: string
}

const INVALID = '+447000000000'

function failure(status: string, errorText: string): FakeAnswer {
  return {
    status: 200,
    body: { 'message-count': '1', messages: [{ status, 'error-text': errorText }] },
  }
}

export async function startVonageFake(options: VonageFakeOptions) {
  const sends: (FakeSend & {
    clientRef?: string
    callback?: string
    /** India DLT ids from `entity-id` and `content-id`, when the request carried them. */
    dlt?: { entityId?: string; templateId?: string }
    /** `ttl` in milliseconds, when the send asked for one. */
    ttl?: number
  })[] = []
  let balance = 10
  const server = await startFakeServer(
    (request) => {
      const url = new URL(request.url, 'http://fake')
      if (request.method !== 'POST' || url.pathname !== '/sms/json') {
        return { status: 404, body: { type: 'NOT_FOUND' } }
      }
      const isJson = String(request.headers['content-type']).startsWith('application/json')
      const params: Record<string, string> = {}
      for (const [k, v] of url.searchParams) params[k] = v
      if (isJson) {
        for (const [k, v] of Object.entries(JSON.parse(request.body || '{}') as object)) {
          params[k] = String(v)
        }
      } else {
        for (const [k, v] of new URLSearchParams(request.body)) params[k] = v
      }
      const basic = basicCredentials(request.headers.authorization)
      const key = basic?.[0] ?? params.api_key
      let authenticated = false
      if (basic) authenticated = basic[0] === options.apiKey && basic[1] === options.apiSecret
      else if (params.api_secret) {
        authenticated = key === options.apiKey && params.api_secret === options.apiSecret
      } else if (params.sig) {
        if (params.api_secret) return failure('32', 'Signature And API Secret Disallowed')
        const expected = vonageSignature(params, options.signature.secret, options.signature.method)
        if (key === options.apiKey && params.sig !== expected) {
          return failure('14', 'Invalid Signature')
        }
        authenticated =
          key === options.apiKey && Math.abs(Date.now() / 1000 - Number(params.timestamp)) < 300
      }
      if (!key) return failure('2', 'Missing api_key')
      if (!authenticated) return failure('4', 'Bad Credentials')
      const { from, to, text } = params
      if (!from) return failure('2', 'Missing from param')
      if (!to) return failure('2', 'Missing to param')
      if (!text) return failure('2', 'Missing text param')
      if (`+${to}` === INVALID || !/^[1-9]\d{6,14}$/.test(to)) {
        return failure('3', 'Invalid to address')
      }
      const ttl = params.ttl === undefined ? undefined : Number(params.ttl)
      if (
        ttl !== undefined &&
        !(/^\d+$/.test(params.ttl!) && ttl >= 20_000 && ttl <= 604_800_000)
      ) {
        return failure('3', 'Invalid ttl param')
      }
      const unicode = params.type === 'unicode'
      const segments = new SegmentedMessage(text, unicode ? 'UCS-2' : 'auto')
      if (!unicode && segments.encodingName !== 'GSM-7') {
        // Vonage would send mangled text: the fake refuses it so a wrong `type` is caught.
        return failure('6', 'Invalid Message: non-GSM text sent with type=text')
      }
      const price = options.pricePerPart ?? '0.03330000'
      sends.push({
        to: `+${to}`,
        text,
        unicode,
        clientRef: params['client-ref'],
        callback: params.callback,
        dlt:
          params['entity-id'] || params['content-id']
            ? { entityId: params['entity-id'], templateId: params['content-id'] }
            : undefined,
        ...(ttl !== undefined ? { ttl } : {}),
      })
      return {
        status: 200,
        body: {
          'message-count': String(segments.segmentsCount),
          messages: Array.from({ length: segments.segmentsCount }, () => {
            balance -= Number(price)
            return {
              to,
              'message-id': randomBytes(8).toString('hex').toUpperCase(),
              status: '0',
              'remaining-balance': balance.toFixed(8),
              'message-price': price,
              network: '23410',
              ...(params['client-ref'] ? { 'client-ref': params['client-ref'] } : {}),
            }
          }),
        },
      }
    },
    (f) =>
      f.kind === 'rate_limited'
        ? {
            status: 429,
            body: { type: 'https://developer.nexmo.com/api-errors#throttled', title: 'Throttled' },
            headers: { 'Retry-After': String(f.retryAfterSeconds) },
          }
        : failure('5', 'Internal Error'),
  )

  const vocabulary: Record<ReportStatus, string> = {
    sent: 'accepted',
    delivered: 'delivered',
    undelivered: 'expired',
    failed: 'failed',
  }

  return {
    baseUrl: server.baseUrl,
    sends,
    invalidNumber: INVALID,
    failNext: server.failNext,
    close: server.close,
    /** A receipt as Vonage POSTs it with the "POST-JSON" webhook method, signed. */
    deliveryReport(carrierMessageId, status, reportOptions = {}) {
      const at = new Date(reportOptions.at ?? Date.now())
      const stamp = at.toISOString().slice(0, 19).replace('T', ' ')
      const params: Record<string, string> = {
        msisdn: '447700900123',
        to: 'Shop',
        'network-code': '23410',
        messageId: carrierMessageId,
        price: '0.03330000',
        status: vocabulary[status],
        scts: stamp.replace(/\D/g, '').slice(2, 12),
        'err-code': reportOptions.errorCode ?? '0',
        'api-key': options.apiKey,
        'message-timestamp': stamp,
        // When Vonage signed the callback (now), not when the status changed.
        timestamp: String(Math.floor(Date.now() / 1000)),
        nonce: randomBytes(8).toString('hex'),
      }
      if (!reportOptions.unsigned) {
        params.sig = vonageSignature(params, options.signature.secret, options.signature.method)
      }
      return {
        method: 'POST',
        url: options.callbackUrl,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
      }
    },
  } satisfies CarrierFake
}
