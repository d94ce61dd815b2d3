/**
 * Opens the database named by DATABASE_URL (SQLite by default, PostgreSQL to scale out)
 * and runs migrations.
 * @module
 */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import {
  Kysely,
  type SqliteDatabase as KyselySqlite,
  PostgresDialect,
  type PostgresPool,
  sql,
} from 'kysely'
import { Migrator } from 'kysely/migration'
import pg from 'pg'
import { BoundedCache } from '../bounded-cache'
import { makePrivateFolder } from '../private-folder'
import { startWalCheckpointer, type WalCheckpointerOptions } from './checkpointer'
import { migrationProvider, migrations } from './migrations'
import { withNamedStatements } from './postgres-statements'
import type { Database } from './schema'
import { quietSqliteDialect } from './sqlite-dialect'
import { attachWriterThread, startWriterThread, type WriterThread } from './writer-thread'

export type { WalCheckpointerOptions } from './checkpointer'
export type * from './schema'

export type DialectName = 'sqlite' | 'postgres'

export interface Storage {
  db: Kysely<Database>
  dialect: DialectName
  /** Closes every connection. */
  close(): Promise<void>
  /**
   * SQLite with a checkpoint thread: the quiet moments lent to it so far, each of which held
   * every statement of this process while it ran (see ./checkpointer). Absent otherwise.
   */
  quietMoments?: () => number
}

export type DatabaseLocation =
  | { dialect: 'sqlite'; path: string }
  | { dialect: 'postgres'; connectionString: string }

/**
 * Reads a DATABASE_URL: `postgres://…`, `postgresql://…`, `sqlite:PATH` or `sqlite::memory:`.
 * Throws with a readable message for anything else.
 */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', connectionString: url }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length)
    if (path.length === 0) throw new Error('sqlite: needs a path, as in sqlite:./data/textgate.db')
    return { dialect: 'sqlite', path }
  }
  throw new Error('must start with postgres://, postgresql:// or sqlite: (e.g. sqlite:./data/db)')
}

const INT8_OID = 20

export interface OpenStorageOptions {
  /** PostgreSQL: connections in the pool. */
  poolSize?: number
  /**
   * PostgreSQL: how long a query waits for a connection (a new one to open, or one of a full
   * pool to come free) before it fails with an error saying so. Without a bound, a database
   * that stopped answering (a partition, a pool ended under a waiting caller) would hold its
   * callers forever.
   */
  connectionWaitMs?: number
  /**
   * PostgreSQL: inserts run more than once become named (prepared) statements, parsed once per
   * connection (see ./postgres-statements.ts); `false` sends every statement unnamed, for a
   * pooler that cannot keep prepared statements. Default true.
   */
  prepared?: boolean
  /** PostgreSQL: an idle connection was lost (stderr by default). */
  onIdleClientError?: (error: Error) => void
  /**
   * PostgreSQL: run on this pool (opened with {@link openPostgresPool}) instead of opening one;
   * `close()` then leaves it open for its owner to end. For a process that opens its storage
   * more than once on one database and would rather keep its connections warm.
   */
  pool?: pg.Pool
  /**
   * A SQLite file: WAL checkpoints on a worker thread (the default), or with `false` inside
   * whichever commit fills the WAL, as SQLite does by itself (enough for a short command).
   */
  walCheckpointer?: false | WalCheckpointerOptions
  /**
   * A SQLite file: the hot path's batches of inserts (a turn's starts) are written and committed
   * by a thread of their own (see ./writer-thread.ts) instead of the serving thread. Default
   * false (a short command has nothing to gain); the server turns it on.
   */
  writerThread?: boolean
  /** Called once if the writer thread fails (stderr by default); writes then stay on this thread. */
  onWriterError?: (error: Error) => void
  /** The writer thread's file (see ./writer-thread.ts); tests give one that fails. */
  writerWorkerUrl?: URL
  /** The writer thread's nice value on Linux (see ./writer-thread.ts). */
  writerNice?: number
}

/** PostgreSQL: the default for {@link OpenStorageOptions.connectionWaitMs}. */
export const POSTGRES_CONNECTION_WAIT_MS = 10_000

/** The serving connection's page cache, KiB. */
const SQLITE_CACHE_KIB = 32 * 1024

/**
 * A PostgreSQL connection pool as {@link openStorage} opens one: int8 parsed to a number, a
 * bound on the wait for a connection, and a lost idle connection reported rather than thrown.
 * `applicationName` names its connections in `pg_stat_activity`.
 */
export function openPostgresPool(
  connectionString: string,
  options: Pick<OpenStorageOptions, 'poolSize' | 'connectionWaitMs' | 'onIdleClientError'> & {
    applicationName?: string
    /** Idle connections do not keep the process alive. */
    allowExitOnIdle?: boolean
  } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectionWaitMs ?? POSTGRES_CONNECTION_WAIT_MS,
    allowExitOnIdle: options.allowExitOnIdle ?? false,
    application_name: options.applicationName,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  })
  // An idle connection the server dropped (restart, failover) must not crash the process:
  // the pool discards it and opens a new one when needed.
  pool.on(
    'error',
    options.onIdleClientError ??
      ((error) =>
        process.stderr.write(`[textgate] [storage] idle connection lost: ${error.message}\n`)),
  )
  return pool
}

/**
 * Opens a connection pool for `url`. Times are stored as epoch ms in bigint columns, so
 * PostgreSQL's int8 is parsed to a number (safe: ms timestamps stay far below 2^53).
 * @example
 * const storage = openStorage('sqlite::memory:')
 * await migrateToLatest(storage)
 */
export function openStorage(url: string, options: OpenStorageOptions = {}): Storage {
  const location = parseDatabaseUrl(url)
  if (location.dialect === 'postgres') {
    const kept = options.pool
    const pool: PostgresPool = kept
      ? // Its owner ends it: the storage's close() only lets go of it.
        {
          connect: () => kept.connect(),
          end: async () => {},
          Client: pg.Client,
          options: kept.options,
        }
      : openPostgresPool(location.connectionString, options)
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({
        pool: options.prepared === false ? pool : withNamedStatements(pool),
      }),
    })
    return { db, dialect: 'postgres', close: () => db.destroy() }
  }
  if (location.path !== ':memory:') protectDatabaseFile(location.path)
  const sqlite = new SqliteDatabase(location.path)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  // What an update or a delete removes (a number masked, a row deleted, a cell moved) is zeroed
  // where it lay, so erasure needs no rewrite of the whole file (see scrubFreeSpaceOnce).
  sqlite.pragma('secure_delete = ON')
  // 32 MiB of page cache (SQLite's default is 2 MiB): the hot pages of a busy store's tables
  // and indexes stay in memory instead of being read from the file again.
  sqlite.pragma(`cache_size = -${SQLITE_CACHE_KIB}`)
  const { dialect, quiet, exclusive, waiting } = quietSqliteDialect({
    database: withStatementCache(sqlite),
  })
  const db = new Kysely<Database>({ dialect })
  const checkpointer =
    location.path !== ':memory:' && options.walCheckpointer !== false
      ? startWalCheckpointer({ sqlite, path: location.path, quiet }, options.walCheckpointer)
      : undefined
  let writer: WriterThread | undefined
  if (location.path !== ':memory:' && options.writerThread) {
    const onError =
      options.onWriterError ?? ((error: Error) => process.stderr.write(`${error.message}\n`))
    try {
      writer = startWriterThread({
        path: location.path,
        exclusive,
        waiting,
        // With a checkpoint thread, no commit checkpoints, on either connection.
        autocheckpoint: checkpointer ? 0 : 1000,
        cacheKib: SQLITE_CACHE_KIB,
        onError,
        ...(options.writerWorkerUrl ? { workerUrl: options.writerWorkerUrl } : {}),
        ...(options.writerNice !== undefined ? { nice: options.writerNice } : {}),
      })
    } catch (error) {
      // No thread (none can be started here): every write stays on the serving connection.
      onError(
        new Error(
          `[textgate] [storage] the SQLite writer thread did not start, writes stay on the serving thread: ${(error as Error).message}`,
          { cause: error },
        ),
      )
    }
  }
  if (writer) attachWriterThread(db, writer)
  return {
    db,
    dialect: 'sqlite',
    ...(checkpointer ? { quietMoments: () => checkpointer.quietMoments } : {}),
    close: async () => {
      try {
        // First: the writes it has under way are answered; later ones take this connection.
        await writer?.stop()
        await db.destroy()
      } finally {
        // After the serving connection: the last checkpoint then sees every write.
        await checkpointer?.stop()
      }
    },
  }
}

/**
 * The SQLite file holds numbers and addresses: its folder (when we create it) is 0700 and the
 * file 0600, whatever the umask. SQLite gives the WAL and shared-memory files the mode of the
 * database file.
 */
function protectDatabaseFile(path: string): void {
  makePrivateFolder(dirname(path), `the SQLite database sqlite:${path}`)
  closeSync(openSync(path, 'a', 0o600))
  chmodSync(path, 0o600)
  for (const companion of [`${path}-wal`, `${path}-shm`]) {
    if (existsSync(companion)) chmodSync(companion, 0o600)
  }
}

/**
 * Prepared statements kept per connection a generation (up to twice as many); the hot path
 * uses a few dozen.
 */
const STATEMENT_CACHE_SIZE = 250

/**
 * Kysely asks better-sqlite3 to prepare every query anew, which costs as much as running it:
 * keep each prepared statement by its SQL text (in two generations, see BoundedCache: a hit
 * moves nothing, where moving the entry to the end of a Map on every query made old-generation
 * garbage, see ../in-flight). A statement is bound afresh on every run, and the one connection
 * runs one query at a time.
 */
function withStatementCache(sqlite: KyselySqlite): KyselySqlite {
  const statements = new BoundedCache<string, ReturnType<KyselySqlite['prepare']>>(
    STATEMENT_CACHE_SIZE,
  )
  return {
    close: () => sqlite.close(),
    prepare: (sql) => statements.getOrSet(sql, (text) => sqlite.prepare(text)),
  }
}

/** `PRAGMA user_version` of a SQLite file whose free space holds nothing deleted. */
export const SQLITE_SCRUBBED_VERSION = 1

/** The database's address for a message: a PostgreSQL URL without its user and password. */
function databaseLabel(databaseUrl: string): string {
  if (databaseUrl.startsWith('sqlite:')) return databaseUrl
  try {
    const url = new URL(databaseUrl)
    return `${url.protocol}//${url.host}${url.pathname}`
  } catch {
    return 'postgres'
  }
}

/**
 * Asks the database one query, so that one that cannot be reached (down, wrong port, refused
 * login) is named as such rather than as a failed migration.
 */
export async function reachDatabase(storage: Storage, databaseUrl: string): Promise<void> {
  try {
    await sql`select 1`.execute(storage.db)
  } catch (error) {
    // A refused connection to every address of a host is an AggregateError without a message.
    const { message, code } = error as { message?: string; code?: string }
    throw new Error(
      `cannot reach the database at ${databaseLabel(databaseUrl)}: ${message || code || String(error)}`,
      { cause: error },
    )
  }
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(storage: Storage): Promise<string[]> {
  const migrator = new Migrator({ db: storage.db, provider: migrationProvider })
  const { error, results = [] } = await migrator.migrateToLatest()
  const failed = results.find((result) => result.status === 'Error')
  if (error) {
    const name = failed ? ` (${failed.migrationName})` : ''
    throw new Error(`[textgate] [storage] migration failed${name}: ${String(error)}`, {
      cause: error,
    })
  }
  // A SQLite file every migration was applied to just now is new: nothing was ever deleted in
  // it, and every write to it zeroes what it removes (see scrubSqliteFreeSpace).
  if (storage.dialect === 'sqlite' && results.length === Object.keys(migrations).length) {
    await sql.raw(`PRAGMA user_version = ${SQLITE_SCRUBBED_VERSION}`).execute(storage.db)
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/**
 * Rewrites a SQLite file (VACUUM) once, if an earlier version wrote it: every connection now
 * writes with `secure_delete` (see openStorage), so nothing an update or a delete removes stays
 * in the file's free space, but a file written before may hold such remnants (a number masked by
 * an erasure, its old copy left in a page's free space). Marked after, so it never runs again.
 * Erasure calls it: the first one after an upgrade pays the rewrite every erasure used to.
 */
export async function scrubSqliteFreeSpace(db: Kysely<Database>): Promise<void> {
  const { rows } = await sql<{ user_version: number }>`PRAGMA user_version`.execute(db)
  if ((rows[0]?.user_version ?? 0) >= SQLITE_SCRUBBED_VERSION) return
  await sql`VACUUM`.execute(db)
  await sql.raw(`PRAGMA user_version = ${SQLITE_SCRUBBED_VERSION}`).execute(db)
}
