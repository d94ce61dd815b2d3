/**
 * What a kind of carrier brings to the routing file: its entry's schema, what the entry can and
 * cannot check, its capabilities, and the factory that turns an entry into an adapter. Each
 * carrier folder exports one (`carriers/<name>/entry.ts`); `registry.ts` lists them.
 * @module
 */
import type { Logger } from 'pino'
import type * as v from 'valibot'
import type { CarrierAdapter, CarrierCapabilities } from './types'

/** A carrier entry's schema: a strict object with an `id` and a literal `type`. */
export type EntrySchema = v.StrictObjectSchema<
  { id: v.GenericSchema<string>; type: v.LiteralSchema<string, undefined> } & v.ObjectEntries,
  v.ErrorMessage<v.StrictObjectIssue> | undefined
>

/** What the factory gets besides the entry. */
export interface CarrierBuildContext {
  logger?: Logger | undefined
  env: Record<string, string | undefined>
  /** The value of an `…Env` field's variable (checked to be set when the file was loaded). */
  secret(name: string): string
  /** `{publicUrl}/v1/carriers/{id}/reports`, when the server's public URL is known. */
  reportsUrl?: string | undefined
}

export interface CarrierKind<S extends EntrySchema = EntrySchema> {
  /** The entry's `type`. */
  readonly type: v.InferOutput<S>['type']
  readonly schema: S
  /** What the adapter built from `entry` can do (the adapter says the same). */
  capabilities(entry: v.InferOutput<S>): CarrierCapabilities
  /** The entry's `…Env` fields, as [path within the entry, variable name]. */
  secretEnvFields(entry: v.InferOutput<S>): [string, string | undefined][]
  /** An empty variable is a genuine value here (an SMPP password may be empty). */
  readonly emptySecretAllowed?: boolean
  /**
   * What the schema cannot check (fields that need each other, files): each problem starts
   * with its path within the entry (`.tls.caFile: …`, or `: needs …`). `baseDir` is the
   * routing file's folder; relative file names in the entry are made absolute against it.
   */
  check?(entry: v.InferOutput<S>, baseDir: string): string[]
  /** What the entry lacks for its delivery reports to be proven genuine, if anything. */
  reportProofMissing?(entry: v.InferOutput<S>): string | undefined
  /** The adapter the entry describes. */
  create(entry: v.InferOutput<S>, context: CarrierBuildContext): CarrierAdapter
}

/** Types a carrier kind against its schema. */
export function defineCarrierKind<S extends EntrySchema>(kind: CarrierKind<S>): CarrierKind<S> {
  return kind
}
