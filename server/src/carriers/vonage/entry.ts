/**
 * The `vonage` entry of the routing file.
 * @module
 */
import * as v from 'valibot'
import {
  EnvName,
  fieldMessage,
  HttpUrl,
  Identifier,
  Milliseconds,
  Sender,
  Text,
} from '../entry-fields'
import { defineCarrierKind } from '../kind'
import { vonageCapabilities, vonageCarrier } from './index'

export const VonageCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('vonage'),
    apiKey: Text,
    apiSecretEnv: v.optional(EnvName),
    /** Signs sends and checks receipts' signatures (instead of apiSecretEnv). */
    signature: v.optional(
      v.strictObject(
        {
          secretEnv: EnvName,
          method: v.picklist(
            ['md5hash', 'md5', 'sha1', 'sha256', 'sha512'],
            'must be "md5hash", "md5", "sha1", "sha256" or "sha512"',
          ),
        },
        fieldMessage,
      ),
    ),
    /** Without a signature, receipts are checked by this token in the callback URL. */
    callbackTokenEnv: v.optional(EnvName),
    from: Sender,
    /** Default: PUBLIC_URL + /v1/carriers/{id}/reports (with ?token= when callbackTokenEnv). */
    callbackUrl: v.optional(HttpUrl),
    currency: v.optional(
      v.pipe(v.string('must be a string'), v.regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code')),
    ),
    restHost: v.optional(HttpUrl),
    timeoutMs: v.optional(Milliseconds),
  },
  fieldMessage,
)

export const vonageKind = defineCarrierKind({
  type: 'vonage',
  schema: VonageCarrierSchema,
  capabilities: (entry) =>
    vonageCapabilities({
      signature: entry.signature && {
        secret: entry.signature.secretEnv,
        method: entry.signature.method,
      },
      callbackToken: entry.callbackTokenEnv,
    }),
  secretEnvFields: (entry) => [
    ['apiSecretEnv', entry.apiSecretEnv],
    ['signature.secretEnv', entry.signature?.secretEnv],
    ['callbackTokenEnv', entry.callbackTokenEnv],
  ],
  check: (entry) =>
    entry.apiSecretEnv === undefined && entry.signature === undefined
      ? [': needs "apiSecretEnv" or "signature"']
      : [],
  reportProofMissing: (entry) =>
    !entry.signature && !entry.callbackTokenEnv
      ? '"signature" (Vonage signs receipts with it) or "callbackTokenEnv"'
      : undefined,
  create(entry, { secret, reportsUrl }) {
    const callbackToken = entry.callbackTokenEnv ? secret(entry.callbackTokenEnv) : undefined
    let callbackUrl = entry.callbackUrl
    if (!callbackUrl && reportsUrl) {
      const url = new URL(reportsUrl)
      // Unsigned receipts are checked by the token in the URL they are posted to.
      if (!entry.signature && callbackToken) url.searchParams.set('token', callbackToken)
      callbackUrl = url.toString()
    }
    return vonageCarrier({
      apiKey: entry.apiKey,
      apiSecret: entry.apiSecretEnv ? secret(entry.apiSecretEnv) : undefined,
      signature: entry.signature && {
        secret: secret(entry.signature.secretEnv),
        method: entry.signature.method,
      },
      callbackToken,
      from: entry.from,
      callbackUrl,
      currency: entry.currency,
      restHost: entry.restHost,
      timeoutMs: entry.timeoutMs,
    })
  },
})
