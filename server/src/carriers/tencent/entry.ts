/**
 * The `tencent` entry of the routing file (Tencent Cloud SMS, registered templates only).
 * @module
 */
import * as v from 'valibot'
import {
  EnvName,
  fieldMessage,
  HttpUrl,
  Identifier,
  Milliseconds,
  TemplateParam,
  Text,
  UtcOffset,
} from '../entry-fields'
import { defineCarrierKind } from '../kind'
import { tencentCapabilities, tencentCarrier } from './index'

export const TencentCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('tencent'),
    secretId: Text,
    secretKeyEnv: EnvName,
    smsSdkAppId: Text,
    /** The template used when a project registers none (pnpm textgate registrations set). */
    templateId: v.optional(Text),
    /** Our values in the template's {1}, {2}, … order; default ["code"]. */
    templateParams: v.optional(v.array(TemplateParam, 'must be a list such as ["code"]')),
    signName: v.optional(Text),
    senderId: v.optional(Text),
    region: v.optional(Text),
    /** https://sms.tencentcloudapi.com (default) or https://sms.intl.tencentcloudapi.com. */
    endpoint: v.optional(HttpUrl),
    callbackTokenEnv: v.optional(EnvName),
    reportUtcOffset: v.optional(UtcOffset),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const tencentKind = defineCarrierKind({
  type: 'tencent',
  schema: TencentCarrierSchema,
  capabilities: (entry) => tencentCapabilities({ callbackToken: entry.callbackTokenEnv }),
  secretEnvFields: (entry) => [
    ['secretKeyEnv', entry.secretKeyEnv],
    ['callbackTokenEnv', entry.callbackTokenEnv],
  ],
  reportProofMissing: (entry) => (entry.callbackTokenEnv ? undefined : '"callbackTokenEnv"'),
  create: (entry, { secret }) =>
    tencentCarrier({
      secretId: entry.secretId,
      secretKey: secret(entry.secretKeyEnv),
      smsSdkAppId: entry.smsSdkAppId,
      templateId: entry.templateId,
      templateParams: entry.templateParams,
      signName: entry.signName,
      senderId: entry.senderId,
      region: entry.region,
      endpoint: entry.endpoint,
      callbackToken: entry.callbackTokenEnv ? secret(entry.callbackTokenEnv) : undefined,
      reportUtcOffset: entry.reportUtcOffset,
      timeoutMs: entry.timeoutMs,
    }),
})
