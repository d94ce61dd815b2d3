/**
 * Test helpers: every storage-backed suite loops over {@link DIALECTS} and gets an empty,
 * migrated database per suite from {@link createTestStorage}.
 *
 * PostgreSQL runs when TEXTGATE_TEST_POSTGRES_URL points at a server where the user may
 * create databases (CI sets it to the local server). `DIALECTS=sqlite` or `DIALECTS=postgres`
 * narrows the loop.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Kysely, sql, type Transaction } from 'kysely'
import pg from 'pg'
import {
  type Database,
  type DialectName,
  type KeyMode,
  migrateToLatest,
  openPostgresPool,
  openStorage,
  SQLITE_SCRUBBED_VERSION,
  type Storage,
} from '../src/storage/index'
import { migrations } from '../src/storage/migrations'
import { writerThreadOf } from '../src/storage/writer-thread'

const postgresUrl = process.env.TEXTGATE_TEST_POSTGRES_URL

function selectDialects(): DialectName[] {
  const wanted = (process.env.DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim())
  const available: DialectName[] = postgresUrl ? ['sqlite', 'postgres'] : ['sqlite']
  return available.filter((dialect) => wanted.includes(dialect))
}

export const DIALECTS: DialectName[] = selectDialects()

/** A way the server opens its storage: a dialect, and on SQLite whether a writer thread writes. */
export interface StorageSetup {
  /** For a suite's name: `sqlite`, `postgres`, `sqlite, writer thread`. */
  name: string
  dialect: DialectName
  writerThread: boolean
}

/**
 * {@link DIALECTS}, and SQLite as the server opens it (a file whose hot writes go through the
 * writer thread), for the suites whose code takes a different path there.
 */
export const STORAGE_SETUPS: StorageSetup[] = [
  ...DIALECTS.map((dialect) => ({ name: dialect, dialect, writerThread: false })),
  ...(DIALECTS.includes('sqlite')
    ? [{ name: 'sqlite, writer thread', dialect: 'sqlite' as const, writerThread: true }]
    : []),
]

/** Said once by the suites, so nobody mistakes a SQLite-only run for a full one. */
export const DIALECT_NOTE = postgresUrl
  ? `storage suites run on: ${DIALECTS.join(', ')}`
  : 'storage suites ran on SQLite only: set TEXTGATE_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run PostgreSQL too'

export interface TestStorage extends Storage {
  /** Closes it and, on PostgreSQL, gives the database back to the pool (emptied when next leased). */
  dispose(): Promise<void>
  url: string
}

/**
 * An empty migrated database of `dialect`: SQLite in memory (or in `sqliteFile`), or a PostgreSQL
 * database of its own leased from a pool of clones of one migrated template.
 */
export async function createTestStorage(
  dialect: DialectName,
  {
    sqliteFile,
    writerThread = false,
  }: {
    sqliteFile?: string | undefined
    /**
     * SQLite in a file (`sqliteFile`, or one in a new temporary folder): the hot path's writes
     * go through a writer thread, as the server's do. Without `sqliteFile`, the file may be one
     * an earlier suite gave back (emptied, its threads still running): a suite that needs its
     * own threads to end at dispose passes a file.
     */
    writerThread?: boolean
  } = {},
): Promise<TestStorage> {
  if (dialect === 'sqlite') {
    // A file with a writer thread of its own: one a suite gave back, emptied, when there is one.
    for (let pooled = writerThread && !sqliteFile ? sqliteFilePool.pop() : undefined; pooled; ) {
      // Emptied now rather than when given back: a write its last suite left under way is in.
      if (
        await emptySqliteFile(pooled.storage.db).then(
          () => true,
          () => false,
        )
      ) {
        return poolable(pooled.storage, pooled.url)
      }
      await pooled.storage.close()
      pooled = sqliteFilePool.pop()
    }
    const file =
      sqliteFile ??
      (writerThread ? join(mkdtempSync(join(tmpdir(), 'tg-storage-')), 'textgate.db') : undefined)
    const url = file ? `sqlite:${file}` : 'sqlite::memory:'
    const storage = openStorage(url, { writerThread })
    try {
      await replaySqliteSchema(storage.db)
      // Finds nothing to do when the replay is complete; migrates (and says so by being slow)
      // if a migration was somehow left out.
      await migrateToLatest(storage)
    } catch (error) {
      await storage.close()
      throw error
    }
    if (writerThread && !sqliteFile) return poolable(storage, url)
    return { ...storage, url, dispose: () => storage.close() }
  }
  if (!postgresUrl) throw new Error('TEXTGATE_TEST_POSTGRES_URL is not set')
  const lease = await leasePostgresDatabase()
  try {
    const url = databaseUrl(lease.name).toString()
    const open = () => openStorage(url, { pool: warmPool(lease.name) })
    let storage = open()
    try {
      // The checks run on the suite's own connection, which is then warm for the suite.
      if ((await schemaFingerprint(storage.db)) === lease.fingerprint) {
        await emptyDatabase(storage.db)
      } else {
        await storage.close()
        await endWarmPool(lease.name)
        await lease.recreate()
        storage = open()
      }
      // No migrateToLatest: the template is named by the migrations it holds, and the fingerprint
      // includes the migrations recorded, so the database is at the latest already.
    } catch (error) {
      await storage.close()
      await endWarmPool(lease.name)
      throw error
    }
    return {
      ...storage,
      url,
      dispose: async () => {
        try {
          await storage.close()
          await settleWarmPool(lease.name)
        } finally {
          await lease.release()
        }
      },
    }
  } catch (error) {
    await lease.release()
    throw error
  }
}

/**
 * Each leased PostgreSQL database's pool, kept open from one suite to the next in this process.
 * A new connection costs PostgreSQL about 25 ms of CPU here (a backend forked, its catalog
 * caches filled, then torn down): the unit project used to open some 600 a run, a tenth of the
 * machine's CPU. Named in `pg_stat_activity` so a lease's release tells them from a suite's own
 * connections, which it still closes.
 */
const warmPools = new Map<string, pg.Pool>()
/** The warm pools' connections are named so, with this process's id after it. */
const WARM_APPLICATION = 'textgate-test-warm'
const warmApplication = `${WARM_APPLICATION}-${process.pid}`
/** Idle connections a database's pool keeps between suites. */
const WARM_KEPT = 4

function warmPool(name: string): pg.Pool {
  let pool = warmPools.get(name)
  if (!pool) {
    pool = openPostgresPool(databaseUrl(name).toString(), {
      poolSize: 20,
      applicationName: warmApplication,
      allowExitOnIdle: true,
      onIdleClientError: () => {},
    })
    warmPools.set(name, pool)
  }
  return pool
}

/**
 * Ends a database's warm pool and waits for its connections to be gone (a pool's `end()`
 * resolves before its sockets have closed), so a database dropped next meets none of them.
 */
async function endWarmPool(name: string): Promise<void> {
  const pool = warmPools.get(name)
  if (!pool) return
  warmPools.delete(name)
  await pool.end()
  const admin = await adminSession()
  try {
    await closeConnections(admin, name, warmApplication)
  } finally {
    adminSessionDone()
  }
}

/**
 * Leaves the next suite a pool as a new one would be, only warm: each idle connection's session
 * reset (advisory locks, settings, listens, temporary tables) and at most {@link WARM_KEPT} of
 * them. A suite that still holds a connection, or one that will not reset, ends the whole pool.
 */
async function settleWarmPool(name: string): Promise<void> {
  const pool = warmPools.get(name)
  if (!pool) return
  if (pool.totalCount > pool.idleCount || pool.waitingCount > 0) return endWarmPool(name)
  const clients = await Promise.all(Array.from({ length: pool.idleCount }, () => pool.connect()))
  const reset = await Promise.all(
    clients.map((client) =>
      client.query('SELECT pg_advisory_unlock_all(); UNLISTEN *; RESET ALL; DISCARD TEMP').then(
        () => true,
        () => false,
      ),
    ),
  )
  clients.forEach((client, i) => {
    client.release(!reset[i] || i >= WARM_KEPT)
  })
  if (reset.includes(false)) await endWarmPool(name)
}

/**
 * SQLite files with a writer thread, given back by the suites that used them, emptied for the
 * next suite that asks for one: starting a storage's two threads (the writer and the WAL
 * checkpointer) costs about 130 ms of CPU here, and the unit project opens hundreds.
 */
const sqliteFilePool: { storage: Storage; url: string }[] = []
/** Files kept for reuse at most (each holds two idle threads). */
const SQLITE_FILE_POOL_SIZE = 4

/** `storage` (a SQLite file with a writer thread) whose dispose gives it back to the pool. */
function poolable(storage: Storage, url: string): TestStorage {
  let disposed = false
  return {
    ...storage,
    url,
    dispose: async () => {
      if (disposed) return
      disposed = true
      // Only a file whose thread still runs (a suite may have stopped it); one whose schema a
      // suite changed (a table or a trigger added) is closed when next asked for.
      if (sqliteFilePool.length < SQLITE_FILE_POOL_SIZE && writerThreadOf(storage.db)) {
        sqliteFilePool.push({ storage, url })
      } else await storage.close()
    },
  }
}

/**
 * Deletes every row but the migrations' records, triggers (audit_log refuses deletes) dropped
 * and made again in the same transaction; fails when the schema is not the migrated one.
 */
async function emptySqliteFile(db: Kysely<Database>): Promise<void> {
  const { objects } = await sqliteSchema()
  if ((await sqliteObjects(db)) !== objects) throw new Error('the schema was changed')
  const { rows } = await sql<{ type: string; name: string; sql: string }>`
    SELECT type, name, sql FROM sqlite_master
      WHERE type IN ('table', 'trigger') AND substr(name, 1, 7) <> 'sqlite_'
        AND name NOT IN ('kysely_migration', 'kysely_migration_lock')`.execute(db)
  const triggers = rows.filter((row) => row.type === 'trigger')
  await sql`PRAGMA foreign_keys = OFF`.execute(db)
  try {
    await db.transaction().execute(async (trx) => {
      for (const trigger of triggers) await sql`DROP TRIGGER ${sql.id(trigger.name)}`.execute(trx)
      for (const table of rows.filter((row) => row.type === 'table')) {
        await sql`DELETE FROM ${sql.table(table.name)}`.execute(trx)
      }
      for (const trigger of triggers) await sql.raw(trigger.sql).execute(trx)
    })
  } finally {
    await sql`PRAGMA foreign_keys = ON`.execute(db)
  }
  if ((await sqliteObjects(db)) !== objects) throw new Error('the schema did not come back whole')
}

/**
 * SQLite's template: the schema a migrated database ends with, read from `sqlite_master` in the
 * order its objects were created, with the migration records. Replaying it into an empty
 * database gives the schema the migrations give (table rebuilds included) in a fraction of the
 * time. Built once per test process; the first replay is compared with the template, object
 * by object, and a difference fails the suite.
 */
let sqliteTemplate: Promise<SqliteTemplate> | undefined
let sqliteReplayChecked = false

interface SqliteTemplate {
  ddl: string[]
  migrations: { name: string; timestamp: string }[]
  objects: string
}

const sqliteObjects = async (db: Kysely<Database>) =>
  JSON.stringify(
    (
      await sql<{ type: string; name: string; tbl_name: string; sql: string | null }>`
        SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name`.execute(db)
    ).rows,
  )

function sqliteSchema(): Promise<SqliteTemplate> {
  sqliteTemplate ??= (async () => {
    const template = openStorage('sqlite::memory:')
    try {
      await migrateToLatest(template)
      const { rows } = await sql<{ sql: string }>`
        SELECT sql FROM sqlite_master
          WHERE sql IS NOT NULL AND substr(name, 1, 7) <> 'sqlite_'
          ORDER BY rowid`.execute(template.db)
      const { rows: migrations } = await sql<{ name: string; timestamp: string }>`
        SELECT name, timestamp FROM kysely_migration ORDER BY name`.execute(template.db)
      return {
        ddl: rows.map((row) => row.sql),
        migrations,
        objects: await sqliteObjects(template.db),
      }
    } finally {
      await template.close()
    }
  })()
  return sqliteTemplate
}

async function replaySqliteSchema(db: Kysely<Database>): Promise<void> {
  const { ddl, migrations, objects } = await sqliteSchema()
  await db.transaction().execute(async (trx) => {
    for (const statement of ddl) await sql.raw(statement).execute(trx)
    for (const migration of migrations) {
      await sql`INSERT INTO kysely_migration (name, timestamp)
        VALUES (${migration.name}, ${migration.timestamp})`.execute(trx)
    }
    await sql`INSERT INTO kysely_migration_lock (id, is_locked)
      VALUES ('migration_lock', 0)`.execute(trx)
  })
  // Built here from nothing, it never held a deleted row: no one-time rewrite at migration.
  await sql.raw(`PRAGMA user_version = ${SQLITE_SCRUBBED_VERSION}`).execute(db)
  if (!sqliteReplayChecked) {
    if ((await sqliteObjects(db)) !== objects) {
      throw new Error('[test storage] the replayed SQLite schema differs from the migrated one')
    }
    sqliteReplayChecked = true
  }
}

const databaseUrl = (name: string) => {
  const url = new URL(postgresUrl ?? '')
  url.pathname = `/${name}`
  return url
}

let template: Promise<string> | undefined

/**
 * A database migrated once, cloned into the pool's databases (CREATE DATABASE … TEMPLATE):
 * cloning is several times faster than migrating. Named by the migrations it holds, so test
 * runs share it until a migration is added; test workers build it under an advisory lock.
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

/**
 * PostgreSQL test databases are leased, not made per test: creating a database from the
 * template and dropping it again cost PostgreSQL two file copies and checkpoints (seconds on a
 * busy machine), while emptying the tables of a leased one takes milliseconds. Slot `n` of a
 * template is the database `<template>_<n>`, held with a session advisory lock for as long as
 * the suite uses it: the lock goes when the suite disposes its storage or its process ends.
 *
 * The next lease empties every table (children before parents) and restarts any sequence. A
 * suite that changed the schema (dropped a table, say) leaves a database whose catalog no longer
 * matches the fingerprint written on it when it was cloned: that one is dropped and cloned anew.
 */
interface PostgresLease {
  name: string
  /** The schema fingerprint of a pristine clone (the database's comment). */
  fingerprint: string | null
  /** Drops the database and clones it from the template again. */
  recreate(): Promise<void>
  release(): Promise<void>
}

async function leasePostgresDatabase(): Promise<PostgresLease> {
  const template = await postgresTemplate()
  const family = Number.parseInt(
    createHash('sha256').update(template).digest('hex').slice(0, 7),
    16,
  )
  const admin = await adminSession()
  let slot = 0
  try {
    for (; ; slot++) {
      // Advisory locks are reentrant within a session: this process's own leases are skipped.
      const key = `${family}:${slot}`
      if (heldSlots.has(key)) continue
      heldSlots.add(key)
      const { rows } = await admin.query<{ leased: boolean }>(
        'SELECT pg_try_advisory_lock($1, $2) AS leased',
        [family, slot],
      )
      if (rows[0]?.leased) break
      heldSlots.delete(key)
    }
    const name = `${template}_${slot}`
    const clone = async () => {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`)
      const storage = openStorage(databaseUrl(name).toString(), { poolSize: 1 })
      try {
        lease.fingerprint = await schemaFingerprint(storage.db)
      } finally {
        await storage.close()
      }
      await admin.query(`COMMENT ON DATABASE ${name} IS '${lease.fingerprint}'`)
    }
    const lease: PostgresLease = {
      name,
      fingerprint: null,
      recreate: async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        await clone()
      },
      release: async () => {
        try {
          await closeConnections(admin, name)
          await admin.query('SELECT pg_advisory_unlock($1, $2)', [family, slot])
        } finally {
          heldSlots.delete(`${family}:${slot}`)
          adminSessionDone()
        }
      },
    }
    const found = await admin.query<{ fingerprint: string | null }>(
      "SELECT shobj_description(oid, 'pg_database') AS fingerprint FROM pg_database WHERE datname = $1",
      [name],
    )
    if (found.rowCount) lease.fingerprint = found.rows[0]?.fingerprint ?? null
    else await clone()
    return lease
  } catch (error) {
    await admin.query('SELECT pg_advisory_unlock($1, $2)', [family, slot]).catch(() => {})
    heldSlots.delete(`${family}:${slot}`)
    adminSessionDone()
    throw error
  }
}

/**
 * Waits for the connections to a database being given back to close (a pg pool's `end()`
 * resolves before its sockets have), then ends any still open. Otherwise the next lease may
 * drop the database under them (`DROP DATABASE … WITH (FORCE)` when a suite changed its schema)
 * and a pool of the suite before, still closing, meets a FATAL error nobody handles (CI saw one
 * from a test's own pool). A suite that leaves a connection open meets it itself instead. The
 * warm pools' connections, idle and reset, are left open; with `application`, only that one's
 * connections are waited for (a warm pool being ended).
 */
async function closeConnections(
  client: pg.Client,
  name: string,
  application?: string,
): Promise<void> {
  // A suite's connections: every one but the warm pools' (or only `application`'s).
  const which = application
    ? { where: 'application_name = $2', value: application }
    : { where: "application_name NOT LIKE $2 || '-%'", value: WARM_APPLICATION }
  const open = async () =>
    (
      await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND ${which.where}`,
        [name, which.value],
      )
    ).rows[0]?.n ?? 0
  const deadline = Date.now() + CLOSING_GRACE_MS
  let terminated = false
  while ((await open()) > 0) {
    // A terminated backend is listed until it has exited: wait for that too, a while longer.
    if (Date.now() >= deadline + (terminated ? CLOSING_GRACE_MS : 0)) {
      if (terminated) return
      terminated = true
      await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND ${which.where}`,
        [name, which.value],
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** How long a database given back may keep connections that are closing. */
const CLOSING_GRACE_MS = 2_000

/** The slots this process holds (`family:slot`). */
const heldSlots = new Set<string>()

/**
 * One administrative connection per test process holds the leases' locks; it closes a moment
 * after the last lease is given back (or with the process, which gives back any lease left).
 */
let admin: { client: Promise<pg.Client>; users: number; idle?: NodeJS.Timeout } | undefined

function adminSession(): Promise<pg.Client> {
  if (!admin) {
    const client = new pg.Client({ connectionString: postgresUrl })
    client.on('error', () => {})
    admin = { client: client.connect().then(() => client), users: 0 }
  }
  clearTimeout(admin.idle)
  admin.users += 1
  return admin.client
}

function adminSessionDone(): void {
  const session = admin
  if (!session) return
  session.users -= 1
  if (session.users > 0) return
  session.idle = setTimeout(() => {
    if (admin !== session || session.users > 0) return
    admin = undefined
    void session.client.then((client) => client.end()).catch(() => {})
  }, 1_000)
  session.idle.unref()
}

/**
 * Everything a test could change besides rows: relations, columns, defaults, constraints,
 * indexes, triggers, functions, migrations. A clone is a file copy of the template, so object
 * ids are the same in every pristine clone and can be compared as they are.
 */
async function schemaFingerprint(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ fingerprint: string }>`
    SELECT md5(coalesce(string_agg(item, ' | ' ORDER BY item), '')) AS fingerprint FROM (
      SELECT concat_ws(' ', 'relation', oid, relname, relkind, relnatts) AS item
        FROM pg_class WHERE relnamespace = 'public'::regnamespace
      UNION ALL SELECT concat_ws(' ', 'column', a.attrelid, a.attnum, a.attname, a.atttypid,
          a.atttypmod, a.attnotnull, a.attisdropped)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0
      UNION ALL SELECT concat_ws(' ', 'default', d.oid, d.adrelid, d.adnum, d.adbin::text)
        FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
        WHERE c.relnamespace = 'public'::regnamespace
      UNION ALL SELECT concat_ws(' ', 'constraint', oid, conname, contype, conrelid, confrelid,
          conbin::text)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
      UNION ALL SELECT concat_ws(' ', 'index', i.indexrelid, i.indrelid, i.indkey::text)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = 'public'::regnamespace
      UNION ALL SELECT concat_ws(' ', 'trigger', t.oid, t.tgname, t.tgfoid, t.tgenabled)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace
      UNION ALL SELECT concat_ws(' ', 'function', oid, proname, md5(prosrc)) FROM pg_proc
        WHERE pronamespace = 'public'::regnamespace
      UNION ALL SELECT concat_ws(' ', 'migration', name) FROM kysely_migration
    ) items`.execute(db)
  return rows[0]?.fingerprint ?? ''
}

/** Deletes every row but the migration records, in one transaction, and restarts sequences. */
async function emptyDatabase(db: Kysely<Database>): Promise<void> {
  const { rows } = await sql<{ name: string; parents: string[] }>`
    SELECT c.relname::text AS name,
        coalesce(array_agg(DISTINCT p.relname::text) FILTER (WHERE p.oid <> c.oid), '{}') AS parents
      FROM pg_class c
      LEFT JOIN pg_constraint f ON f.conrelid = c.oid AND f.contype = 'f'
      LEFT JOIN pg_class p ON p.oid = f.confrelid
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
        AND c.relname NOT IN ('kysely_migration', 'kysely_migration_lock')
      GROUP BY c.relname`.execute(db)
  const { rows: sequences } = await sql<{ name: string }>`
    SELECT relname::text AS name FROM pg_class
      WHERE relnamespace = 'public'::regnamespace AND relkind = 'S'`.execute(db)
  // Triggers that refuse deletes (audit_log is append-only) are off for this transaction only.
  const { rows: guards } = await sql<{ table: string; trigger: string }>`
    SELECT c.relname::text AS table, t.tgname::text AS trigger
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
        AND t.tgenabled <> 'D' AND (t.tgtype & 8) <> 0`.execute(db)
  // Children first, so no foreign key is ever left pointing at a deleted row.
  const order: string[] = []
  const left = new Map(rows.map((row) => [row.name, row.parents]))
  while (left.size > 0) {
    const referenced = new Set([...left.values()].flat())
    const leaves = [...left.keys()].filter((name) => !referenced.has(name))
    if (leaves.length === 0) break
    for (const name of leaves) {
      order.push(name)
      left.delete(name)
    }
  }
  const statements =
    left.size > 0
      ? // A cycle of foreign keys: TRUNCATE handles it, only slower.
        [`TRUNCATE ${rows.map((row) => `"${row.name}"`).join(', ')} CASCADE`]
      : order.map((name) => `DELETE FROM "${name}"`)
  const toggle = (on: boolean) =>
    guards.map(
      (guard) =>
        `ALTER TABLE "${guard.table}" ${on ? 'ENABLE' : 'DISABLE'} TRIGGER "${guard.trigger}"`,
    )
  statements.unshift(...toggle(false))
  statements.push(...toggle(true))
  for (const sequence of sequences) statements.push(`ALTER SEQUENCE "${sequence.name}" RESTART`)
  // One round trip: several statements in one simple query run as one transaction.
  await sql.raw(statements.join('; ')).execute(db)
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

/**
 * Runs `body` while counting the transactions opened on `db` (`db.transaction()` calls), for
 * tests that a write takes no transaction of its own. Every transaction opened meanwhile counts,
 * background work's included (a dispatcher started before), unless `ownOnly`: then only those
 * opened from `body`'s own asynchronous context (what it calls and what that schedules), so a
 * timer started before it, such as the fraud counters' flush, cannot land in the count on a
 * slow machine.
 */
export async function countingTransactions<T>(
  db: Kysely<Database>,
  body: () => Promise<T>,
  { ownOnly = false }: { ownOnly?: boolean } = {},
): Promise<{ value: T; transactions: number }> {
  const transaction = db.transaction.bind(db)
  const own = new AsyncLocalStorage<true>()
  let transactions = 0
  db.transaction = () => {
    if (!ownOnly || own.getStore()) transactions++
    return transaction()
  }
  try {
    return { value: await own.run(true, body), transactions }
  } finally {
    db.transaction = transaction
  }
}

/**
 * A webhook endpoint row written straight into the database, as another process (or an operator
 * with SQL) would: no address to resolve, no secret to keep, and no cache of this process told.
 */
export async function insertTestWebhookEndpoint(
  db: Kysely<Database>,
  row: { id: string; projectId: string; now: number; mode?: KeyMode },
): Promise<void> {
  await db
    .insertInto('webhook_endpoints')
    .values({
      id: row.id,
      project_id: row.projectId,
      mode: row.mode ?? 'live',
      url: 'https://hooks.shop.example/textgate',
      description: null,
      events: null,
      disabled_reason: null,
      failing_since: null,
      secret_encrypted: 'x',
      previous_secrets: null,
      created_at: row.now,
      updated_at: row.now,
    })
    .execute()
}
