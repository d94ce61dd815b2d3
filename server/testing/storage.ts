/**
 * Test helpers: every storage-backed suite loops over {@link DIALECTS} and gets a fresh,
 * migrated database per suite from {@link createTestStorage}.
 *
 * PostgreSQL runs when TEXTGATE_TEST_POSTGRES_URL points at a server where the user may
 * create databases (CI sets it to the local server). `DIALECTS=sqlite` or `DIALECTS=postgres`
 * narrows the loop.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import pg from 'pg'
import {
  type Database,
  type DialectName,
  type KeyMode,
  migrateToLatest,
  openStorage,
  type Storage,
} from '../src/storage/index'
import { migrations } from '../src/storage/migrations'

const postgresUrl = process.env.TEXTGATE_TEST_POSTGRES_URL

function selectDialects(): DialectName[] {
  const wanted = (process.env.DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim())
  const available: DialectName[] = postgresUrl ? ['sqlite', 'postgres'] : ['sqlite']
  return available.filter((dialect) => wanted.includes(dialect))
}

export const DIALECTS: DialectName[] = selectDialects()

/** Said once by the suites, so nobody mistakes a SQLite-only run for a full one. */
export const DIALECT_NOTE = postgresUrl
  ? `storage suites run on: ${DIALECTS.join(', ')}`
  : 'storage suites ran on SQLite only: set TEXTGATE_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run PostgreSQL too'

export interface TestStorage extends Storage {
  /** Closes and, on PostgreSQL, drops the database. */
  dispose(): Promise<void>
  url: string
}

/** A fresh migrated database of `dialect` (SQLite in memory, or a new PostgreSQL database). */
export async function createTestStorage(
  dialect: DialectName,
  { sqliteFile }: { sqliteFile?: string | undefined } = {},
): Promise<TestStorage> {
  if (dialect === 'sqlite') {
    const url = sqliteFile ? `sqlite:${sqliteFile}` : 'sqlite::memory:'
    const storage = openStorage(url)
    await migrateToLatest(storage)
    return { ...storage, url, dispose: () => storage.close() }
  }
  if (!postgresUrl) throw new Error('TEXTGATE_TEST_POSTGRES_URL is not set')
  const name = `textgate_test_${randomBytes(6).toString('hex')}`
  const template = await postgresTemplate()
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`))
  const url = databaseUrl(name)
  // Dropping the database ends its connections: expected, so not reported.
  const storage = openStorage(url.toString(), { poolSize: 20, onIdleClientError: () => {} })
  await migrateToLatest(storage)
  return {
    ...storage,
    url: url.toString(),
    dispose: async () => {
      await storage.close()
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    },
  }
}

const databaseUrl = (name: string) => {
  const url = new URL(postgresUrl ?? '')
  url.pathname = `/${name}`
  return url
}

let template: Promise<string> | undefined

/**
 * A database migrated once, copied for each test (CREATE DATABASE … TEMPLATE): copying is
 * several times faster than migrating. Named by the migrations it holds, so test runs share it
 * until a migration is added; test workers build it under an advisory lock. Each copy is still
 * migrated to the latest, which finds nothing to do.
 */
function postgresTemplate(): Promise<string> {
  template ??= (async () => {
    const digest = createHash('sha256').update(Object.keys(migrations).join(',')).digest('hex')
    const name = `textgate_template_${digest.slice(0, 16)}`
    await withAdmin(async (admin) => {
      await admin.query('SELECT pg_advisory_lock(7312001)')
      try {
        const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
        if (found.rowCount) return
        const building = `${name}_${randomBytes(4).toString('hex')}`
        await admin.query(`CREATE DATABASE ${building}`)
        const storage = openStorage(databaseUrl(building).toString(), { poolSize: 1 })
        try {
          await migrateToLatest(storage)
        } finally {
          await storage.close()
        }
        await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`)
      } finally {
        await admin.query('SELECT pg_advisory_unlock(7312001)')
      }
    })
    return name
  })()
  return template
}

async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

/**
 * A pending verification row (no real code: its HMAC is a placeholder) for tests and benchmarks
 * that need one to hang messages and outbox rows on. Its code expires 10 minutes after `now`.
 */
export async function insertTestVerification(
  db: Kysely<Database> | Transaction<Database>,
  row: { id: string; projectId: string; phone: string; now: number; mode?: KeyMode },
): Promise<void> {
  await db
    .insertInto('verifications')
    .values({
      id: row.id,
      project_id: row.projectId,
      mode: row.mode ?? 'live',
      phone: row.phone,
      country: 'GB',
      channel: 'sms',
      locale: null,
      status: 'pending',
      code_hmac: 'x',
      code_length: 6,
      consent_version: 'v1',
      consent_at: row.now,
      origin: null,
      ip: null,
      created_at: row.now,
      expires_at: row.now + 600_000,
      resend_after: row.now + 30_000,
      approved_at: null,
    })
    .execute()
}
