/**
 * A local Alibaba Cloud Dysmsapi endpoint (RPC, 2017-05-25): reads parameters from the query
 * and a form body (the SDK puts them in the query, our adapter in the body), checks the v1.0
 * HMAC-SHA1 signature, the timestamp window and nonce reuse, renders the registered template,
 * answers as Alibaba does (`{ Code, Message, BizId, RequestId }`), and pushes SmsReport
 * receipts (a JSON array, China time). Test-only.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { alibabaSignature } from '../../src/carriers/alibaba/index'
import { safeEqual } from '../../src/carriers/http'
import type { CarrierFake, FakeSend } from '../carrier-conformance.case'
import { chinaTime, type FakeAnswer, startFakeServer } from './fake-server'

export interface AlibabaFakeOptions {
  accessKeyId: string
  accessKeySecret: string
  /** Registered templates by code; `${name}` are the variables. */
  templates: Record<string, string>
  callbackUrl: string
}

const INVALID = '+8613000000000'

function answer(status: number, code: string, message: string, extra: object = {}): FakeAnswer {
  return { status, body: { Code: code, Message: message, RequestId: randomUUID(), ...extra } }
}

export async function startAlibabaFake(options: AlibabaFakeOptions) {
  const sends: (FakeSend & {
    signName?: string
    templateCode?: string
    /** TemplateParam as sent: the template's variables by name. */
    variables?: Record<string, string>
  })[] = []
  const nonces = new Set<string>()
  const server = await startFakeServer(
    (request) => {
      const url = new URL(request.url, 'http://fake')
      const params: Record<string, string> = Object.fromEntries(url.searchParams)
      if (String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
        Object.assign(params, Object.fromEntries(new URLSearchParams(request.body)))
      }
      if (url.pathname !== '/') return answer(404, 'InvalidAction.NotFound', 'no such path')
      if (params.Action !== 'SendSms') {
        return answer(404, 'InvalidAction.NotFound', 'Specified api is not found')
      }
      if (params.Version !== '2017-05-25') return answer(400, 'InvalidVersion', 'bad version')
      if (params.SignatureMethod !== 'HMAC-SHA1' || params.SignatureVersion !== '1.0') {
        return answer(400, 'InvalidSignatureMethod', 'unsupported signature method')
      }
      if (params.AccessKeyId !== options.accessKeyId) {
        return answer(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.')
      }
      const time = Date.parse(params.Timestamp ?? '')
      if (Number.isNaN(time) || Math.abs(Date.now() - time) > 15 * 60_000) {
        return answer(
          400,
          'InvalidTimeStamp.Expired',
          'Specified time stamp or date value is expired.',
        )
      }
      const expected = alibabaSignature(params, request.method, options.accessKeySecret)
      if (!params.Signature || !safeEqual(params.Signature, expected)) {
        return answer(
          400,
          'SignatureDoesNotMatch',
          'Specified signature is not matched with our calculation.',
        )
      }
      const nonce = params.SignatureNonce ?? ''
      if (!nonce || nonces.has(nonce)) {
        return answer(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.')
      }
      nonces.add(nonce)
      const template = options.templates[params.TemplateCode ?? '']
      if (!template) return answer(200, 'isv.SMS_TEMPLATE_ILLEGAL', '模板不合法')
      if (!params.SignName) return answer(200, 'isv.SMS_SIGNATURE_ILLEGAL', '签名不合法')
      let variables: Record<string, string>
      try {
        variables = JSON.parse(params.TemplateParam ?? '{}')
      } catch {
        return answer(200, 'isv.INVALID_JSON_PARAM', 'JSON参数不合法')
      }
      const phone = params.PhoneNumbers ?? ''
      const to = /^1\d{10}$/.test(phone) ? `+86${phone}` : `+${phone}`
      if (to === INVALID || !/^\+[1-9]\d{6,14}$/.test(to)) {
        return answer(200, 'isv.MOBILE_NUMBER_ILLEGAL', '非法手机号')
      }
      const text = template.replace(/\$\{(\w+)\}/g, (_, name: string) => variables[name] ?? '')
      sends.push({
        to,
        text,
        templateParams: Object.values(variables),
        signName: params.SignName,
        templateCode: params.TemplateCode,
        variables,
      })
      return answer(200, 'OK', 'OK', { BizId: `${Date.now()}${Math.floor(Math.random() * 1e6)}^0` })
    },
    (f) =>
      f.kind === 'rate_limited'
        ? answer(200, 'isv.BUSINESS_LIMIT_CONTROL', '触发分钟级流控Permits:1')
        : answer(
            503,
            'ServiceUnavailable',
            'The request has failed due to a temporary failure of the server.',
          ),
  )

  return {
    baseUrl: server.baseUrl,
    sends,
    invalidNumber: INVALID,
    failNext: server.failNext,
    close: server.close,
    deliveryReport(carrierMessageId, status, reportOptions = {}) {
      // SmsReport states only success or failure.
      if (status !== 'delivered' && status !== 'failed') return undefined
      const url = new URL(options.callbackUrl)
      if (reportOptions.unsigned) url.searchParams.delete('token')
      const at = reportOptions.at ?? Date.now()
      const item = {
        phone_number: '447700900123',
        send_time: chinaTime(at - 3_000),
        report_time: chinaTime(at),
        success: status === 'delivered',
        err_code: status === 'delivered' ? 'DELIVERED' : (reportOptions.errorCode ?? 'MK:0001'),
        err_msg: status === 'delivered' ? '用户接收成功' : '用户接收失败',
        sms_size: '1',
        biz_id: carrierMessageId,
        out_id: 'msg_ref',
      }
      return {
        method: 'POST',
        url: url.toString(),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([item]),
      }
    },
  } satisfies CarrierFake
}
