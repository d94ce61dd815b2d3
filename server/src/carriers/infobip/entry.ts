/**
 * The `infobip` entry of the routing file.
 * @module
 */
import * as v from 'valibot'
import { EnvName, fieldMessage, HttpUrl, Identifier, Milliseconds, Sender } from '../entry-fields'
import { defineCarrierKind } from '../kind'
import { infobipCapabilities, infobipCarrier } from './index'

export const InfobipCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('infobip'),
    /** The account's personal base URL, e.g. https://xxxxx.api.infobip.com. */
    baseUrl: HttpUrl,
    apiKeyEnv: EnvName,
    from: Sender,
    /** Default: PUBLIC_URL + /v1/carriers/{id}/reports; ?token= is added when callbackTokenEnv. */
    notifyUrl: v.optional(HttpUrl),
    callbackTokenEnv: v.optional(EnvName),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const infobipKind = defineCarrierKind({
  type: 'infobip',
  schema: InfobipCarrierSchema,
  capabilities: (entry) => infobipCapabilities({ callbackToken: entry.callbackTokenEnv }),
  secretEnvFields: (entry) => [
    ['apiKeyEnv', entry.apiKeyEnv],
    ['callbackTokenEnv', entry.callbackTokenEnv],
  ],
  reportProofMissing: (entry) => (entry.callbackTokenEnv ? undefined : '"callbackTokenEnv"'),
  create: (entry, { secret, reportsUrl }) =>
    infobipCarrier({
      baseUrl: entry.baseUrl,
      apiKey: secret(entry.apiKeyEnv),
      from: entry.from,
      notifyUrl: entry.notifyUrl ?? reportsUrl,
      callbackToken: entry.callbackTokenEnv ? secret(entry.callbackTokenEnv) : undefined,
      timeoutMs: entry.timeoutMs,
    }),
})
