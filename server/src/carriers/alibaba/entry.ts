/**
 * The `alibaba` entry of the routing file (Alibaba Cloud SMS, registered templates only).
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
import { alibabaCapabilities, alibabaCarrier } from './index'

export const AlibabaCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('alibaba'),
    accessKeyId: Text,
    accessKeySecretEnv: EnvName,
    /** The sign name used when a project registers none (pnpm textgate registrations set). */
    signName: v.optional(Text),
    /** The template used when a project registers none. */
    templateCode: v.optional(Text),
    /** Template variable → "code" | "minutes" | "brand"; default { "code": "code" }. */
    templateParams: v.optional(
      v.record(
        v.pipe(v.string(), v.regex(/^\w{1,32}$/, 'variable names are letters, digits and _')),
        TemplateParam,
        'must be an object of template variable → "code", "minutes" or "brand"',
      ),
    ),
    endpoint: v.optional(HttpUrl),
    regionId: v.optional(Text),
    callbackTokenEnv: v.optional(EnvName),
    reportUtcOffset: v.optional(UtcOffset),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const alibabaKind = defineCarrierKind({
  type: 'alibaba',
  schema: AlibabaCarrierSchema,
  capabilities: (entry) => alibabaCapabilities({ callbackToken: entry.callbackTokenEnv }),
  secretEnvFields: (entry) => [
    ['accessKeySecretEnv', entry.accessKeySecretEnv],
    ['callbackTokenEnv', entry.callbackTokenEnv],
  ],
  reportProofMissing: (entry) => (entry.callbackTokenEnv ? undefined : '"callbackTokenEnv"'),
  create: (entry, { secret }) =>
    alibabaCarrier({
      accessKeyId: entry.accessKeyId,
      accessKeySecret: secret(entry.accessKeySecretEnv),
      signName: entry.signName,
      templateCode: entry.templateCode,
      templateParams: entry.templateParams,
      endpoint: entry.endpoint,
      regionId: entry.regionId,
      callbackToken: entry.callbackTokenEnv ? secret(entry.callbackTokenEnv) : undefined,
      reportUtcOffset: entry.reportUtcOffset,
      timeoutMs: entry.timeoutMs,
    }),
})
