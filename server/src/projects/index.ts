/**
 * Projects and their API keys. Publishable keys (`pk_…`) go in the widget and are bound to the
 * project's allowed origins; secret keys (`sk_…`) stay on store servers. Both are stored only
 * as SHA-256 hashes: they are long random strings, so a fast hash is enough to make a leaked
 * table useless.
 * @module
 */
import { hash, randomBytes } from 'node:crypto'
import { countryCode, notACountry } from '@textgate/shared'
import type { Kysely } from 'kysely'
import { type FraudSettingsInput, parseGivenFraudSettings } from '../fraud/settings'
import { newId } from '../ids'
import { forgetCachedKeys } from '../keys/invalidation'
import type { ApiKey, Database, KeyKind, KeyMode, Project } from '../storage'
import { templateProblem } from '../templates'
import { parseRegistrations, type SmsRegistrations } from '../templates/registrations'

const KEY_PATTERN = /^(pk|sk)_(test|live)_[A-Za-z0-9]{24,64}$/
const PREFIX: Record<KeyKind, string> = { publishable: 'pk', secret: 'sk' }

export interface CreateProjectInput {
  name: string
  origins: string[]
  countries?: string[] | null
  brand?: string
  codeLength?: number
  /** Fraud guard settings (see fraud/settings.ts); validated, defaults for what is missing. */
  fraudSettings?: FraudSettingsInput
  /** Code-message templates by locale (`{ "en": "{code} is your code", "fr": … }`). */
  templates?: Record<string, string>
  /** China sign name and template ids, India DLT ids (see templates/registrations.ts). */
  registrations?: unknown
}

export interface CreatedProject {
  project: Project
  publishableKey: string
  secretKey: string
}

/** Normalises an origin ("https://Shop.example/" → "https://shop.example"); throws if not one. */
export function normalizeOrigin(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new Error(`"${value}" is not an origin such as https://shop.example`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`"${value}" must use http or https`)
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
    throw new Error(`"${value}" must be an origin only (scheme, host and port, no path)`)
  }
  return url.origin
}

export function hashKey(rawKey: string): string {
  // One-shot: the same digest as createHash, without a Hash object per request.
  return hash('sha256', rawKey, 'hex')
}

function randomKeyBody(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  // 256 % 62 != 0: reject bytes ≥ 248 so every character is equally likely.
  let body = ''
  while (body.length < length) {
    for (const byte of randomBytes(length)) {
      if (byte < 248 && body.length < length) body += alphabet[byte % 62]
    }
  }
  return body
}

/** Creates a key for the project and returns it in clear: the only time it is ever seen. */
export async function createApiKey(
  db: Kysely<Database>,
  projectId: string,
  kind: KeyKind,
  mode: KeyMode,
  now = Date.now(),
): Promise<string> {
  const rawKey = `${PREFIX[kind]}_${mode}_${randomKeyBody(kind === 'secret' ? 40 : 32)}`
  await db
    .insertInto('api_keys')
    .values({
      id: newId('key'),
      project_id: projectId,
      kind,
      mode,
      key_hash: hashKey(rawKey),
      hint: `${rawKey.slice(0, 12)}…${rawKey.slice(-4)}`,
      created_at: now,
      revoked_at: null,
      last_used_at: null,
    })
    .execute()
  return rawKey
}

/**
 * Creates a project with one test publishable key and one test secret key.
 * @example
 * const { project, publishableKey, secretKey } = await createProject(db, {
 *   name: 'Shop', origins: ['https://shop.example'],
 * })
 */
export async function createProject(
  db: Kysely<Database>,
  input: CreateProjectInput,
): Promise<CreatedProject> {
  const name = input.name.trim()
  if (!name) throw new Error('a project needs a name')
  if (input.origins.length === 0) throw new Error('a project needs at least one --origin')
  const origins = [...new Set(input.origins.map(normalizeOrigin))]
  const countries = input.countries?.map((country) => {
    const code = countryCode(country)
    if (!code) throw new Error(notACountry(country))
    return code
  })
  const codeLength = input.codeLength ?? 6
  if (!Number.isInteger(codeLength) || codeLength < 4 || codeLength > 10) {
    throw new Error('the code length must be 4 to 10 digits')
  }
  const now = Date.now()
  const project: Project = {
    id: newId('prj'),
    name,
    allowed_origins: JSON.stringify(origins),
    allowed_countries: countries?.length ? JSON.stringify(countries) : null,
    brand: input.brand?.trim() || name,
    code_length: codeLength,
    created_at: now,
    // Stored as given (once validated), so later defaults still apply to what it leaves out.
    fraud_settings: input.fraudSettings ? validSettingsJson(input.fraudSettings) : null,
    message_templates: input.templates ? validTemplatesJson(input.templates) : null,
    sms_registrations: input.registrations
      ? JSON.stringify(parseRegistrations(input.registrations))
      : null,
    ip_allowlist: null,
    consent_versions: null,
  }
  return db.transaction().execute(async (trx) => {
    await trx.insertInto('projects').values(project).execute()
    const publishableKey = await createApiKey(trx, project.id, 'publishable', 'test', now)
    const secretKey = await createApiKey(trx, project.id, 'secret', 'test', now)
    return { project, publishableKey, secretKey }
  })
}

export interface KeyLookup {
  apiKey: ApiKey
  project: Project
}

/** True when `rawKey` has the shape of a Textgate API key (`pk_test_…`, `sk_live_…`). */
export function isApiKeyShaped(rawKey: string): boolean {
  return KEY_PATTERN.test(rawKey)
}

/**
 * The active key and its project, or undefined for a malformed, unknown or revoked key. Straight
 * from the database: requests go through the cache in keys/cache.ts.
 */
export async function findApiKey(
  db: Kysely<Database>,
  rawKey: string,
): Promise<KeyLookup | undefined> {
  if (!KEY_PATTERN.test(rawKey)) return undefined
  return findApiKeyByHash(db, hashKey(rawKey))
}

export async function findApiKeyByHash(
  db: Kysely<Database>,
  keyHash: string,
): Promise<KeyLookup | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .innerJoin('projects', 'projects.id', 'api_keys.project_id')
    .selectAll('api_keys')
    .select([
      'projects.name',
      'projects.allowed_origins',
      'projects.allowed_countries',
      'projects.brand',
      'projects.code_length',
      'projects.created_at as project_created_at',
      'projects.fraud_settings',
      'projects.message_templates',
      'projects.sms_registrations',
      'projects.ip_allowlist',
      'projects.consent_versions',
    ])
    .where('api_keys.key_hash', '=', keyHash)
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst()
  if (!row) return undefined
  const {
    name,
    allowed_origins,
    allowed_countries,
    brand,
    code_length,
    project_created_at,
    fraud_settings,
    message_templates,
    sms_registrations,
    ip_allowlist,
    consent_versions,
  } = row
  return {
    apiKey: {
      id: row.id,
      project_id: row.project_id,
      kind: row.kind,
      mode: row.mode,
      key_hash: row.key_hash,
      hint: row.hint,
      created_at: row.created_at,
      revoked_at: row.revoked_at,
      last_used_at: row.last_used_at,
    },
    project: {
      id: row.project_id,
      name,
      allowed_origins,
      allowed_countries,
      brand,
      code_length,
      created_at: project_created_at,
      fraud_settings,
      message_templates,
      sms_registrations,
      ip_allowlist,
      consent_versions,
    },
  }
}

export function allowedOrigins(project: Project): string[] {
  return JSON.parse(project.allowed_origins) as string[]
}

export function allowedCountries(project: Project): string[] | null {
  return project.allowed_countries ? (JSON.parse(project.allowed_countries) as string[]) : null
}

/** The consent versions a start may name (the first is the current one), or null for any. */
export function consentVersions(project: Project): string[] | null {
  return project.consent_versions ? (JSON.parse(project.consent_versions) as string[]) : null
}

/** Replaces a project's fraud settings (validated; throws FraudSettingsError). */
export async function setFraudSettings(
  db: Kysely<Database>,
  projectId: string,
  settings: unknown,
): Promise<boolean> {
  const result = await db
    .updateTable('projects')
    .set({ fraud_settings: validSettingsJson(settings) })
    .where('id', '=', projectId)
    .executeTakeFirst()
  forgetCachedKeys(db)
  return Number(result.numUpdatedRows) > 0
}

function validSettingsJson(settings: unknown): string {
  const value = typeof settings === 'string' ? JSON.parse(settings) : settings
  parseGivenFraudSettings(value)
  return JSON.stringify(value)
}

/** Validates templates (each needs {code}; known placeholders only) and returns their JSON. */
export function validTemplatesJson(templates: unknown): string {
  if (typeof templates !== 'object' || templates === null || Array.isArray(templates)) {
    throw new Error(
      'templates are a JSON object of locale → text, like { "en": "{code} is your code" }',
    )
  }
  for (const [locale, text] of Object.entries(templates)) {
    if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(locale)) {
      throw new Error(`"${locale}" is not a BCP 47 language tag`)
    }
    if (typeof text !== 'string') throw new Error(`the template for ${locale} must be text`)
    const problem = templateProblem(text)
    if (problem) throw new Error(`template ${locale}: ${problem}`)
  }
  return JSON.stringify(templates)
}

/** Replaces a project's code-message templates (null: back to the defaults). */
export async function setTemplates(
  db: Kysely<Database>,
  projectId: string,
  templates: Record<string, string> | null,
): Promise<boolean> {
  const result = await db
    .updateTable('projects')
    .set({ message_templates: templates ? validTemplatesJson(templates) : null })
    .where('id', '=', projectId)
    .executeTakeFirst()
  forgetCachedKeys(db)
  return Number(result.numUpdatedRows) > 0
}

/**
 * Replaces a project's SMS registrations (China sign name and template ids, India DLT ids);
 * null removes them. Validated first: throws RegistrationsError naming each bad field.
 * Returns false when there is no such project.
 */
export async function setRegistrations(
  db: Kysely<Database>,
  projectId: string,
  registrations: unknown,
): Promise<boolean> {
  const value = registrations === null ? null : JSON.stringify(parseRegistrations(registrations))
  const result = await db
    .updateTable('projects')
    .set({ sms_registrations: value })
    .where('id', '=', projectId)
    .executeTakeFirst()
  forgetCachedKeys(db)
  return Number(result.numUpdatedRows) > 0
}

/** A project's SMS registrations, or null when none are set (or no such project). */
export async function getRegistrations(
  db: Kysely<Database>,
  projectId: string,
): Promise<SmsRegistrations | null> {
  const row = await db
    .selectFrom('projects')
    .select('sms_registrations')
    .where('id', '=', projectId)
    .executeTakeFirst()
  return row?.sms_registrations ? parseRegistrations(row.sms_registrations) : null
}
