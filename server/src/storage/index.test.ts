import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { sql } from 'kysely'
import pg from 'pg'
import { describe, expect, it, vi } from 'vitest'
import { createTestStorage, DIALECTS, type TestStorage } from '../../testing/storage'
import {
  migrateToLatest,
  openStorage,
  parseDatabaseUrl,
  type Storage,
  scrubSqliteFreeSpace,
} from './index'
import { migrations } from './migrations'

/** A minimal project row, to leave something in a leased database. */
const projectRow = (id: string) => ({
  id,
  name: 'x',
  allowed_origins: '[]',
  allowed_countries: null,
  brand: 'x',
  code_length: 6,
  created_at: 1,
})

describe('DATABASE_URL', () => {
  it('reads every documented form', () => {
    expect(parseDatabaseUrl('postgres://u@h:5432/db')).toEqual({
      dialect: 'postgres',
      connectionString: 'postgres://u@h:5432/db',
    })
    expect(parseDatabaseUrl('postgresql://h/db').dialect).toBe('postgres')
    expect(parseDatabaseUrl('sqlite:./data/x.db')).toEqual({
      dialect: 'sqlite',
      path: './data/x.db',
    })
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' })
    expect(() => parseDatabaseUrl('mysql://h/db')).toThrow(/must start with/)
    expect(() => parseDatabaseUrl('sqlite:')).toThrow(/needs a path/)
  })

  it('opens a SQLite file in WAL mode, creating its folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-storage-'))
    const storage = openStorage(`sqlite:${dir}/nested/textgate.db`)
    await migrateToLatest(storage)
    const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(storage.db)
    expect(rows[0]?.journal_mode).toBe('wal')
    await storage.close()
  })

  it('zeroes what its writes remove, and rewrites once, when asked, a file written before that was so', async () => {
    const NUMBER = '+447400123456'
    const dir = mkdtempSync(join(tmpdir(), 'tg-storage-'))
    const path = join(dir, 'textgate.db')
    const holdsNumber = () =>
      [path, `${path}-wal`].some(
        (file) => existsSync(file) && readFileSync(file).toString('latin1').includes(NUMBER),
      )
    /** A row holding the number, then deleted, as an earlier version did (no `secure_delete`). */
    const writeAndDelete = (table: string) => {
      const raw = new SqliteDatabase(path)
      raw.pragma('secure_delete = OFF')
      raw.exec(`create table if not exists ${table} (id integer primary key, phone text)`)
      raw.prepare(`insert into ${table} (phone) values (?), ('+15550000000')`).run(NUMBER)
      raw.prepare(`delete from ${table} where phone = ?`).run(NUMBER)
      raw.pragma('wal_checkpoint(TRUNCATE)')
      raw.close()
    }

    const version = async (storage: Storage) =>
      (await sql<{ user_version: number }>`pragma user_version`.execute(storage.db)).rows[0]
        ?.user_version
    // A new file is marked as it is created: nothing was ever deleted in it.
    const created = openStorage(`sqlite:${path}`)
    await migrateToLatest(created)
    expect(await version(created)).toBe(1)
    await created.close()

    // A file an earlier version wrote (unmarked), where a deleted row's bytes stayed in the
    // page's free space. Starting does not rewrite it (a large file would hold the start up).
    const older = new SqliteDatabase(path)
    older.pragma('user_version = 0')
    older.close()
    writeAndDelete('before')
    expect(holdsNumber()).toBe(true)
    const storage = openStorage(`sqlite:${path}`)
    await migrateToLatest(storage)
    expect(await version(storage)).toBe(0)
    expect(holdsNumber()).toBe(true)
    // Asked to (an erasure asks), it is rewritten once and marked.
    await scrubSqliteFreeSpace(storage.db)
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(storage.db)
    expect(holdsNumber()).toBe(false)
    expect(await version(storage)).toBe(1)
    // Its own writes zero what they remove: nothing to rewrite.
    await sql`create table probe (id integer primary key, phone text)`.execute(storage.db)
    await sql`insert into probe (phone) values (${NUMBER}), ('+15550000000')`.execute(storage.db)
    await sql`delete from probe where phone = ${NUMBER}`.execute(storage.db)
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(storage.db)
    expect(holdsNumber()).toBe(false)
    await storage.close()

    // Once marked, it is not rewritten again (a remnant planted behind its back stays).
    writeAndDelete('planted')
    const again = openStorage(`sqlite:${path}`)
    await migrateToLatest(again)
    await scrubSqliteFreeSpace(again.db)
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(again.db)
    expect(holdsNumber()).toBe(true)
    await again.close()
  })
})

for (const dialect of DIALECTS) {
  describe(`storage (${dialect})`, () => {
    it('applies every listed migration once, and is idempotent', async () => {
      const storage = await createTestStorage(dialect)
      try {
        expect(await migrateToLatest(storage)).toEqual([])
        const tables = (await storage.db.introspection.getTables()).map((t) => t.name)
        for (const table of [
          'projects',
          'api_keys',
          'verifications',
          'messages',
          'outbox',
          'signing_keys',
        ]) {
          expect(tables).toContain(table)
        }
        expect(Object.keys(migrations).every((name) => /^\d{8}T\d{6}-[a-z0-9-]+$/.test(name))).toBe(
          true,
        )
      } finally {
        await storage.dispose()
      }
    })

    it('hands each suite an empty database with every table, whatever the last suite did', async () => {
      const tablesOf = async (storage: TestStorage) =>
        (await storage.db.introspection.getTables()).map((t) => t.name).sort()
      const rowsIn = async (storage: TestStorage, tables: string[]) => {
        let rows = 0
        for (const table of tables.filter((t) => !t.startsWith('kysely_'))) {
          const result = await sql<{
            n: number | string
          }>`select count(*) as n from ${sql.table(table)}`.execute(storage.db)
          rows += Number(result.rows[0]?.n)
        }
        return rows
      }
      // On PostgreSQL the next lease is usually this very database (the lowest free slot).
      const first = await createTestStorage(dialect)
      const tables = await tablesOf(first)
      try {
        expect(tables).toContain('audit_log')
        expect(await rowsIn(first, tables)).toBe(0)
        await first.db.insertInto('projects').values(projectRow('prj_dirty')).execute()
        await sql`insert into audit_log (id, project_id, seq, at, actor_type, actor_label, action, prev_hash, hash)
          values ('aud_1', 'prj_dirty', 1, 1, 'system', 'x', 'x', 'x', 'x')`.execute(first.db)
        await first.db.schema.dropTable('fraud_list_entries').execute()
        expect(await rowsIn(first, await tablesOf(first))).toBeGreaterThan(0)
      } finally {
        await first.dispose()
      }
      const second = await createTestStorage(dialect)
      try {
        expect(await tablesOf(second)).toEqual(tables)
        expect(await rowsIn(second, tables)).toBe(0)
      } finally {
        await second.dispose()
      }
    })

    it('gives suites open at once databases of their own', async () => {
      const storages = await Promise.all([1, 2, 3].map(() => createTestStorage(dialect)))
      try {
        await storages[0]?.db.insertInto('projects').values(projectRow('prj_mine')).execute()
        for (const other of storages.slice(1)) {
          expect(await other.db.selectFrom('projects').selectAll().execute()).toEqual([])
        }
      } finally {
        await Promise.all(storages.map((storage) => storage.dispose()))
      }
    })

    it('round-trips epoch milliseconds as numbers', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const at = Date.parse('2026-11-25T12:34:56.789Z')
        await storage.db
          .insertInto('projects')
          .values({
            id: 'prj_x',
            name: 'x',
            allowed_origins: '[]',
            allowed_countries: null,
            brand: 'x',
            code_length: 6,
            created_at: at,
          })
          .execute()
        const row = await storage.db.selectFrom('projects').selectAll().executeTakeFirstOrThrow()
        expect(row.created_at).toBe(at)
        expect(typeof row.created_at).toBe('number')
      } finally {
        await storage.dispose()
      }
    })
  })
}

describe.runIf(DIALECTS.includes('postgres'))('PostgreSQL connection wait', () => {
  it('fails a query that waits past connectionWaitMs for a connection, and serves one that waits less', async () => {
    const leased = await createTestStorage('postgres')
    const storage = openStorage(leased.url, { poolSize: 1, connectionWaitMs: 1_000 })
    try {
      const holdFor = (ms: number) =>
        storage.db.connection().execute(async (db) => {
          await sql`select 1`.execute(db)
          await new Promise((resolve) => setTimeout(resolve, ms))
        })
      // The pool's one connection is busy for 2.5 s: a query waiting for it gives up at 1 s.
      const holding = holdFor(2_500)
      await new Promise((resolve) => setTimeout(resolve, 50))
      const started = Date.now()
      await expect(sql`select 2`.execute(storage.db)).rejects.toThrow(
        /timeout exceeded when trying to connect/,
      )
      expect(Date.now() - started).toBeLessThan(2_000)
      await holding
      // Busy for 0.1 s only: the waiting query gets the connection.
      const short = holdFor(100)
      await new Promise((resolve) => setTimeout(resolve, 20))
      const { rows } = await sql<{ n: number }>`select 3 as n`.execute(storage.db)
      expect(rows[0]?.n).toBe(3)
      await short
    } finally {
      await storage.close()
      await leased.dispose()
    }
  })
})

describe.runIf(DIALECTS.includes('postgres'))('PostgreSQL test database leases', () => {
  it('give a database back with no connection of the suite left on it', async () => {
    const leased = await createTestStorage('postgres')
    // A connection of the suite's own that is still open when it disposes its storage (as a
    // pool's connections are for a moment after its end() resolves).
    const straggler = new pg.Client({ connectionString: leased.url })
    const errors: unknown[] = []
    straggler.on('error', (error) => errors.push(error))
    await straggler.connect()
    const admin = new pg.Client({ connectionString: process.env.TEXTGATE_TEST_POSTGRES_URL })
    await admin.connect()
    try {
      const name = new URL(leased.url).pathname.slice(1)
      await leased.dispose()
      // The next lease may drop the database at once: nothing of this suite may be on it then
      // (the helper's own warm connections, idle, are named for it).
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name NOT LIKE 'textgate-test-warm-%'",
        [name],
      )
      expect(rows[0]?.n).toBe(0)
      // The straggler met its end here, in its own suite.
      // (PostgreSQL's FATAL 57P01, or the socket's end when it is read first.)
      await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0))
    } finally {
      await admin.end()
      await straggler.end().catch(() => {})
    }
  })

  it("keep a database's connections warm for the next suite, each session reset", async () => {
    const admin = new pg.Client({ connectionString: process.env.TEXTGATE_TEST_POSTGRES_URL })
    await admin.connect()
    try {
      const leased = await createTestStorage('postgres')
      const name = new URL(leased.url).pathname.slice(1)
      // A session lock and a setting, left on one of the suite's connections.
      const pid = await leased.db.connection().execute(async (connection) => {
        await sql`select pg_advisory_lock(734211)`.execute(connection)
        await sql`set statement_timeout = '1234ms'`.execute(connection)
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(
          connection,
        )
        return rows[0]?.pid ?? 0
      })
      await leased.dispose()
      // Still open and idle, named as this process's warm pool, its session reset last.
      const { rows } = await admin.query<{ application: string; state: string; query: string }>(
        `SELECT application_name AS application, state, query FROM pg_stat_activity
          WHERE pid = $1 AND datname = $2`,
        [pid, name],
      )
      expect(rows).toEqual([
        {
          application: `textgate-test-warm-${process.pid}`,
          state: 'idle',
          query: 'SELECT pg_advisory_unlock_all(); UNLISTEN *; RESET ALL; DISCARD TEMP',
        },
      ])
      const { rows: locks } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 734211",
      )
      expect(locks[0]?.n).toBe(0)
    } finally {
      await admin.end()
    }
  })
})
