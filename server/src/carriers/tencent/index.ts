/**
 * Tencent Cloud SMS, API 3.0: `POST https://sms.tencentcloudapi.com/` with a JSON body and
 * the action in headers (`X-TC-Action: SendSms`, `X-TC-Version: 2021-01-11`, `X-TC-Region`,
 * `X-TC-Timestamp`), signed with TC3-HMAC-SHA256: a canonical request (method, path, query,
 * the content-type and host headers, SHA-256 of the body) is hashed into a string to sign,
 * which an HMAC chain keyed "TC3"+SecretKey → date → service → "tc3_request" signs.
 * Answers are HTTP 200 even on errors (`Response.Error.Code`); each number has its own
 * `SendStatusSet` entry with `Code: "Ok"` on success.
 * Tencent sends registered templates only: `TemplateId` and `SignName` come from the project's
 * registrations for the message's locale (falling back to the carrier entry), and
 * `TemplateParamSet` lists the message's values in the order the mapping declares
 * (`["code", "minutes"]`; by default `["code"]`). Mainland China numbers need a sign name.
 * Status callbacks are unsigned JSON arrays, so the callback URL carries a secret token.
 * @module
 */
import { createHash, createHmac } from 'node:crypto'
import {
  carrierFetch,
  DEFAULT_TIMEOUT_MS,
  httpStatusError,
  readJsonBody,
  safeEqual,
  scrubNumbers,
} from '../http'
import { orderedParams } from '../template-data'
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
    /** The project's Tencent Cloud registration for the message's locale. */
    tencent?: {
      templateId?: string
      signName?: string
      /** Our values in the order of the template's {1}, {2}, … */
      params?: TemplateParamName[]
    }
  }
}

export interface TencentOptions {
  secretId: string
  secretKey: string
  smsSdkAppId: string
  /** The template id used when the project registers none. */
  templateId?: string
  /** The approved signature text (required for mainland China numbers), when the project has none. */
  signName?: string
  senderId?: string
  region?: string
  /** https://sms.tencentcloudapi.com (or sms.intl.tencentcloudapi.com). */
  endpoint?: string
  /** Our values in the template's {1}, {2}, … order when the project declares none; default ["code"]. */
  templateParams?: TemplateParamName[]
  /** Checked against `?token=` of the status callback URL configured in the console. */
  callbackToken?: string
  /** Zone of the callback's `user_receive_time` (Beijing time unless the account says else). */
  reportUtcOffset?: string
  timeoutMs?: number
  now?: () => number
}

const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex')
const hmac = (key: string | Buffer, data: string) =>
  createHmac('sha256', key).update(data, 'utf8').digest()

export interface Tc3Input {
  secretId: string
  secretKey: string
  /** Service name, the first label of the endpoint host ("sms"). */
  service: string
  host: string
  contentType: string
  body: string
  /** Epoch seconds. */
  timestamp: number
  method?: string
  path?: string
  query?: string
}

/** The TC3-HMAC-SHA256 Authorization header value. */
export function tc3Authorization(input: Tc3Input): string {
  const canonicalRequest = [
    input.method ?? 'POST',
    input.path ?? '/',
    input.query ?? '',
    `content-type:${input.contentType}\nhost:${input.host}\n`,
    'content-type;host',
    sha256Hex(input.body),
  ].join('\n')
  const date = new Date(input.timestamp * 1000).toISOString().slice(0, 10)
  const scope = `${date}/${input.service}/tc3_request`
  const stringToSign = [
    'TC3-HMAC-SHA256',
    input.timestamp,
    scope,
    sha256Hex(canonicalRequest),
  ].join('\n')
  const kDate = hmac(`TC3${input.secretKey}`, date)
  const kService = hmac(kDate, input.service)
  const kSigning = hmac(kService, 'tc3_request')
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex')
  return `TC3-HMAC-SHA256 Credential=${input.secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`
}

/** Error codes retrying can fix; everything else (auth, bad number, template) is permanent. */
function transientCode(code: string): boolean {
  return (
    code === 'RequestLimitExceeded' ||
    code.startsWith('InternalError') ||
    code.startsWith('LimitExceeded')
  )
}

/**
 * Codes about the account, not the text (see CarrierError.routeFault): credentials or
 * signature refused, operation not authorised, SMS package used up.
 */
function routeFaultCode(code: string): boolean {
  return (
    code.startsWith('AuthFailure') ||
    code.startsWith('UnauthorizedOperation') ||
    code === 'FailedOperation.InsufficientBalanceInSmsPackage'
  )
}

/**
 * Messages queued before template data existed carry only their text: the code is then read
 * from it (the first run of 4 to 10 digits). Everything newer is built from named values.
 */
export function defaultTemplateParams(message: OutgoingMessage): string[] {
  const code = /\d{4,10}/.exec(message.body)?.[0]
  if (!code)
    throw new CarrierError('tencent', 'no code in the text for the template', { permanent: true })
  return [code]
}

/** TemplateId, SignName and TemplateParamSet for a message: the project's, else the entry's. */
export function tencentTemplate(
  message: OutgoingMessage,
  options: Pick<TencentOptions, 'signName' | 'templateId' | 'templateParams'>,
): { templateId: string; signName: string | undefined; params: string[] } {
  const data = message.template
  const templateId = data?.tencent?.templateId ?? options.templateId
  const signName = data?.tencent?.signName ?? data?.signName ?? options.signName
  if (!templateId) {
    throw new CarrierError(
      'tencent',
      'no template id: register tencent.templateId for the project (pnpm textgate registrations set) or set templateId on the carrier entry',
      { permanent: true },
    )
  }
  if (!signName && message.to.startsWith('+86')) {
    throw new CarrierError(
      'tencent',
      'texts to mainland China (+86) need a sign name: register signName for the project (pnpm textgate registrations set) or set signName on the carrier entry',
      { permanent: true },
    )
  }
  const params = data
    ? orderedParams(data, data.tencent?.params ?? options.templateParams ?? ['code'])
    : defaultTemplateParams(message)
  return { templateId, signName, params }
}

/** What the adapter can do, for these options. */
export function tencentCapabilities(
  options: Pick<TencentOptions, 'callbackToken'>,
): CarrierCapabilities {
  return {
    unicode: true,
    deliveryReports: true,
    maxParts: 10,
    senderId: { alphanumeric: true, maxLength: 11 },
    templatesOnly: true,
    callbackAuth: options.callbackToken ? 'url-token' : 'none',
    // SendSms takes no validity period: a text whose code expired is not sent by the outbox,
    // but one already handed over may still arrive late.
    validityPeriod: false,
  }
}

/**
 * @example
 * tencentCarrier({ secretId, secretKey, smsSdkAppId: '1400006666', templateId: '1110', signName: 'Shop' })
 */
export function tencentCarrier(options: TencentOptions): CarrierAdapter {
  const endpoint = (options.endpoint ?? 'https://sms.tencentcloudapi.com').replace(/\/$/, '')
  const url = new URL(endpoint)
  // The SDK does the same: the service is the first label of the endpoint's host.
  const service = url.hostname.split('.')[0]!
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const now = options.now ?? Date.now
  const offset = options.reportUtcOffset ?? '+08:00'

  return {
    id: 'tencent',
    capabilities: tencentCapabilities(options),

    async send(message: OutgoingMessage): Promise<SendResult> {
      const template = tencentTemplate(message, options)
      const body = JSON.stringify({
        PhoneNumberSet: [message.to],
        SmsSdkAppId: options.smsSdkAppId,
        TemplateId: template.templateId,
        TemplateParamSet: template.params,
        SessionContext: message.id,
        ...(template.signName ? { SignName: template.signName } : {}),
        ...(options.senderId ? { SenderId: options.senderId } : {}),
      })
      const contentType = 'application/json'
      const timestamp = Math.floor(now() / 1000)
      const response = await carrierFetch(
        'tencent',
        `${endpoint}/`,
        {
          method: 'POST',
          headers: {
            'Content-Type': contentType,
            'X-TC-Action': 'SendSms',
            'X-TC-Version': '2021-01-11',
            'X-TC-Region': options.region ?? 'ap-guangzhou',
            'X-TC-Timestamp': String(timestamp),
            Authorization: tc3Authorization({
              secretId: options.secretId,
              secretKey: options.secretKey,
              service,
              host: url.hostname,
              contentType,
              body,
              timestamp,
            }),
          },
          body,
        },
        timeoutMs,
      )
      const json = (await readJsonBody(response)) as
        | {
            Response?: {
              Error?: { Code?: string; Message?: string }
              SendStatusSet?: { SerialNo?: string; Code?: string; Message?: string; Fee?: number }[]
            }
          }
        | undefined
      if (!response.ok)
        throw httpStatusError('tencent', response, json?.Response?.Error?.Code ?? '')
      const error = json?.Response?.Error
      if (error?.Code) {
        throw new CarrierError('tencent', `${error.Code}: ${scrubNumbers(error.Message ?? '')}`, {
          permanent: !transientCode(error.Code),
          routeFault: routeFaultCode(error.Code),
          code: error.Code,
        })
      }
      const status = json?.Response?.SendStatusSet?.[0]
      if (!status) throw new CarrierError('tencent', 'answer without SendStatusSet')
      if (status.Code !== 'Ok') {
        const code = status.Code ?? 'unknown'
        throw new CarrierError('tencent', `${code}: ${scrubNumbers(status.Message ?? '')}`, {
          permanent: !transientCode(code),
          routeFault: routeFaultCode(code),
          code,
        })
      }
      if (!status.SerialNo) throw new CarrierError('tencent', 'answer without SerialNo')
      return {
        carrierMessageId: status.SerialNo,
        status: 'sent',
        ...(typeof status.Fee === 'number' && status.Fee > 0 ? { parts: status.Fee } : {}),
      }
    },

    // Tencent counts a push received only when the answer says `result: 0`; else it pushes again.
    callbackAcknowledgement: { result: 0, errmsg: 'OK' },

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
        const sid = item.sid
        const status =
          item.report_status === 'SUCCESS'
            ? 'delivered'
            : item.report_status === 'FAIL'
              ? 'failed'
              : undefined
        if (typeof sid !== 'string' || !sid || !status) continue
        const stamp = typeof item.user_receive_time === 'string' ? item.user_receive_time : ''
        const at = stamp ? Date.parse(`${stamp.replace(' ', 'T')}${offset}`) : Number.NaN
        const report: DeliveryReport = {
          carrierMessageId: sid,
          status,
          at: Number.isNaN(at) ? receivedAt : at,
        }
        if (status === 'failed' && typeof item.errmsg === 'string' && item.errmsg) {
          report.errorCode = item.errmsg
        }
        reports.push(report)
      }
      return reports
    },
  }
}
