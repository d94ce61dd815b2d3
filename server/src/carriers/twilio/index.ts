/**
 * Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
 * form-encoded, HTTP Basic auth (Account SID and Auth Token, or an API key SID and secret).
 * Status callbacks are form posts signed with `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with
 * the Auth Token, over the full callback URL followed by every POST parameter, sorted by name,
 * as name and value concatenated.
 * @module
 */
import { createHmac } from 'node:crypto'
import { carrierFetch, DEFAULT_TIMEOUT_MS, httpStatusError, readJsonBody, safeEqual } from '../http'
import {
  type CallbackRequest,
  type CarrierAdapter,
  type CarrierCapabilities,
  CarrierError,
  type DeliveryReport,
  type OutgoingMessage,
  type ReportStatus,
  type SendResult,
} from '../types'
import { remainingValidity, type ValidityRange } from '../validity'

export interface TwilioOptions {
  accountSid: string
  /** The Auth Token: signs callbacks, and authenticates sends unless an API key is given. */
  authToken: string
  /** An API key (SK…) and its secret to authenticate sends instead of the Auth Token. */
  apiKey?: { sid: string; secret: string }
  /** A sender number or alphanumeric id; or use `messagingServiceSid`. */
  from?: string
  messagingServiceSid?: string
  /** Where Twilio posts status callbacks (our /v1/carriers/twilio/reports, public URL). */
  statusCallbackUrl?: string
  baseUrl?: string
  timeoutMs?: number
  /** The clock the code's remaining lifetime (ValidityPeriod) is measured with. */
  now?: () => number
}

/**
 * ValidityPeriod: how long, in whole seconds, Twilio may keep the text queued before dropping
 * it; Twilio accepts 1 to 36,000 (10 hours, its default).
 */
export const TWILIO_VALIDITY: ValidityRange = { unitMs: 1_000, min: 1, max: 36_000 }

/** Twilio error codes that no retry can fix (invalid or unreachable number, opted out, …). */
const PERMANENT_CODES = new Set([21211, 21214, 21610, 21612, 21614, 21617, 30006])
/**
 * Codes that say the account cannot send, not that the text is bad: 20003 authentication,
 * 21408 region not enabled for the account, 20005 account not active, 30002 account suspended.
 */
const ROUTE_FAULT_CODES = new Set([20003, 20005, 21408, 30002])

const STATUS: Record<string, ReportStatus | undefined> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'failed',
}

/** X-Twilio-Signature for a form callback (HMAC-SHA1, base64). */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort()
  let data = url
  for (const name of names) for (const value of params.getAll(name)) data += name + value
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64')
}

/**
 * The URL a callback that reached `requestUrl` was sent to, when Twilio was given
 * `callbackUrl`: its scheme and host (and the path prefix a proxy in front strips), with the
 * path and query the request came with.
 * @example
 * asCalled('https://verify.example/v1/carriers/twilio/reports', 'https://hooks.example/tg/v1/carriers/twilio/reports')
 * // 'https://hooks.example/tg/v1/carriers/twilio/reports'
 */
function asCalled(requestUrl: string, callbackUrl: string): string {
  const request = new URL(requestUrl)
  const given = new URL(callbackUrl)
  const path = given.pathname.endsWith(request.pathname) ? given.pathname : request.pathname
  return `${given.protocol}//${given.host}${path}${request.search}`
}

/** What the adapter can do, for these options. */
export function twilioCapabilities(): CarrierCapabilities {
  return {
    unicode: true,
    deliveryReports: true,
    // Twilio accepts bodies up to 1600 characters, split into at most 10 segments.
    maxParts: 10,
    senderId: { alphanumeric: true, maxLength: 11 },
    templatesOnly: false,
    callbackAuth: 'signature',
    validityPeriod: true,
  }
}

/**
 * @example
 * const twilio = twilioCarrier({ accountSid: 'AC…', authToken, from: '+15005550006' })
 */
export function twilioCarrier(options: TwilioOptions): CarrierAdapter {
  const baseUrl = (options.baseUrl ?? 'https://api.twilio.com').replace(/\/$/, '')
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const now = options.now ?? Date.now
  const user = options.apiKey?.sid ?? options.accountSid
  const password = options.apiKey?.secret ?? options.authToken
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  const endpoint = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`
  if (!options.from && !options.messagingServiceSid) {
    throw new Error('twilio: set `from` or `messagingServiceSid`')
  }

  return {
    id: 'twilio',
    capabilities: twilioCapabilities(),

    async send(message: OutgoingMessage): Promise<SendResult> {
      const form = new URLSearchParams({ To: message.to, Body: message.body })
      if (options.messagingServiceSid) form.set('MessagingServiceSid', options.messagingServiceSid)
      else form.set('From', options.from!)
      if (options.statusCallbackUrl) form.set('StatusCallback', options.statusCallbackUrl)
      const validity = remainingValidity(message, now(), TWILIO_VALIDITY)
      if (validity !== undefined) form.set('ValidityPeriod', String(validity))
      const response = await carrierFetch(
        'twilio',
        endpoint,
        {
          method: 'POST',
          headers: {
            Authorization: authorization,
            'Content-Type': 'application/x-www-form-urlencoded',
            Accept: 'application/json',
          },
          body: form.toString(),
        },
        timeoutMs,
      )
      const json = (await readJsonBody(response)) as
        | { sid?: string; code?: number; message?: string; num_segments?: string }
        | undefined
      if (!response.ok) {
        const code = json?.code
        throw httpStatusError(
          'twilio',
          response,
          `${code ?? ''} ${json?.message ?? 'no error message'}`.trim(),
          {
            code: code === undefined ? undefined : String(code),
            ...(code !== undefined && PERMANENT_CODES.has(code) ? { permanent: true } : {}),
            ...(code !== undefined && ROUTE_FAULT_CODES.has(code) ? { routeFault: true } : {}),
          },
        )
      }
      if (!json?.sid) throw new CarrierError('twilio', 'answer without a message sid')
      const parts = Number(json.num_segments)
      return {
        carrierMessageId: json.sid,
        status: 'sent',
        ...(Number.isInteger(parts) && parts > 0 ? { parts } : {}),
      }
    },

    verifyCallback(request: CallbackRequest): boolean {
      const header = request.headers['x-twilio-signature']
      if (!header) return false
      const params = new URLSearchParams(request.method === 'POST' ? request.body : '')
      // Twilio signs the URL it called: ours as PUBLIC_URL reads it, or, when the callbacks go
      // through a host of their own (statusCallbackUrl), that one.
      const urls = [request.url]
      if (options.statusCallbackUrl) urls.push(asCalled(request.url, options.statusCallbackUrl))
      return urls.some((url) => safeEqual(header, twilioSignature(options.authToken, url, params)))
    },

    parseReports(request: CallbackRequest, receivedAt: number): DeliveryReport[] {
      const params = new URLSearchParams(request.body)
      const sid = params.get('MessageSid') ?? params.get('SmsSid')
      const status = STATUS[params.get('MessageStatus') ?? params.get('SmsStatus') ?? '']
      if (!sid || !status) return []
      const errorCode = params.get('ErrorCode')
      // Status callbacks carry no event time: the receive time stands in.
      return [
        { carrierMessageId: sid, status, at: receivedAt, ...(errorCode ? { errorCode } : {}) },
      ]
    },
  }
}
