/**
 * The `smpp` entry of the routing file: an SMSC bind, optionally over TLS (certificate files
 * relative to the routing file, read at start-up).
 * @module
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { createSecureContext } from 'node:tls'
import * as v from 'valibot'
import { RoutingConfigError } from '../../routing/errors'
import {
  FilePath,
  fieldMessage,
  Identifier,
  Milliseconds,
  Port,
  PositiveInteger,
} from '../entry-fields'
import { defineCarrierKind } from '../kind'
import { smppCapabilities, smppCarrier } from './index'

/** A vendor-specific SMPP TLV tag (0x1400–0x3FFF), as a number or "0x…" text. */
const VendorTlvTag = v.pipe(
  v.union(
    [v.number(), v.pipe(v.string(), v.regex(/^0x[0-9a-f]{1,4}$/i))],
    'must be a tag such as "0x1400"',
  ),
  v.transform((tag) => (typeof tag === 'number' ? tag : Number.parseInt(tag, 16))),
  v.check(
    (tag) => Number.isInteger(tag) && tag >= 0x1400 && tag <= 0x3fff,
    'must be a vendor-specific tag, 0x1400 to 0x3FFF',
  ),
)

/**
 * SMPP over TLS: `true` verifies the SMSC's certificate against Node's bundled roots; an object
 * names the CA to verify it against, the name to check, and a client certificate. Files (PEM)
 * are relative to the routing file and read at start-up.
 */
const SmppTlsObjectSchema = v.strictObject(
  {
    caFile: v.optional(FilePath),
    servername: v.optional(
      v.pipe(v.string('must be a host name'), v.minLength(1, 'must not be empty')),
    ),
    certFile: v.optional(FilePath),
    keyFile: v.optional(FilePath),
    /** false accepts any certificate: it must be written out, and is warned about. */
    rejectUnauthorized: v.optional(v.boolean('must be true or false')),
  },
  fieldMessage,
)
// An object is checked field by field (one message per bad field); anything else must be a boolean.
const SmppTlsSchema = v.lazy((input) =>
  typeof input === 'object' && input !== null && !Array.isArray(input)
    ? SmppTlsObjectSchema
    : v.boolean('must be true or an object such as { "caFile": "smsc-ca.pem" }'),
)

export const SmppCarrierSchema = v.strictObject(
  {
    id: Identifier,
    type: v.literal('smpp'),
    host: v.pipe(v.string('must be a host name'), v.minLength(1, 'must not be empty')),
    port: Port,
    systemId: v.pipe(
      v.string('must be a string'),
      v.minLength(1, 'must not be empty'),
      v.maxLength(15, 'must be at most 15 characters (SMPP 3.4)'),
    ),
    /** Prefer passwordEnv: the file then holds no secret. */
    password: v.optional(
      v.pipe(v.string(), v.maxLength(8, 'must be at most 8 characters (SMPP 3.4)')),
    ),
    passwordEnv: v.optional(
      v.pipe(v.string(), v.regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')),
    ),
    systemType: v.optional(v.pipe(v.string(), v.maxLength(12, 'must be at most 12 characters'))),
    sourceAddr: v.pipe(
      v.string('must be a string'),
      v.regex(
        /^(\+?\d{1,15}|[A-Za-z0-9 ._-]{1,11})$/,
        'must be a number (up to 15 digits) or up to 11 letters and digits',
      ),
    ),
    window: v.optional(PositiveInteger),
    enquireLinkMs: v.optional(Milliseconds),
    responseTimeoutMs: v.optional(Milliseconds),
    throttleRetryAfterMs: v.optional(Milliseconds),
    longMessages: v.optional(v.picklist(['udh', 'payload'], 'must be "udh" or "payload"')),
    maxParts: v.optional(PositiveInteger),
    /**
     * India DLT: the TLVs carrying the principal entity id and content template id on texts to
     * +91 (default 0x1400 and 0x1401, as Indian operators' SMPP DLT specifications name them);
     * false sends none (the SMSC maps them itself).
     */
    dltTlvs: v.optional(
      v.union(
        [
          v.literal(false),
          v.strictObject({ entityId: VendorTlvTag, templateId: VendorTlvTag }, fieldMessage),
        ],
        'must be false or { "entityId": "0x1400", "templateId": "0x1401" }',
      ),
    ),
    tls: v.optional(SmppTlsSchema),
  },
  fieldMessage,
)

export type SmppEntry = v.InferOutput<typeof SmppCarrierSchema>

/** The file fields of an SMPP entry's `tls`. */
const TLS_FILES = ['caFile', 'certFile', 'keyFile'] as const

/** An SMPP entry's TLS settings with its files read (PEM contents), as the adapter takes them. */
export interface SmppTlsMaterial {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  servername?: string
  rejectUnauthorized?: boolean
}

/**
 * Reads the files an SMPP entry's `tls` names (absolute once the routing file was parsed) and
 * checks that they hold a certificate, and a key that goes with the client certificate. Each
 * problem starts with its path within the entry; no message quotes a file's contents.
 */
export function readSmppTls(carrier: SmppEntry): {
  tls: boolean | SmppTlsMaterial | undefined
  problems: string[]
} {
  const spec = carrier.tls
  if (typeof spec !== 'object') return { tls: spec, problems: [] }
  const problems: string[] = []
  const files: Partial<Record<(typeof TLS_FILES)[number], Buffer>> = {}
  for (const field of TLS_FILES) {
    const file = spec[field]
    if (file === undefined) continue
    try {
      files[field] = readFileSync(file)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
      problems.push(`.tls.${field}: cannot read ${file} (${code})`)
    }
  }
  if (spec.certFile !== undefined && spec.keyFile === undefined) {
    problems.push('.tls.keyFile: is required with "certFile" (the client certificate\'s key)')
  }
  if (spec.keyFile !== undefined && spec.certFile === undefined) {
    problems.push('.tls.certFile: is required with "keyFile"')
  }
  for (const field of ['caFile', 'certFile'] as const) {
    const pem = files[field]
    if (!pem) continue
    try {
      new X509Certificate(pem)
    } catch {
      problems.push(`.tls.${field}: ${spec[field]} holds no PEM certificate`)
    }
  }
  if (problems.length === 0 && files.certFile && files.keyFile) {
    try {
      createSecureContext({ cert: files.certFile, key: files.keyFile })
    } catch (error) {
      // OpenSSL's reason (no start line, key values mismatch, …) quotes nothing of the key.
      const reason = (error as { code?: string }).code ?? 'unusable'
      problems.push(
        `.tls.keyFile: ${spec.keyFile} is not an unencrypted PEM key for the certFile certificate (${reason})`,
      )
    }
  }
  return {
    tls: {
      ca: files.caFile,
      cert: files.certFile,
      key: files.keyFile,
      servername: spec.servername,
      rejectUnauthorized: spec.rejectUnauthorized,
    },
    problems,
  }
}

/** The password of an SMPP entry, from its environment variable when it names one. */
export function carrierPassword(
  carrier: SmppEntry,
  env: Record<string, string | undefined> = process.env,
): string {
  return carrier.passwordEnv !== undefined
    ? (env[carrier.passwordEnv] ?? '')
    : (carrier.password ?? '')
}

export const smppKind = defineCarrierKind({
  type: 'smpp',
  schema: SmppCarrierSchema,
  capabilities: (entry) => smppCapabilities({ maxParts: entry.maxParts }),
  secretEnvFields: (entry) => [['passwordEnv', entry.passwordEnv]],
  // An empty SMPP password can be genuine; an empty API secret or token never is.
  emptySecretAllowed: true,
  check(entry, baseDir) {
    const problems =
      entry.password === undefined && entry.passwordEnv === undefined
        ? [': needs "passwordEnv" (or "password")']
        : []
    if (typeof entry.tls === 'object') {
      const { tls } = entry
      for (const field of TLS_FILES) {
        const file = tls[field]
        if (file !== undefined) tls[field] = resolve(baseDir, file)
      }
      problems.push(...readSmppTls(entry).problems.map((p) => `${p} (carrier "${entry.id}")`))
    }
    return problems
  },
  create(entry, { env, logger }) {
    // The files were checked when the routing file was loaded; read them again for the adapter.
    const { tls, problems } = readSmppTls(entry)
    if (problems.length > 0) {
      throw new RoutingConfigError(
        'routing config',
        problems.map((problem) => `carrier "${entry.id}"${problem}`),
      )
    }
    return smppCarrier({
      id: entry.id,
      host: entry.host,
      port: entry.port,
      systemId: entry.systemId,
      password: carrierPassword(entry, env),
      systemType: entry.systemType,
      sourceAddr: entry.sourceAddr,
      window: entry.window,
      enquireLinkMs: entry.enquireLinkMs,
      responseTimeoutMs: entry.responseTimeoutMs,
      throttleRetryAfterMs: entry.throttleRetryAfterMs,
      longMessages: entry.longMessages,
      maxParts: entry.maxParts,
      dltTlvs: entry.dltTlvs,
      tls,
      logger,
    })
  },
})
