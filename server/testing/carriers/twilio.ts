/**
 * A local Twilio Messages API: the Messages.json resource with Basic auth, Twilio's JSON
 * error bodies ({ code, message, more_info, status }), and status callbacks signed the way
 * Twilio signs them. Test-only.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { SegmentedMessage } from 'sms-segments-calculator'
import { twilioSignature } from '../../src/carriers/twilio/index'
import type { ReportStatus } from '../../src/carriers/types'
import type { CarrierFake, FakeSend } from '../carrier-conformance.case'
import { basicCredentials, type FakeAnswer, startFakeServer } from './fake-server'

export interface TwilioFakeOptions {
  accountSid: string
  authToken: string
  /** The URL the callbacks are "posted" to (what the signature covers). */
  callbackUrl: string
}

const INVALID = '+15005550001'

function twilioError(status: number, code: number, message: string): FakeAnswer {
  return {
    status,
    body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
  }
}

/** An accepted send as it arrived: the Basic credentials, the whole form and the sid given. */
export interface TwilioFakeRequest {
  user: string
  password: string
  form: Record<string, string>
  sid: string
  /** ValidityPeriod in seconds, when the send asked for one. */
  validityPeriod?: number
}

export async function startTwilioFake(options: TwilioFakeOptions) {
  const sends: FakeSend[] = []
  const accepted: TwilioFakeRequest[] = []
  const path = `/2010-04-01/Accounts/${options.accountSid}/Messages.json`
  const server = await startFakeServer(
    (request) => {
      const url = new URL(request.url, 'http://fake')
      if (request.method !== 'POST' || url.pathname !== path) {
        return twilioError(404, 20404, 'The requested resource was not found')
      }
      const credentials = basicCredentials(request.headers.authorization)
      if (credentials?.[0] !== options.accountSid || credentials[1] !== options.authToken) {
        return twilioError(401, 20003, 'Authenticate')
      }
      if (
        !String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')
      ) {
        return twilioError(400, 20001, 'Unsupported content type')
      }
      const form = new URLSearchParams(request.body)
      const to = form.get('To')
      const body = form.get('Body')
      const from = form.get('From')
      const service = form.get('MessagingServiceSid')
      if (!to) return twilioError(400, 21604, "A 'To' phone number is required.")
      if (!body) return twilioError(400, 21602, 'Message body is required.')
      if (!from && !service) return twilioError(400, 21603, "A 'From' phone number is required.")
      if (to === INVALID || !/^\+[1-9]\d{6,14}$/.test(to)) {
        return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`)
      }
      const validity = form.get('ValidityPeriod')
      const validityPeriod = validity === null ? undefined : Number(validity)
      if (
        validityPeriod !== undefined &&
        !(/^\d+$/.test(validity!) && validityPeriod >= 1 && validityPeriod <= 36_000)
      ) {
        return twilioError(400, 21624, 'Invalid validity period value')
      }
      if (body.length > 1600) {
        return twilioError(
          400,
          21617,
          'The concatenated message body exceeds the 1600 character limit.',
        )
      }
      sends.push({ to, text: body })
      const sid = `SM${randomBytes(16).toString('hex')}`
      accepted.push({
        user: credentials[0],
        password: credentials[1],
        form: Object.fromEntries(form),
        sid,
        ...(validityPeriod !== undefined ? { validityPeriod } : {}),
      })
      const date = new Date().toUTCString().replace('GMT', '+0000')
      return {
        status: 201,
        body: {
          account_sid: options.accountSid,
          api_version: '2010-04-01',
          body,
          date_created: date,
          date_sent: null,
          date_updated: date,
          direction: 'outbound-api',
          error_code: null,
          error_message: null,
          from: from ?? null,
          messaging_service_sid: service ?? null,
          num_media: '0',
          num_segments: String(new SegmentedMessage(body, 'auto').segmentsCount),
          price: null,
          price_unit: 'USD',
          sid,
          status: service ? 'accepted' : 'queued',
          subresource_uris: { media: `${path.replace('.json', '')}/${sid}/Media.json` },
          to,
          uri: `${path.replace('.json', '')}/${sid}.json`,
        },
      }
    },
    (failure) =>
      failure.kind === 'rate_limited'
        ? {
            ...twilioError(429, 20429, 'Too Many Requests'),
            headers: { 'Retry-After': String(failure.retryAfterSeconds) },
          }
        : twilioError(500, 20500, 'Internal Server Error'),
  )

  const vocabulary: Record<ReportStatus, string> = {
    sent: 'sent',
    delivered: 'delivered',
    undelivered: 'undelivered',
    failed: 'failed',
  }

  const fake = {
    baseUrl: server.baseUrl,
    sends,
    invalidNumber: INVALID,
    failNext: server.failNext,
    close: server.close,
    deliveryReport(carrierMessageId, status, reportOptions = {}) {
      const params = new URLSearchParams({
        SmsSid: carrierMessageId,
        SmsStatus: vocabulary[status],
        MessageStatus: vocabulary[status],
        To: '+447700900123',
        MessageSid: carrierMessageId,
        AccountSid: options.accountSid,
        From: '+15005550006',
        ApiVersion: '2010-04-01',
      })
      if (reportOptions.errorCode) params.set('ErrorCode', reportOptions.errorCode)
      const headers: Record<string, string> = {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'i-twilio-idempotency-token': randomBytes(8).toString('hex'),
      }
      if (!reportOptions.unsigned) {
        headers['x-twilio-signature'] = twilioSignature(
          options.authToken,
          options.callbackUrl,
          params,
        )
      }
      return { method: 'POST', url: options.callbackUrl, headers, body: params.toString() }
    },
  } satisfies CarrierFake
  return { ...fake, accepted }
}
