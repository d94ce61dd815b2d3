/**
 * Settings from the environment, exactly as DESIGN.md lists them, checked at start with a
 * clear message for each bad value.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { normaliseIssuer } from '@textgate/shared'
import ipaddr from 'ipaddr.js'
import * as v from 'valibot'
import { DEFAULT_HEAP_GROWING_PERCENT } from '../heap'
import { NO_TRUSTED_PROXIES, type TrustedProxies, trustedProxies } from '../http/client-ip'
import { makePrivateFolder } from '../private-folder'
import { loadRoutingFile, type RoutingConfig, RoutingConfigError } from '../routing/routing-file'
import { parseDatabaseUrl } from '../storage'
import { DEFAULT_WRITER_NICE } from '../storage/writer-thread'
import {
  isDevelopmentServer,
  NO_WEBHOOK_NETWORKS,
  parseWebhookRanges,
  type WebhookNetworks,
} from '../webhooks/url-policy'

/**
 * Texts a dispatcher keeps with carriers at once: enough to keep up with a busy store on one
 * process (one commit records a batch of answers), at the cost of at most this many texts sent
 * twice when a process is killed mid-send.
 */
export const DEFAULT_OUTBOX_WINDOW = 16

export interface Config {
  port: number
  /**
   * The token issuer, normalised (@textgate/shared's normaliseIssuer): the URL's origin
   * (lower-case host, default port dropped) and path without a trailing slash.
   */
  publicUrl: string
  /** More origins the console is reached at (TEXTGATE_CONSOLE_ORIGINS), normalised. */
  consoleOrigins: string[]
  /**
   * The console also answers at localhost, 127.0.0.1 and [::1] on the port a request came in
   * on: PUBLIC_URL unset, or outside production.
   */
  consoleLoopback: boolean
  databaseUrl: string
  secret: string
  /** Where the secret came from, for the start-up log (never the value). */
  secretSource: 'environment' | 'generated' | 'file'
  production: boolean
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  dataDir: string
  /** Days verifications, messages and fraud decisions keep full numbers and addresses. */
  retentionDays: number
  /** Reverse proxies (addresses, CIDR ranges) whose X-Forwarded-For is trusted (TRUST_PROXY). */
  trustedProxies: TrustedProxies
  /** The address the server listens on (HOST); unset: every interface. */
  host?: string | undefined
  /** Redis for the fraud guard's counters (REDIS_URL); unset: counters live in the database. */
  redisUrl?: string | undefined
  /** Live-mode routes and carriers from TEXTGATE_ROUTES_FILE; without it live keys cannot send. */
  routing?: RoutingConfig
  /** How long a dispatcher's claim on an outbox row holds before another process may take it. */
  outboxClaimMs: number
  /** Texts a process sends at once without having recorded them: the most a crash can repeat. */
  outboxWindow: number
  /**
   * PostgreSQL: hot inserts run as named (prepared) statements (TEXTGATE_POSTGRES_PREPARED,
   * on by default; off behind a pooler that cannot keep them, such as PgBouncer before 1.21 in
   * transaction mode).
   */
  postgresPrepared: boolean
  /**
   * SQLite: the starts' inserts are written and committed on a thread of their own
   * (TEXTGATE_SQLITE_WRITER=thread, the default) or on the serving thread (`inline`).
   */
  sqliteWriterThread: boolean
  /**
   * SQLite on Linux: the writer thread's nice value (TEXTGATE_SQLITE_WRITER_NICE, 0–19, default
   * 5): below the serving thread, which limits a start; 0 runs it at the serving thread's.
   */
  sqliteWriterNice: number
  /**
   * `serve`: how much the old generation may grow past what the last full collection left live,
   * in per cent (TEXTGATE_HEAP_GROWING_PERCENT, default 500; 0 leaves it to V8): fewer
   * collections that stop the serving thread, for more memory. See ../heap.ts.
   */
  heapGrowingPercent: number
  /** How long a claim on a webhook delivery holds before another process may take it. */
  webhookClaimMs: number
  /**
   * Where webhook endpoints may be besides the public internet: the operator's networks (CIDR
   * ranges, TEXTGATE_WEBHOOK_NETWORKS; none by default), and loopback for test mode on a
   * development server (not production and PUBLIC_URL on loopback).
   */
  webhookNetworks: WebhookNetworks
  /** Bearer token that GET /metrics requires (METRICS_TOKEN); unset: /metrics is not served. */
  metricsToken?: string | undefined
  /** A separate port serving only /metrics, without a token (METRICS_PORT). */
  metricsPort?: number | undefined
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`[textgate] [config] invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

const MIN_SECRET_BYTES = 32

/** A setting that is a TCP port: a whole number from 0 to 65535. */
const portNumber = (name: string) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, `${name} must be a whole number`),
    v.transform(Number),
    v.integer(),
    v.minValue(0, `${name} must be between 0 and 65535`),
    v.maxValue(65535, `${name} must be between 0 and 65535`),
  )

/** A setting that is a whole number from 0 to `max`. */
const wholeNumberUpTo = (name: string, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, `${name} must be a whole number from 0 to ${max}`),
    v.transform(Number),
    v.maxValue(max, `${name} must be a whole number from 0 to ${max}`),
  )

const EnvSchema = v.object({
  PORT: v.optional(portNumber('PORT')),
  PUBLIC_URL: v.optional(
    v.pipe(
      v.string(),
      v.url('PUBLIC_URL must be an absolute URL such as https://verify.example.com'),
      v.check(
        (url) => !URL.canParse(url) || /^https?:$/.test(new URL(url).protocol),
        'PUBLIC_URL must use http or https',
      ),
    ),
  ),
  TEXTGATE_CONSOLE_ORIGINS: v.optional(
    v.pipe(
      v.string(),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        const entries = dataset.value
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean)
        const bad = entries.filter((entry) => {
          if (!URL.canParse(entry)) return true
          const url = new URL(entry)
          return (
            !/^https?:$/.test(url.protocol) ||
            url.pathname !== '/' ||
            url.search !== '' ||
            url.hash !== '' ||
            url.username !== '' ||
            url.password !== ''
          )
        })
        if (bad.length > 0) {
          addIssue({
            message: `TEXTGATE_CONSOLE_ORIGINS: ${bad.map((b) => `"${b}"`).join(', ')} is not an origin such as https://console.example.internal:8443 (scheme, host and port only)`,
          })
          return NEVER
        }
        return entries.map((entry) => new URL(entry).origin)
      }),
    ),
  ),
  DATABASE_URL: v.optional(
    v.pipe(
      v.string(),
      v.check((url) => {
        try {
          parseDatabaseUrl(url)
          return true
        } catch {
          return false
        }
      }, 'DATABASE_URL must be postgres://…, postgresql://…, sqlite:PATH or sqlite::memory:'),
    ),
  ),
  TEXTGATE_SECRET: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (secret) => Buffer.byteLength(secret, 'utf8') >= MIN_SECRET_BYTES,
        `TEXTGATE_SECRET must be at least ${MIN_SECRET_BYTES} bytes (try: openssl rand -base64 48)`,
      ),
    ),
  ),
  NODE_ENV: v.optional(v.string()),
  LOG_LEVEL: v.optional(
    v.picklist(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    ),
  ),
  TEXTGATE_DATA_DIR: v.optional(v.pipe(v.string(), v.minLength(1))),
  TEXTGATE_RETENTION_DAYS: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'TEXTGATE_RETENTION_DAYS must be a whole number of days'),
      v.transform(Number),
      v.minValue(1, 'TEXTGATE_RETENTION_DAYS must be 1 to 3650'),
      v.maxValue(3650, 'TEXTGATE_RETENTION_DAYS must be 1 to 3650'),
    ),
  ),
  TRUST_PROXY: v.optional(
    v.pipe(
      v.string(),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        try {
          return trustedProxies(dataset.value)
        } catch (error) {
          addIssue({ message: (error as Error).message })
          return NEVER
        }
      }),
    ),
  ),
  HOST: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (host) => ipaddr.isValid(host) || /^[A-Za-z0-9.-]{1,253}$/.test(host),
        'HOST must be an address to listen on, such as 127.0.0.1, ::1, 0.0.0.0 or ::',
      ),
    ),
  ),
  REDIS_URL: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (url) => URL.canParse(url) && /^rediss?:$/.test(new URL(url).protocol),
        'REDIS_URL must be redis://host:port[/db] or rediss://… (TLS)',
      ),
    ),
  ),
  TEXTGATE_ROUTES_FILE: v.optional(v.pipe(v.string(), v.minLength(1))),
  TEXTGATE_OUTBOX_CLAIM_MS: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'TEXTGATE_OUTBOX_CLAIM_MS must be a whole number of milliseconds'),
      v.transform(Number),
      v.minValue(1_000, 'TEXTGATE_OUTBOX_CLAIM_MS must be at least 1000'),
    ),
  ),
  TEXTGATE_WEBHOOK_CLAIM_MS: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'TEXTGATE_WEBHOOK_CLAIM_MS must be a whole number of milliseconds'),
      v.transform(Number),
      v.minValue(1_000, 'TEXTGATE_WEBHOOK_CLAIM_MS must be at least 1000'),
    ),
  ),
  TEXTGATE_WEBHOOK_NETWORKS: v.optional(
    v.pipe(
      v.string(),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        try {
          return parseWebhookRanges(dataset.value)
        } catch (error) {
          addIssue({ message: `TEXTGATE_WEBHOOK_NETWORKS: ${(error as Error).message}` })
          return NEVER
        }
      }),
    ),
  ),
  METRICS_TOKEN: v.optional(
    v.pipe(
      v.string(),
      v.minLength(16, 'METRICS_TOKEN must be at least 16 characters'),
      v.regex(/^[\x21-\x7e]+$/, 'METRICS_TOKEN must be printable ASCII without spaces'),
    ),
  ),
  METRICS_PORT: v.optional(portNumber('METRICS_PORT')),
  TEXTGATE_POSTGRES_PREPARED: v.optional(
    v.picklist(['on', 'off'], 'TEXTGATE_POSTGRES_PREPARED must be on or off'),
  ),
  TEXTGATE_SQLITE_WRITER: v.optional(
    v.picklist(['thread', 'inline'], 'TEXTGATE_SQLITE_WRITER must be thread or inline'),
  ),
  TEXTGATE_SQLITE_WRITER_NICE: v.optional(wholeNumberUpTo('TEXTGATE_SQLITE_WRITER_NICE', 19)),
  TEXTGATE_HEAP_GROWING_PERCENT: v.optional(wholeNumberUpTo('TEXTGATE_HEAP_GROWING_PERCENT', 1000)),
  TEXTGATE_OUTBOX_WINDOW: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'TEXTGATE_OUTBOX_WINDOW must be a whole number of texts'),
      v.transform(Number),
      v.minValue(1, 'TEXTGATE_OUTBOX_WINDOW must be at least 1'),
      v.maxValue(256, 'TEXTGATE_OUTBOX_WINDOW must be at most 256'),
    ),
  ),
})

export interface LoadConfigOptions {
  /** Called with a warning to show the operator (e.g. a generated secret). */
  warn?: (message: string) => void
}

/**
 * Reads and checks the settings. Throws {@link ConfigError} listing every bad value.
 * @example
 * const config = loadConfig(process.env)
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  { warn = () => {} }: LoadConfigOptions = {},
): Config {
  // An empty variable means "unset", as most shells and .env files intend.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
  const parsed = v.safeParse(EnvSchema, present)
  if (!parsed.success) {
    throw new ConfigError(parsed.issues.map((issue) => issue.message))
  }
  const settings = parsed.output
  const production = settings.NODE_ENV === 'production'
  const port = settings.PORT ?? 8787
  const dataDir = resolve(settings.TEXTGATE_DATA_DIR ?? './data')
  // WHATWG URL origin and path without a trailing slash (@textgate/shared's normaliseIssuer, as
  // verifyPhoneToken reads the store's issuer): tokens' iss and the console's origin.
  const publicUrl = normaliseIssuer(settings.PUBLIC_URL ?? `http://localhost:${port}`)
  if (settings.PUBLIC_URL && publicUrl !== settings.PUBLIC_URL.replace(/\/+$/, '')) {
    warn(
      `PUBLIC_URL is read as ${publicUrl} (lower-case host, no default port, no trailing slash): tokens name it as their issuer.`,
    )
  }
  const databaseUrl = settings.DATABASE_URL ?? `sqlite:${dataDir}/textgate.db`

  let secret = settings.TEXTGATE_SECRET
  let secretSource: Config['secretSource'] = 'environment'
  if (!secret) {
    if (production) {
      throw new ConfigError([
        'TEXTGATE_SECRET is required in production (at least 32 bytes; try: openssl rand -base64 48)',
      ])
    }
    const file = resolve(dataDir, 'secret')
    if (existsSync(file)) {
      secret = readFileSync(file, 'utf8').trim()
      secretSource = 'file'
    } else {
      secret = randomBytes(48).toString('base64url')
      try {
        makePrivateFolder(dirname(file), 'the generated secret (TEXTGATE_DATA_DIR)')
      } catch (error) {
        throw new ConfigError([(error as Error).message])
      }
      writeFileSync(file, `${secret}\n`, { mode: 0o600 })
      chmodSync(file, 0o600)
      secretSource = 'generated'
      warn(
        `TEXTGATE_SECRET is not set: generated one into ${file}. Set TEXTGATE_SECRET in production.`,
      )
    }
    if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
      throw new ConfigError([`the secret in ${file} is shorter than ${MIN_SECRET_BYTES} bytes`])
    }
  }

  let routing: RoutingConfig | undefined
  if (settings.TEXTGATE_ROUTES_FILE) {
    try {
      routing = loadRoutingFile(resolve(settings.TEXTGATE_ROUTES_FILE), env)
    } catch (error) {
      if (!(error instanceof RoutingConfigError)) throw error
      throw new ConfigError(
        error.problems.map((problem) => `TEXTGATE_ROUTES_FILE (${error.source}): ${problem}`),
      )
    }
  }

  return {
    port,
    publicUrl,
    consoleOrigins: settings.TEXTGATE_CONSOLE_ORIGINS ?? [],
    consoleLoopback: !settings.PUBLIC_URL || !production,
    databaseUrl,
    secret,
    secretSource,
    production,
    logLevel: settings.LOG_LEVEL ?? (production ? 'info' : 'info'),
    dataDir,
    retentionDays: settings.TEXTGATE_RETENTION_DAYS ?? 30,
    trustedProxies: settings.TRUST_PROXY ?? NO_TRUSTED_PROXIES,
    host: settings.HOST,
    redisUrl: settings.REDIS_URL,
    routing,
    outboxClaimMs: settings.TEXTGATE_OUTBOX_CLAIM_MS ?? 30_000,
    outboxWindow: settings.TEXTGATE_OUTBOX_WINDOW ?? DEFAULT_OUTBOX_WINDOW,
    postgresPrepared: settings.TEXTGATE_POSTGRES_PREPARED !== 'off',
    sqliteWriterThread: settings.TEXTGATE_SQLITE_WRITER !== 'inline',
    sqliteWriterNice: settings.TEXTGATE_SQLITE_WRITER_NICE ?? DEFAULT_WRITER_NICE,
    heapGrowingPercent: settings.TEXTGATE_HEAP_GROWING_PERCENT ?? DEFAULT_HEAP_GROWING_PERCENT,
    webhookClaimMs: settings.TEXTGATE_WEBHOOK_CLAIM_MS ?? 60_000,
    webhookNetworks: {
      ranges: settings.TEXTGATE_WEBHOOK_NETWORKS ?? NO_WEBHOOK_NETWORKS.ranges,
      testLoopback: isDevelopmentServer(publicUrl, production),
    },
    metricsToken: settings.METRICS_TOKEN,
    metricsPort: settings.METRICS_PORT,
  }
}
