/**
 * The `twilio` entry of the routing file.
 * @module
 */
import * as v from 'valibot'
import { EnvName, fieldMessage, HttpUrl, Identifier, Milliseconds, Sender } from '../entry-fields'
import { defineCarrierKind } from '../kind'
import { twilioCapabilities, twilioCarrier } from './index'

export const TwilioCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('twilio'),
    accountSid: v.pipe(
      v.string('must be a string'),
      v.regex(/^AC[0-9a-f]{32}$/i, 'must be "AC" and 32 hex digits'),
    ),
    authTokenEnv: EnvName,
    /** An API key to authenticate sends instead of the Auth Token (which still signs callbacks). */
    apiKey: v.optional(
      v.strictObject(
        {
          sid: v.pipe(
            v.string('must be a string'),
            v.regex(/^SK[0-9a-f]{32}$/i, 'must be "SK" and 32 hex digits'),
          ),
          secretEnv: EnvName,
        },
        fieldMessage,
      ),
    ),
    from: v.optional(Sender),
    messagingServiceSid: v.optional(
      v.pipe(
        v.string('must be a string'),
        v.regex(/^MG[0-9a-f]{32}$/i, 'must be "MG" and 32 hex digits'),
      ),
    ),
    /** Default: PUBLIC_URL + /v1/carriers/{id}/reports. */
    statusCallbackUrl: v.optional(HttpUrl),
    baseUrl: v.optional(HttpUrl),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const twilioKind = defineCarrierKind({
  type: 'twilio',
  schema: TwilioCarrierSchema,
  capabilities: () => twilioCapabilities(),
  secretEnvFields: (entry) => [
    ['authTokenEnv', entry.authTokenEnv],
    ['apiKey.secretEnv', entry.apiKey?.secretEnv],
  ],
  check(entry) {
    if (entry.from === undefined && entry.messagingServiceSid === undefined) {
      return [': needs "from" or "messagingServiceSid"']
    }
    if (entry.from !== undefined && entry.messagingServiceSid !== undefined) {
      return ['.messagingServiceSid: set "from" or "messagingServiceSid", not both']
    }
    return []
  },
  create: (entry, { secret, reportsUrl }) =>
    twilioCarrier({
      accountSid: entry.accountSid,
      authToken: secret(entry.authTokenEnv),
      apiKey: entry.apiKey && { sid: entry.apiKey.sid, secret: secret(entry.apiKey.secretEnv) },
      from: entry.from,
      messagingServiceSid: entry.messagingServiceSid,
      statusCallbackUrl: entry.statusCallbackUrl ?? reportsUrl,
      baseUrl: entry.baseUrl,
      timeoutMs: entry.timeoutMs,
    }),
})
