/**
 * A made-up but typical JSON SMS gateway for the generic adapter: `POST /api/v1/messages` with
 * a bearer token, `202 { data: { message: { id } } }`, problem-style errors, and signed event
 * callbacks (`X-Signature: sha256=<hex>` over the raw body). Test-only; there is no SDK.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { genericSignature } from '../../src/carriers/generic/index'
import type { ReportStatus } from '../../src/carriers/types'
import type { CarrierFake, FakeSend } from '../carrier-conformance.case'
import { type FakeAnswer, startFakeServer } from './fake-server'

export interface GenericFakeOptions {
  token: string
  secret: string
  callbackUrl: string
}

const INVALID = '+15550000000'

function problem(status: number, code: string, detail: string): FakeAnswer {
  return { status, body: { error: { code, detail } } }
}

export async function startGenericFake(options: GenericFakeOptions) {
  const sends: (FakeSend & {
    ref?: string
    dlt?: { entityId?: string; templateId?: string }
    /** `validity_seconds` as sent, when the body template maps it. */
    validitySeconds?: string
  })[] = []
  const server = await startFakeServer(
    (request) => {
      if (request.method !== 'POST' || request.url !== '/api/v1/messages') {
        return problem(404, 'not_found', 'no such endpoint')
      }
      if (request.headers.authorization !== `Bearer ${options.token}`) {
        return problem(401, 'unauthorized', 'bad token')
      }
      const body = JSON.parse(request.body) as {
        recipient?: string
        content?: string
        ref?: string
        /** India DLT ids, when the body template maps them (pe_id, template_id). */
        pe_id?: string
        template_id?: string
        /** The code's remaining lifetime, when the body template maps it. */
        validity_seconds?: string
      }
      if (!body.recipient || !body.content) return problem(422, 'invalid', 'recipient and content')
      if (body.recipient === INVALID)
        return problem(422, 'invalid_recipient', 'not a mobile number')
      sends.push({
        to: body.recipient,
        text: body.content,
        ref: body.ref,
        dlt:
          body.pe_id || body.template_id
            ? { entityId: body.pe_id, templateId: body.template_id }
            : undefined,
        ...(body.validity_seconds !== undefined ? { validitySeconds: body.validity_seconds } : {}),
      })
      return { status: 202, body: { data: { message: { id: randomUUID(), state: 'accepted' } } } }
    },
    (f) =>
      f.kind === 'rate_limited'
        ? {
            ...problem(429, 'rate_limited', 'slow down'),
            headers: { 'Retry-After': String(f.retryAfterSeconds) },
          }
        : problem(503, 'unavailable', 'try again'),
  )
  const words: Record<ReportStatus, string> = {
    sent: 'submitted',
    delivered: 'delivered',
    undelivered: 'expired',
    failed: 'rejected',
  }
  return {
    baseUrl: server.baseUrl,
    sends,
    invalidNumber: INVALID,
    failNext: server.failNext,
    close: server.close,
    deliveryReport(carrierMessageId, status, reportOptions = {}) {
      const body = JSON.stringify({
        event: {
          message_id: carrierMessageId,
          state: words[status],
          ...(reportOptions.errorCode ? { error_code: reportOptions.errorCode } : {}),
          occurred_at: new Date(reportOptions.at ?? Date.now()).toISOString(),
        },
      })
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (!reportOptions.unsigned) {
        // Signed when sent (now), whatever time the report itself states.
        const timestamp = String(Math.floor(Date.now() / 1000))
        headers['x-signature-timestamp'] = timestamp
        headers['x-signature'] = genericSignature(options.secret, body, timestamp)
      }
      return { method: 'POST', url: options.callbackUrl, headers, body }
    },
  } satisfies CarrierFake
}
