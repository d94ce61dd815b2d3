/**
 * Alibaba Cloud SMS (Dysmsapi 2017-05-25), RPC style: `POST https://dysmsapi.aliyuncs.com/`
 * with the action and every parameter form-encoded, signed with signature version 1.0:
 * parameters sorted by name and percent-encoded (RFC 3986) into a canonical query,
 * `POST&%2F&<encoded canonical query>` signed with HMAC-SHA1 keyed `AccessKeySecret&`, base64,
 * sent as `Signature`. SendSms answers `{ Code: "OK", BizId }`; refusals carry other codes
 * (`isv.MOBILE_NUMBER_ILLEGAL`, `isv.BUSINESS_LIMIT_CONTROL`, …), in HTTP 200 or 4xx/5xx.
 * Alibaba sends registered templates only: `TemplateCode` and `SignName` come from the project's
 * registrations for the message's locale (falling back to the carrier entry), and the
 * `TemplateParam` JSON object is built from the message's values under the variable names the
 * mapping declares (`{ "code": "code", "min": "minutes" }`; by default `{ code }`).
 * Delivery receipts (SmsReport, HTTP batch push) are unsigned JSON arrays, so the callback URL
 * carries a secret token.
 * @module
 */
import { createHmac, randomUUID } from 'node:crypto'
import {
  carrierFetch,
  DEFAULT_TIMEOUT_MS,
  digitsOnly,
  readJsonBody,
  safeEqual,
  scrubNumbers,
} from '../http'
import { namedParams } from '../template-data'
import {
  type CallbackRequest,
  type CarrierAdapter,
  type CarrierCapabilities,
  CarrierError,
  type DeliveryReport,
  type OutgoingMessage,
  type SendResult,
  type TemplateParamName,
} from '../types'

declare module '../types' {
  interface TemplateRegistrations {
    /** The project's Alibaba Cloud registration for the message's locale. */
    alibaba?: {
      templateCode?: string
      signName?: string
      /** The template's variable → our value, e.g. `{ "code": "code", "min": "minutes" }`. */
      params?: Record<string, TemplateParamName>
    }
  }
}

export interface AlibabaOptions {
  accessKeyId: string
  accessKeySecret: string
  /** The sign name (签名) used when the project registers none. */
  signName?: string
  /** The template code (SMS_…) used when the project registers none. */
  templateCode?: string
  /** Template variable → our value, when the project declares none; default `{ code: 'code' }`. */
  templateParams?: Record<string, TemplateParamName>
  endpoint?: string
  regionId?: string
  callbackToken?: string
  /** Zone of the receipt times (China Standard Time unless the account says else). */
  reportUtcOffset?: string
  timeoutMs?: number
  now?: () => number
}

/** RFC 3986 percent-encoding, as Alibaba's signature wants it. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

/** Signature (v1.0, HMAC-SHA1) of an RPC request's parameters (without `Signature`). */
export function alibabaSignature(
  params: Record<string, string>,
  method: string,
  accessKeySecret: string,
): string {
  const canonical = Object.keys(params)
    .filter((name) => name !== 'Signature')
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(params[name]!)}`)
    .join('&')
  const stringToSign = `${method}&${percentEncode('/')}&${percentEncode(canonical)}`
  return createHmac('sha1', `${accessKeySecret}&`).update(stringToSign, 'utf8').digest('base64')
}

/**
 * SendSms codes about the account, not the text (see CarrierError.routeFault): access key or
 * signature refused, permission missing, account missing, abnormal or suspended, out of credit.
 */
const ROUTE_FAULT = new Set([
  'InvalidAccessKeyId.NotFound',
  'InvalidAccessKeyId.Inactive',
  'SignatureDoesNotMatch',
  'isp.RAM_PERMISSION_DENY',
  'isv.ACCOUNT_NOT_EXISTS',
  'isv.ACCOUNT_ABNORMAL',
  'isv.OUT_OF_SERVICE',
  'isv.AMOUNT_NOT_ENOUGH',
])

/** SendSms codes that retrying can fix; everything else is permanent. */
const TRANSIENT = new Set([
  'isv.BUSINESS_LIMIT_CONTROL',
  'isp.SYSTEM_ERROR',
  'Throttling.User',
  'Throttling',
  'ServiceUnavailable',
  'InternalError',
])

/**
 * Messages queued before template data existed carry only their text: the code is then read
 * from it (the first run of 4 to 10 digits). Everything newer is built from named values.
 */
export function defaultTemplateParam(message: OutgoingMessage): Record<string, string> {
  const code = /\d{4,10}/.exec(message.body)?.[0]
  if (!code)
    throw new CarrierError('alibaba', 'no code in the text for the template', { permanent: true })
  return { code }
}

/** TemplateCode, SignName and TemplateParam for a message: the project's, else the entry's. */
export function alibabaTemplate(
  message: OutgoingMessage,
  options: Pick<AlibabaOptions, 'signName' | 'templateCode' | 'templateParams'>,
): { templateCode: string; signName: string; params: Record<string, string> } {
  const data = message.template
  const templateCode = data?.alibaba?.templateCode ?? options.templateCode
  const signName = data?.alibaba?.signName ?? data?.signName ?? options.signName
  if (!templateCode) {
    throw new CarrierError(
      'alibaba',
      'no template code: register alibaba.templateCode for the project (pnpm textgate registrations set) or set templateCode on the carrier entry',
      { permanent: true },
    )
  }
  if (!signName) {
    throw new CarrierError(
      'alibaba',
      'no sign name: register signName for the project (pnpm textgate registrations set) or set signName on the carrier entry',
      { permanent: true },
    )
  }
  const params = data
    ? namedParams(data, data.alibaba?.params ?? options.templateParams ?? { code: 'code' })
    : defaultTemplateParam(message)
  return { templateCode, signName, params }
}

/** What the adapter can do, for these options. */
export function alibabaCapabilities(
  options: Pick<AlibabaOptions, 'callbackToken'>,
): CarrierCapabilities {
  return {
    unicode: true,
    deliveryReports: true,
    maxParts: 10,
    senderId: { alphanumeric: false, maxLength: 0 },
    templatesOnly: true,
    callbackAuth: options.callbackToken ? 'url-token' : 'none',
    // SendSms takes no validity period (only the account's default in the console applies):
    // a text whose code expired is not sent by the outbox, but may still arrive late.
    validityPeriod: false,
  }
}

/**
 * @example
 * alibabaCarrier({ accessKeyId, accessKeySecret, signName: 'Shop', templateCode: 'SMS_123' })
 */
export function alibabaCarrier(options: AlibabaOptions): CarrierAdapter {
  const endpoint = (options.endpoint ?? 'https://dysmsapi.aliyuncs.com').replace(/\/$/, '')
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const now = options.now ?? Date.now
  const offset = options.reportUtcOffset ?? '+08:00'

  return {
    id: 'alibaba',
    capabilities: alibabaCapabilities(options),

    async send(message: OutgoingMessage): Promise<SendResult> {
      const template = alibabaTemplate(message, options)
      const params: Record<string, string> = {
        AccessKeyId: options.accessKeyId,
        Action: 'SendSms',
        Format: 'JSON',
        RegionId: options.regionId ?? 'cn-hangzhou',
        SignatureMethod: 'HMAC-SHA1',
        SignatureNonce: randomUUID(),
        SignatureVersion: '1.0',
        Timestamp: new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        Version: '2017-05-25',
        // Mainland numbers go without the country code; others in full, without '+'.
        PhoneNumbers: message.to.startsWith('+86') ? message.to.slice(3) : digitsOnly(message.to),
        SignName: template.signName,
        TemplateCode: template.templateCode,
        TemplateParam: JSON.stringify(template.params),
        OutId: message.id,
      }
      params.Signature = alibabaSignature(params, 'POST', options.accessKeySecret)
      const response = await carrierFetch(
        'alibaba',
        `${endpoint}/`,
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
        | { Code?: string; Message?: string; BizId?: string }
        | undefined
      const code = json?.Code ?? `HTTP ${response.status}`
      if (!response.ok || code !== 'OK') {
        const transient = response.status === 429 || response.status >= 500 || TRANSIENT.has(code)
        throw new CarrierError(
          'alibaba',
          `${code}: ${scrubNumbers(json?.Message ?? '')}`.slice(0, 300),
          {
            permanent: !transient,
            routeFault: response.status === 401 || response.status === 403 || ROUTE_FAULT.has(code),
            code: json?.Code,
          },
        )
      }
      if (!json?.BizId) throw new CarrierError('alibaba', 'answer without BizId')
      return { carrierMessageId: json.BizId, status: 'sent' }
    },

    // SmsReport's HTTP push counts as received only with a numeric `code` in the answer (0:
    // received); else it pushes the same reports again.
    callbackAcknowledgement: { code: 0, msg: 'OK' },

    verifyCallback(request: CallbackRequest): boolean {
      if (!options.callbackToken) return false
      const token = new URL(request.url).searchParams.get('token') ?? ''
      return safeEqual(token, options.callbackToken)
    },

    parseReports(request: CallbackRequest, receivedAt: number): DeliveryReport[] {
      let items: unknown
      try {
        items = JSON.parse(request.body)
      } catch {
        return []
      }
      if (!Array.isArray(items)) return []
      const reports: DeliveryReport[] = []
      for (const item of items as (Record<string, unknown> | null)[]) {
        if (typeof item !== 'object' || item === null) continue
        const bizId = item.biz_id
        if (typeof bizId !== 'string' || typeof item.success !== 'boolean') continue
        const stamp = typeof item.report_time === 'string' ? item.report_time : ''
        const at = stamp ? Date.parse(`${stamp.replace(' ', 'T')}${offset}`) : Number.NaN
        const report: DeliveryReport = {
          carrierMessageId: bizId,
          status: item.success ? 'delivered' : 'failed',
          at: Number.isNaN(at) ? receivedAt : at,
        }
        if (!item.success && typeof item.err_code === 'string') report.errorCode = item.err_code
        reports.push(report)
      }
      return reports
    },
  }
}
