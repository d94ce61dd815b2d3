/**
 * A generic HTTP carrier, for the many SMS gateways with a plain JSON or form API: the URL,
 * method, body template, auth header and where the message id sits in the answer are all
 * configuration. Delivery reports are JSON posts signed with HMAC-SHA256 over the raw body
 * (`<header>: sha256=<hex>`), read through configured paths.
 * @module
 */

import { createHmac } from 'node:crypto'
import { isFreshTimestamp } from '../callback-time'
import { carrierFetch, DEFAULT_TIMEOUT_MS, digitsOnly, httpStatusError, safeEqual } from '../http'
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
} from '../types'
import { remainingValidity } from '../validity'

/**
 * A body template: strings may hold {{to}}, {{toDigits}}, {{text}}, {{id}}, {{from}},
 * {{encoding}}, and for gateways that want them {{code}}, {{minutes}}, {{brand}}, {{locale}},
 * {{signName}}, India's DLT ids {{dltEntityId}}, {{dltTemplateId}} (set on texts to +91 only),
 * and {{validitySeconds}}: the code's remaining lifetime in whole seconds, for the gateway's
 * validity or TTL field (clamped to `validitySeconds`). Each is empty when the message has no
 * such value; values are text, as placeholders sit in strings.
 */
export type BodyTemplate = { [key: string]: string | number | boolean | BodyTemplate }

export interface GenericHttpOptions {
  /** The carrier's name in routes, logs and the messages table. */
  id?: string
  url: string
  method?: 'POST' | 'PUT'
  bodyFormat?: 'json' | 'form'
  body: BodyTemplate
  /** Extra headers, the auth header among them ("Authorization": "Bearer …"). */
  headers?: Record<string, string>
  from?: string
  /** Dotted path of the message id in the JSON answer, e.g. "data.message.id". */
  responseIdPath: string
  callback?: {
    secret: string
    /** Header carrying `sha256=<hex>`; default X-Signature. */
    header?: string
    /**
     * Header carrying the Unix time (seconds) the gateway signed at; default
     * `<header>-Timestamp`. The signature covers `<timestamp>.<raw body>`; callbacks more than
     * 5 minutes off our clock, or seen before, are refused.
     */
    timestampHeader?: string
    idPath: string
    statusPath: string
    /** The gateway's status words to ours; unknown words are ignored. */
    statusMap: Record<string, ReportStatus>
    errorCodePath?: string
    /** Dotted path of an ISO-8601 time or epoch seconds. */
    timePath?: string
    /** Reports may come as one object or as an array under this path. */
    listPath?: string
  }
  capabilities?: Partial<CarrierCapabilities>
  timeoutMs?: number
  /** The range the gateway accepts for {{validitySeconds}}; default 1 s, no maximum. */
  validitySeconds?: { min?: number; max?: number }
  /** The clock the code's remaining lifetime ({{validitySeconds}}) is measured with. */
  now?: () => number
}

/** Reads `a.b.0.c` from a JSON value. */
export function readPath(value: unknown, path: string): unknown {
  let current = value
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

function fill(template: BodyTemplate, values: Record<string, string>): BodyTemplate {
  const out: BodyTemplate = {}
  for (const [key, value] of Object.entries(template)) {
    out[key] =
      typeof value === 'string'
        ? value.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => values[name] ?? whole)
        : typeof value === 'object'
          ? fill(value, values)
          : value
  }
  return out
}

/** The template placeholders of a message; empty text for what it does not have. */
function templateValues(message: OutgoingMessage): Record<string, string> {
  const data = message.template
  const dlt = indiaDltIds(message)
  return {
    code: data?.values.code ?? '',
    minutes: data?.values.minutes ?? '',
    brand: data?.values.brand ?? '',
    locale: data?.locale ?? '',
    signName: data?.signName ?? '',
    dltEntityId: dlt?.entityId ?? '',
    dltTemplateId: dlt?.templateId ?? '',
  }
}

/** The signature header value: HMAC-SHA256 of `<timestamp>.<raw body>`. */
export function genericSignature(secret: string, body: string, timestamp: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`
}

/** What the adapter can do, for these options: reports only with a callback, validity only when the body passes it on. */
export function genericCapabilities(
  options: Pick<GenericHttpOptions, 'callback' | 'body' | 'capabilities'>,
): CarrierCapabilities {
  return {
    unicode: true,
    deliveryReports: Boolean(options.callback),
    maxParts: 6,
    senderId: { alphanumeric: true, maxLength: 11 },
    templatesOnly: false,
    callbackAuth: options.callback ? 'signature' : 'none',
    // Honoured when the request template passes it on.
    validityPeriod: JSON.stringify(options.body).includes('{{validitySeconds}}'),
    ...options.capabilities,
  }
}

/**
 * @example
 * genericHttpCarrier({
 *   url: 'https://sms.example/api/messages',
 *   headers: { Authorization: 'Bearer …' },
 *   body: { recipient: '{{to}}', content: '{{text}}', ref: '{{id}}' },
 *   responseIdPath: 'data.message.id',
 * })
 */
export function genericHttpCarrier(options: GenericHttpOptions): CarrierAdapter {
  const id = options.id ?? 'generic'
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const callback = options.callback
  const signatureHeader = (callback?.header ?? 'X-Signature').toLowerCase()
  const timestampHeader = (
    callback?.timestampHeader ?? `${signatureHeader}-timestamp`
  ).toLowerCase()
  const now = options.now ?? Date.now
  const validityRange = {
    unitMs: 1_000,
    min: options.validitySeconds?.min ?? 1,
    max: options.validitySeconds?.max ?? Number.MAX_SAFE_INTEGER,
  }

  return {
    id,
    capabilities: genericCapabilities(options),

    async send(message: OutgoingMessage): Promise<SendResult> {
      const values = {
        to: message.to,
        toDigits: digitsOnly(message.to),
        text: message.body,
        id: message.id,
        from: options.from ?? '',
        encoding: encodingOf(message.body),
        ...templateValues(message),
        validitySeconds: String(remainingValidity(message, now(), validityRange) ?? ''),
      }
      const body = fill(options.body, values)
      const form = options.bodyFormat === 'form'
      const response = await carrierFetch(
        id,
        options.url,
        {
          method: options.method ?? 'POST',
          headers: {
            'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json',
            Accept: 'application/json',
            ...options.headers,
          },
          body: form
            ? new URLSearchParams(
                Object.entries(body).map(([k, v]) => [
                  k,
                  typeof v === 'object' ? JSON.stringify(v) : String(v),
                ]),
              ).toString()
            : JSON.stringify(body),
        },
        timeoutMs,
      )
      const text = await response.text()
      if (!response.ok) throw httpStatusError(id, response, text.slice(0, 200))
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        throw new CarrierError(id, 'answer is not JSON')
      }
      const carrierMessageId = readPath(json, options.responseIdPath)
      if (typeof carrierMessageId !== 'string' && typeof carrierMessageId !== 'number') {
        throw new CarrierError(id, `answer has no message id at ${options.responseIdPath}`)
      }
      return { carrierMessageId: String(carrierMessageId), status: 'sent' }
    },

    verifyCallback(request: CallbackRequest): boolean {
      if (!callback) return false
      const given = request.headers[signatureHeader]
      const timestamp = request.headers[timestampHeader]
      if (!given || !timestamp || !isFreshTimestamp(timestamp, now())) return false
      return safeEqual(given, genericSignature(callback.secret, request.body, timestamp))
    },

    callbackReplayKey(request: CallbackRequest): string | undefined {
      return request.headers[signatureHeader]
    },

    parseReports(request: CallbackRequest, receivedAt: number): DeliveryReport[] {
      if (!callback) return []
      let json: unknown
      try {
        json = JSON.parse(request.body)
      } catch {
        return []
      }
      const listed = callback.listPath ? readPath(json, callback.listPath) : json
      const items = Array.isArray(listed) ? listed : [listed]
      const reports: DeliveryReport[] = []
      for (const item of items) {
        const messageId = readPath(item, callback.idPath)
        const status = callback.statusMap[String(readPath(item, callback.statusPath))]
        if ((typeof messageId !== 'string' && typeof messageId !== 'number') || !status) continue
        const report: DeliveryReport = {
          carrierMessageId: String(messageId),
          status,
          at: receivedAt,
        }
        if (callback.timePath) {
          const time = readPath(item, callback.timePath)
          const at = typeof time === 'number' ? time * 1000 : Date.parse(String(time))
          if (!Number.isNaN(at)) report.at = at
        }
        if (callback.errorCodePath) {
          const code = readPath(item, callback.errorCodePath)
          if (code !== undefined && code !== null && code !== '') report.errorCode = String(code)
        }
        reports.push(report)
      }
      return reports
    },
  }
}
