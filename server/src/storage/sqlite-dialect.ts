/**
 * Kysely's SQLite dialect with the lock on its one connection kept here rather than inside
 * Kysely: the connection is still lent to one caller at a time, first come first served, and
 * `quiet(work)` also takes it between two callers, ahead of everyone waiting. Kysely's own lock
 * lets a caller that comes straight back take the connection again before the waiters wake, so
 * a waiter like any other could wait for as long as transactions run back to back.
 * @module
 */
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  type TransactionSettings,
} from 'kysely'

export interface QuietSqliteDialect {
  dialect: Dialect
  /**
   * Runs `work` while no transaction is open on the connection and none starts: after the
   * current caller gives the connection back and before anyone waiting gets it.
   */
  quiet(work: () => Promise<void>): Promise<void>
  /**
   * Runs `work` holding the connection as a caller like any other (in turn, behind those
   * waiting): for writes made on another connection to the same file (the writer thread), so
   * they never meet this connection's transactions at SQLite's write lock.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T>
  /** How many callers wait for the connection. */
  waiting(): number
}

/**
 * @example
 * const { dialect, quiet } = quietSqliteDialect({ database: new Database('app.db') })
 * const db = new Kysely<Database>({ dialect })
 * await quiet(async () => checkpointElsewhere())
 */
export function quietSqliteDialect(config: SqliteDialectConfig): QuietSqliteDialect {
  const sqlite = new SqliteDialect(config)
  const lock = new ConnectionLock()
  const dialect: Dialect = {
    createDriver: () => new LockedDriver(sqlite.createDriver(), lock),
    createQueryCompiler: () => sqlite.createQueryCompiler(),
    // Kysely takes no lock of its own for a dialect that says it has several connections.
    createAdapter: () => new LockedConnectionAdapter(),
    createIntrospector: (db) => sqlite.createIntrospector(db),
  }
  return {
    dialect,
    async quiet(work) {
      await lock.acquire({ first: true })
      try {
        await work()
      } finally {
        lock.release()
      }
    },
    async exclusive(work) {
      await lock.acquire()
      try {
        return await work()
      } finally {
        lock.release()
      }
    },
    waiting: () => lock.waiting,
  }
}

class LockedConnectionAdapter extends SqliteAdapter {
  override get supportsMultipleConnections(): boolean {
    return true
  }
}

/** One holder at a time; waiters get it in the order they came, `first` ones before the rest. */
class ConnectionLock {
  #held = false
  #waiting: (() => void)[] = []

  get waiting(): number {
    return this.#waiting.length
  }

  acquire({ first = false } = {}): Promise<void> {
    if (!this.#held) {
      this.#held = true
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      if (first) this.#waiting.unshift(resolve)
      else this.#waiting.push(resolve)
    })
  }

  release(): void {
    const next = this.#waiting.shift()
    // Handed straight to the next waiter: nobody can slip in between.
    if (next) next()
    else this.#held = false
  }
}

class LockedDriver implements Driver {
  readonly #driver: Driver
  readonly #lock: ConnectionLock

  constructor(driver: Driver, lock: ConnectionLock) {
    this.#driver = driver
    this.#lock = lock
  }

  init(): Promise<void> {
    return this.#driver.init()
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#lock.acquire()
    try {
      return await this.#driver.acquireConnection()
    } catch (error) {
      this.#lock.release()
      throw error
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#driver.releaseConnection(connection)
    } finally {
      this.#lock.release()
    }
  }

  /**
   * `begin immediate`: the transaction takes the file's write lock at its start, waiting for it
   * as long as `busy_timeout` allows, as the writer thread's do. Every transaction here writes,
   * and most read first (the audit chain's last entry, a key's row): begun deferred, one whose
   * snapshot another connection wrote past before its first write (the CLI beside a running
   * server, or servers sharing a file) failed at once with "database is locked"
   * (SQLITE_BUSY_SNAPSHOT), which no wait can mend.
   */
  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings) {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#driver.commitTransaction(connection)
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#driver.rollbackTransaction(connection)
  }

  savepoint: Driver['savepoint'] = (...args) => this.#driver.savepoint!(...args)
  rollbackToSavepoint: Driver['rollbackToSavepoint'] = (...args) =>
    this.#driver.rollbackToSavepoint!(...args)
  releaseSavepoint: Driver['releaseSavepoint'] = (...args) =>
    this.#driver.releaseSavepoint!(...args)

  destroy(): Promise<void> {
    return this.#driver.destroy()
  }
}
