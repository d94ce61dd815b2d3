/**
 * A local Infobip SMS API: `/sms/2/text/advanced` with `Authorization: App <key>`, answers
 * `{ bulkId, messages: [{ messageId, status, to }] }`, errors as
 * `{ requestError: { serviceException: { messageId, text } } }`, and delivery reports as
 * Infobip posts them (`{ results: [...] }`, to the notify URL with its token). Test-only.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { SegmentedMessage } from 'sms-segments-calculator'
import type { ReportStatus } from '../../src/carriers/types'
import type { CarrierFake, FakeSend } from '../carrier-conformance.case'
import { type FakeAnswer, startFakeServer } from './fake-server'

export interface InfobipFakeOptions {
  apiKey: string
  /** The notify URL as the adapter sends it (token included). */
  notifyUrl: string
}

const INVALID = '+38500000000'

function requestError(status: number, messageId: string, text: string): FakeAnswer {
  return { status, body: { requestError: { serviceException: { messageId, text } } } }
}

interface Destination {
  to?: string
  messageId?: string
}

export async function startInfobipFake(options: InfobipFakeOptions) {
  const sends: (FakeSend & {
    notifyUrl?: string
    messageId?: string
    /** India DLT ids from `regional.indiaDlt`, when the request carried them. */
    dlt?: { entityId?: string; templateId?: string }
    /** `validityPeriod` in minutes, as the request carried it. */
    validityPeriod?: number
  })[] = []
  const server = await startFakeServer(
    (request) => {
      const url = new URL(request.url, 'http://fake')
      if (request.method !== 'POST' || url.pathname !== '/sms/2/text/advanced') {
        return requestError(404, 'NOT_FOUND', 'Requested URL not found')
      }
      if (request.headers.authorization !== `App ${options.apiKey}`) {
        return requestError(401, 'UNAUTHORIZED', 'Invalid login details')
      }
      let body: {
        messages?: {
          destinations?: Destination[]
          from?: string
          text?: string
          notifyUrl?: string
          validityPeriod?: unknown
          regional?: { indiaDlt?: { principalEntityId?: string; contentTemplateId?: string } }
        }[]
      }
      try {
        body = JSON.parse(request.body)
      } catch {
        return requestError(400, 'BAD_REQUEST', 'Invalid JSON')
      }
      const messages = body.messages ?? []
      if (messages.length === 0) return requestError(400, 'BAD_REQUEST', 'No messages')
      for (const m of messages) {
        const validity = m.validityPeriod
        if (validity !== undefined && (!Number.isInteger(validity) || (validity as number) < 1)) {
          return requestError(400, 'BAD_REQUEST', 'Invalid validityPeriod')
        }
      }
      const answers = []
      for (const m of messages) {
        for (const d of m.destinations ?? []) {
          const to = d.to ?? ''
          const messageId = d.messageId ?? randomBytes(12).toString('hex')
          if (`+${to}` === INVALID || !/^[1-9]\d{6,14}$/.test(to)) {
            answers.push({
              messageId,
              to,
              status: {
                groupId: 5,
                groupName: 'REJECTED',
                id: 51,
                name: 'MISSING_TO',
                description: 'Missing destination.',
                action: 'Check to parameter.',
              },
            })
            continue
          }
          const indiaDlt = m.regional?.indiaDlt
          sends.push({
            to: `+${to}`,
            text: m.text ?? '',
            notifyUrl: m.notifyUrl,
            messageId,
            dlt: indiaDlt && {
              entityId: indiaDlt.principalEntityId,
              templateId: indiaDlt.contentTemplateId,
            },
            // As sent (Infobip itself would cut more than 2,880 minutes back to 2,880).
            ...(m.validityPeriod !== undefined
              ? { validityPeriod: m.validityPeriod as number }
              : {}),
          })
          answers.push({
            messageId,
            to,
            smsCount: new SegmentedMessage(m.text ?? '', 'auto').segmentsCount,
            status: {
              groupId: 1,
              groupName: 'PENDING',
              id: 26,
              name: 'PENDING_ACCEPTED',
              description: 'Message sent to next instance',
            },
          })
        }
      }
      return { status: 200, body: { bulkId: randomBytes(8).toString('hex'), messages: answers } }
    },
    (f) =>
      f.kind === 'rate_limited'
        ? {
            ...requestError(429, 'TOO_MANY_REQUESTS', 'Too many requests'),
            headers: { 'Retry-After': String(f.retryAfterSeconds) },
          }
        : requestError(500, 'GENERAL_ERROR', 'Something went wrong. Please contact support.'),
  )

  // Our normalised statuses in Infobip's vocabulary: PENDING, DELIVERED, UNDELIVERABLE and
  // REJECTED groups (EXPIRED maps to undelivered as well).
  const statuses: Record<ReportStatus, object> = {
    sent: {
      groupId: 1,
      groupName: 'PENDING',
      id: 7,
      name: 'PENDING_ENROUTE',
      description: 'Message sent to next instance',
    },
    delivered: {
      groupId: 3,
      groupName: 'DELIVERED',
      id: 5,
      name: 'DELIVERED_TO_HANDSET',
      description: 'Message delivered to handset',
    },
    undelivered: {
      groupId: 2,
      groupName: 'UNDELIVERABLE',
      id: 9,
      name: 'UNDELIVERABLE_NOT_DELIVERED',
      description: 'Message sent not delivered',
    },
    failed: {
      groupId: 5,
      groupName: 'REJECTED',
      id: 6,
      name: 'REJECTED_NETWORK',
      description: 'Network is forbidden',
    },
  }

  function infobipTime(ms: number): string {
    return new Date(ms).toISOString().replace('Z', '+0000')
  }

  return {
    baseUrl: server.baseUrl,
    sends,
    invalidNumber: INVALID,
    failNext: server.failNext,
    close: server.close,
    deliveryReport(carrierMessageId, status, reportOptions = {}) {
      const at = reportOptions.at ?? Date.now()
      const errorId = reportOptions.errorCode ? Number(reportOptions.errorCode) : 0
      const result = {
        bulkId: 'bulk-1',
        messageId: carrierMessageId,
        to: '447700900123',
        sentAt: infobipTime(at - 5_000),
        doneAt: infobipTime(at),
        smsCount: 1,
        mccMnc: '23410',
        price: { pricePerMessage: 0.0125, currency: 'EUR' },
        status: statuses[status],
        error: errorId
          ? {
              groupId: 1,
              groupName: 'HANDSET_ERRORS',
              id: errorId,
              name: 'EC_ABSENT_SUBSCRIBER',
              description: 'Absent subscriber',
              permanent: false,
            }
          : {
              groupId: 0,
              groupName: 'OK',
              id: 0,
              name: 'NO_ERROR',
              description: 'No Error',
              permanent: false,
            },
      }
      const url = new URL(options.notifyUrl)
      if (reportOptions.unsigned) url.searchParams.delete('token')
      return {
        method: 'POST',
        url: url.toString(),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ results: [result] }),
      }
    },
  } satisfies CarrierFake
}
