/**
 * Every kind of live carrier, once: the routing file's carrier schema and the factory that
 * turns an entry into an adapter are both built from {@link CARRIER_KINDS}. A new carrier is
 * its folder (adapter, `entry.ts`) and one line here.
 * @module
 */
import type { Logger } from 'pino'
import * as v from 'valibot'
import { withFields } from '../with-fields'
import { alibabaKind } from './alibaba/entry'
import { genericKind } from './generic/entry'
import { infobipKind } from './infobip/entry'
import type { CarrierKind, EntrySchema } from './kind'
import { smppKind } from './smpp/entry'
import { tencentKind } from './tencent/entry'
import { twilioKind } from './twilio/entry'
import { type CarrierAdapter, CarrierError, type OutgoingMessage, type SendResult } from './types'
import { vonageKind } from './vonage/entry'

export const CARRIER_KINDS = [
  smppKind,
  twilioKind,
  vonageKind,
  infobipKind,
  genericKind,
  alibabaKind,
  tencentKind,
] as const

type Kinds = typeof CARRIER_KINDS
type SchemaOf<K> = K extends CarrierKind<infer S> ? S : never

export const CARRIER_TYPES = CARRIER_KINDS.map((kind) => kind.type)

/** One carrier entry of the routing file, whichever its type. */
export const CarrierSchema = v.variant(
  'type',
  CARRIER_KINDS.map((kind) => kind.schema) as unknown as {
    -readonly [K in keyof Kinds]: SchemaOf<Kinds[K]>
  },
  (issue) =>
    `unknown carrier type ${JSON.stringify(issue.input)} (known: ${CARRIER_TYPES.map((t) => `"${t}"`).join(', ')})`,
)

export type CarrierSpec = v.InferOutput<typeof CarrierSchema>

/** The kind of carrier an entry is. */
export function kindOf(spec: CarrierSpec): CarrierKind<EntrySchema> {
  const kind = CARRIER_KINDS.find((k) => k.type === spec.type)
  if (!kind) throw new Error(`[textgate] [routing] no carrier type "${spec.type}"`)
  return kind as unknown as CarrierKind<EntrySchema>
}

/** The value of an `…Env` field (checked to be set when the file was loaded). */
export function secretFromEnv(
  name: string,
  env: Record<string, string | undefined> = process.env,
): string {
  return env[name] ?? ''
}

/** The `…Env` fields of a carrier entry, as [path within the entry, variable name]. */
export function secretEnvFields(spec: CarrierSpec): [string, string][] {
  return kindOf(spec)
    .secretEnvFields(spec)
    .filter((field): field is [string, string] => field[1] !== undefined)
}

export interface CarrierBuildOptions {
  logger?: Logger
  env?: Record<string, string | undefined>
  /**
   * The server's public URL: carriers told per message where to post reports (Twilio, Vonage,
   * Infobip) get `{publicUrl}/v1/carriers/{id}/reports` unless the entry names its own URL.
   */
  publicUrl?: string
}

/**
 * A carrier's refusal as said by the entry `id` instead of the provider ("[textgate] [twilio-eu]
 * HTTP 400: …" rather than "[textgate] [twilio] …"), keeping whether and when to retry.
 */
export function asEntryError(error: unknown, id: string): unknown {
  if (!(error instanceof CarrierError) || error.carrier === id) return error
  const prefix = `[textgate] [${error.carrier}] `
  const detail = error.message.startsWith(prefix)
    ? error.message.slice(prefix.length)
    : error.message
  const renamed = new CarrierError(id, detail, {
    permanent: error.permanent,
    routeFault: error.routeFault,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    ...(error.code === undefined ? {} : { code: error.code }),
    cause: error.cause,
  })
  renamed.stack = error.stack?.replace(error.message, renamed.message)
  return renamed
}

/**
 * The adapter under the entry's id: messages, routes, the report URL
 * (/v1/carriers/{id}/reports), errors and logs all use it, so two accounts of one provider can
 * coexist and the operator reads the name they configured.
 */
function named(adapter: CarrierAdapter, id: string): CarrierAdapter {
  if (adapter.id === id) return adapter
  return withFields(adapter, {
    id,
    async send(message: OutgoingMessage): Promise<SendResult> {
      try {
        return await adapter.send(message)
      } catch (error) {
        throw asEntryError(error, id)
      }
    },
  })
}

/** Builds the adapter a carrier entry describes, under the entry's id. */
export function carrierFromSpec(
  spec: CarrierSpec,
  { logger, env = process.env, publicUrl }: CarrierBuildOptions = {},
): CarrierAdapter {
  const reportsUrl = publicUrl
    ? `${publicUrl.replace(/\/+$/, '')}/v1/carriers/${encodeURIComponent(spec.id)}/reports`
    : undefined
  const adapter = kindOf(spec).create(spec, {
    logger,
    env,
    secret: (name) => secretFromEnv(name, env),
    reportsUrl,
  })
  return named(adapter, spec.id)
}
