/**
 * A local Tencent Cloud SMS endpoint (API 3.0, SendSms 2021-01-11): checks the X-TC-* headers
 * and the TC3-HMAC-SHA256 Authorization (scope service = first label of the Host, as the real
 * gateway requires; timestamps within 5 minutes), answers HTTP 200 with `Response.Error` or a
 * `SendStatusSet`, renders the registered template, and makes status callbacks as Tencent posts
 * them (a JSON array, Beijing time). Test-only.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { SegmentedMessage } from 'sms-segments-calculator'
import { safeEqual } from '../../src/carriers/http'
import { tc3Authorization } from '../../src/carriers/tencent/index'
import type { CarrierFake, FakeSend } from '../carrier-conformance.case'
import { chinaTime, type FakeAnswer, startFakeServer } from './fake-server'

export interface TencentFakeOptions {
  secretId: string
  secretKey: string
  smsSdkAppId: string
  /** Registered templates by id: `{1}`, `{2}` … are the parameters. */
  templates: Record<string, string>
  callbackUrl: string
}

const INVALID = '+8613000000000'

function errorAnswer(code: string, message: string): FakeAnswer {
  return {
    status: 200,
    body: { Response: { Error: { Code: code, Message: message }, RequestId: randomUUID() } },
  }
}

export async function startTencentFake(options: TencentFakeOptions) {
  const sends: (FakeSend & { signName?: string; templateId?: string })[] = []
  const server = await startFakeServer(
    (request) => {
      if (request.method !== 'POST' || request.url !== '/') {
        return errorAnswer('UnsupportedOperation', 'only POST / is served')
      }
      const h = request.headers
      if (h['x-tc-action'] !== 'SendSms') return errorAnswer('InvalidAction', 'action not found')
      if (h['x-tc-version'] !== '2021-01-11') return errorAnswer('NoSuchVersion', 'bad version')
      if (!h['x-tc-region']) return errorAnswer('MissingParameter', 'X-TC-Region is required')
      const auth =
        /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d{2}-\d{2})\/([^/]+)\/tc3_request, SignedHeaders=content-type;host, Signature=([0-9a-f]{64})$/.exec(
          String(h.authorization ?? ''),
        )
      if (!auth) return errorAnswer('AuthFailure.InvalidAuthorization', 'Authorization malformed')
      const [, secretId, , service] = auth
      const timestamp = Number(h['x-tc-timestamp'])
      if (Math.abs(Date.now() / 1000 - timestamp) > 300) {
        return errorAnswer('AuthFailure.SignatureExpire', 'signature expired')
      }
      if (secretId !== options.secretId) {
        return errorAnswer('AuthFailure.SecretIdNotFound', 'The SecretId is not found')
      }
      const host = String(h.host ?? '').replace(/:\d+$/, '')
      if (service !== host.split('.')[0]) {
        return errorAnswer('AuthFailure.InvalidAuthorization', 'service does not match the host')
      }
      const expected = tc3Authorization({
        secretId: options.secretId,
        secretKey: options.secretKey,
        service: service!,
        host,
        contentType: String(h['content-type']),
        body: request.body,
        timestamp,
      })
      if (!safeEqual(String(h.authorization), expected)) {
        return errorAnswer(
          'AuthFailure.SignatureFailure',
          'The provided credentials could not be validated.',
        )
      }
      const body = JSON.parse(request.body) as {
        PhoneNumberSet?: string[]
        SmsSdkAppId?: string
        TemplateId?: string
        TemplateParamSet?: string[]
        SessionContext?: string
        SignName?: string
      }
      if (body.SmsSdkAppId !== options.smsSdkAppId) {
        return errorAnswer('InvalidParameterValue.SdkAppIdNotExist', 'SdkAppId not found')
      }
      const template = options.templates[body.TemplateId ?? '']
      if (!template) return errorAnswer('FailedOperation.TemplateIdNotExist', 'template not found')
      const paramsGiven = body.TemplateParamSet ?? []
      const text = template.replace(
        /\{(\d+)\}/g,
        (_, n: string) => paramsGiven[Number(n) - 1] ?? '',
      )
      const statuses = (body.PhoneNumberSet ?? []).map((phone) => {
        if (phone === INVALID || !/^\+[1-9]\d{6,14}$/.test(phone)) {
          return {
            SerialNo: '',
            PhoneNumber: phone,
            Fee: 0,
            SessionContext: body.SessionContext ?? '',
            Code: 'InvalidParameterValue.IncorrectPhoneNumber',
            Message: 'incorrect phone number',
            IsoCode: '',
          }
        }
        sends.push({
          to: phone,
          text,
          templateParams: paramsGiven,
          signName: body.SignName,
          templateId: body.TemplateId,
        })
        return {
          SerialNo: `2028:${randomUUID().replace(/-/g, '').slice(0, 20)}`,
          PhoneNumber: phone,
          Fee: new SegmentedMessage(text, 'auto').segmentsCount,
          SessionContext: body.SessionContext ?? '',
          Code: 'Ok',
          Message: 'send success',
          IsoCode: phone.startsWith('+86') ? 'CN' : 'GB',
        }
      })
      return {
        status: 200,
        body: { Response: { SendStatusSet: statuses, RequestId: randomUUID() } },
      }
    },
    (f) =>
      f.kind === 'rate_limited'
        ? errorAnswer('RequestLimitExceeded', 'request limit exceeded')
        : errorAnswer('InternalError.Timeout', 'internal timeout'),
  )

  return {
    baseUrl: server.baseUrl,
    sends,
    invalidNumber: INVALID,
    failNext: server.failNext,
    close: server.close,
    deliveryReport(carrierMessageId, status, reportOptions = {}) {
      // Tencent reports only the final outcome: SUCCESS or FAIL.
      if (status !== 'delivered' && status !== 'failed') return undefined
      const url = new URL(options.callbackUrl)
      if (reportOptions.unsigned) url.searchParams.delete('token')
      const item = {
        user_receive_time: chinaTime(reportOptions.at ?? Date.now()),
        nationcode: '44',
        mobile: '7700900123',
        report_status: status === 'delivered' ? 'SUCCESS' : 'FAIL',
        errmsg: status === 'delivered' ? 'DELIVRD' : (reportOptions.errorCode ?? 'MK:0001'),
        description: status === 'delivered' ? '用户短信送达成功' : '用户短信未送达',
        sid: carrierMessageId,
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
