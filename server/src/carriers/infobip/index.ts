/**
 * Infobip SMS: `POST {baseUrl}/sms/2/text/advanced` with `Authorization: App <api key>` and a
 * JSON body `{ messages: [{ destinations: [{ to, messageId }], from, text, notifyUrl, … }] }`.
 * The answer lists each message with a status object (`groupName` PENDING, or REJECTED when
 * Infobip refuses it at once). Delivery reports are JSON `{ results: [...] }` posts; Infobip
 * does not sign them, so the callback URL carries a secret token that is checked instead.
 * Texts to India (+91) carry the project's DLT ids as `regional.indiaDlt`
 * (`principalEntityId`, `contentTemplateId`).
 * @module
 */
import {
  carrierFetch,
  DEFAULT_TIMEOUT_MS,
  digitsOnly,
  httpStatusError,
  readJsonBody,
  safeEqual,
} from '../http'
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
import { remainingValidity, type ValidityRange } from '../validity'

export interface InfobipOptions {
  /** The account's personal base URL, e.g. https://xxxxx.api.infobip.com. */
  baseUrl: string
  apiKey: string
  from: string
  /** Our /v1/carriers/infobip/reports URL; `?token=` is appended when callbackToken is set. */
  notifyUrl?: string
  /** The secret token the reports URL carries (Infobip reports are unsigned). */
  callbackToken?: string
  timeoutMs?: number
  /** The clock the code's remaining lifetime (validityPeriod) is measured with. */
  now?: () => number
}

/**
 * `validityPeriod`: how long, in whole minutes, Infobip may try to send the text; at most 2,880
 * (48 hours, its default: longer values fall back to it), at least one minute.
 */
export const INFOBIP_VALIDITY: ValidityRange = { unitMs: 60_000, min: 1, max: 2_880 }

interface InfobipStatus {
  groupId?: number
  groupName?: string
  id?: number
  name?: string
  description?: string
}

interface InfobipReport {
  messageId?: string
  doneAt?: string
  sentAt?: string
  status?: InfobipStatus
  error?: { id?: number; name?: string; groupName?: string; permanent?: boolean }
  /** Parts the text was split into; the price is per part. */
  smsCount?: number
  price?: { pricePerMessage?: number; currency?: string }
}

const GROUPS: Record<string, ReportStatus | undefined> = {
  PENDING: 'sent',
  DELIVERED: 'delivered',
  UNDELIVERABLE: 'undelivered',
  EXPIRED: 'undelivered',
  REJECTED: 'failed',
}

/** Infobip's timestamps ("2026-11-27T10:15:00.000+0000") as epoch ms. */
export function parseInfobipTime(value: string | undefined): number {
  if (!value) return Number.NaN
  return Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
}

/** Decimal text of a JSON number price, without float noise. */
function priceText(value: number): string {
  return Number(value.toFixed(10)).toString()
}

/** What the adapter can do, for these options. */
export function infobipCapabilities(
  options: Pick<InfobipOptions, 'callbackToken'>,
): CarrierCapabilities {
  return {
    unicode: true,
    deliveryReports: true,
    maxParts: 10,
    senderId: { alphanumeric: true, maxLength: 11 },
    templatesOnly: false,
    callbackAuth: options.callbackToken ? 'url-token' : 'none',
    validityPeriod: true,
  }
}

/**
 * @example
 * const infobip = infobipCarrier({ baseUrl: 'https://xxxxx.api.infobip.com', apiKey, from: 'Shop' })
 */
export function infobipCarrier(options: InfobipOptions): CarrierAdapter {
  const baseUrl = options.baseUrl.replace(/\/$/, '')
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const now = options.now ?? Date.now
  let notifyUrl = options.notifyUrl
  if (notifyUrl && options.callbackToken) {
    const url = new URL(notifyUrl)
    url.searchParams.set('token', options.callbackToken)
    notifyUrl = url.toString()
  }

  return {
    id: 'infobip',
    capabilities: infobipCapabilities(options),

    async send(message: OutgoingMessage): Promise<SendResult> {
      const dlt = indiaDltIds(message)
      const validityPeriod = remainingValidity(message, now(), INFOBIP_VALIDITY)
      const body = {
        messages: [
          {
            destinations: [{ to: digitsOnly(message.to), messageId: message.id }],
            from: options.from,
            text: message.body,
            ...(notifyUrl ? { notifyUrl, notifyContentType: 'application/json' } : {}),
            // The code's remaining lifetime: Infobip drops the text once it has passed.
            ...(validityPeriod !== undefined ? { validityPeriod } : {}),
            // India DLT: the registered entity and content template ride with the message.
            ...(dlt
              ? {
                  regional: {
                    indiaDlt: {
                      principalEntityId: dlt.entityId,
                      contentTemplateId: dlt.templateId,
                    },
                  },
                }
              : {}),
          },
        ],
      }
      const response = await carrierFetch(
        'infobip',
        `${baseUrl}/sms/2/text/advanced`,
        {
          method: 'POST',
          headers: {
            Authorization: `App ${options.apiKey}`,
            'Content-Type': 'application/json',
            Accept: 'application/json',
          },
          body: JSON.stringify(body),
        },
        timeoutMs,
      )
      const json = (await readJsonBody(response)) as
        | {
            messages?: { messageId?: string; status?: InfobipStatus }[]
            requestError?: { serviceException?: { messageId?: string; text?: string } }
          }
        | undefined
      if (!response.ok) {
        const e = json?.requestError?.serviceException
        throw httpStatusError(
          'infobip',
          response,
          `${e?.messageId ?? ''} ${e?.text ?? ''}`.trim(),
          {
            code: e?.messageId,
          },
        )
      }
      const sent = json?.messages?.[0]
      if (!sent?.messageId) throw new CarrierError('infobip', 'answer without a messageId')
      const group = sent.status?.groupName
      if (group === 'REJECTED' || group === 'UNDELIVERABLE') {
        throw new CarrierError('infobip', `${group} ${sent.status?.name ?? ''}`.trim(), {
          permanent: true,
          code: sent.status?.id === undefined ? undefined : String(sent.status.id),
        })
      }
      return { carrierMessageId: sent.messageId, status: 'sent' }
    },

    verifyCallback(request: CallbackRequest): boolean {
      if (!options.callbackToken) return false
      const token = new URL(request.url).searchParams.get('token') ?? ''
      return safeEqual(token, options.callbackToken)
    },

    parseReports(request: CallbackRequest, receivedAt: number): DeliveryReport[] {
      let parsed: { results?: InfobipReport[] }
      try {
        parsed = JSON.parse(request.body) as { results?: InfobipReport[] }
      } catch {
        return []
      }
      const reports: DeliveryReport[] = []
      const results: unknown = parsed?.results
      for (const result of Array.isArray(results) ? (results as (InfobipReport | null)[]) : []) {
        if (typeof result !== 'object' || result === null) continue
        const status = GROUPS[result.status?.groupName ?? '']
        if (!result.messageId || !status) continue
        const at = parseInfobipTime(result.doneAt ?? result.sentAt)
        const report: DeliveryReport = {
          carrierMessageId: result.messageId,
          status,
          at: Number.isNaN(at) ? receivedAt : at,
        }
        if (result.error?.id) report.errorCode = String(result.error.id)
        const price = result.price
        if (price?.currency && typeof price.pricePerMessage === 'number') {
          const parts = result.smsCount ?? 1
          report.cost = {
            amount: priceText(price.pricePerMessage * parts),
            currency: price.currency,
          }
        }
        reports.push(report)
      }
      return reports
    },
  }
}
