/**
 * SQLite writes off the serving thread. better-sqlite3 is synchronous: a start's inserts and
 * their commit (a quarter of a start's time on the serving thread, the commit the dearest part)
 * stop the event loop while they run. Batches of plain write statements (the starts' rows of a
 * turn, see ./batched-transactions.ts) go instead to a worker thread with its own connection to
 * the file (`writer-worker.mjs`), each batch one transaction there, while the serving thread
 * goes on with other requests.
 *
 * The serving connection is held (as any caller holds it, in turn) from the moment a batch is
 * sent until it is committed (batches that come meanwhile share that hold while nobody else
 * waits for the connection), so the two connections never write at once: no SQLITE_BUSY, no
 * transaction that reads and then writes meets the other's lock, and the WAL checkpointer's
 * quiet moments stay quiet. A write answered has been committed, so whatever reads next on the
 * serving connection sees it (WAL: each read transaction sees every commit before it began).
 * @module
 */
import { Worker } from 'node:worker_threads'
import type { Kysely } from 'kysely'
import { InFlight, WaitingById } from '../in-flight'
import type { Database } from './schema'
import { awaitThreadEnd } from './thread-end'

/** One write statement: its SQL and its parameters (SQLite's `?` in order). */
export type WriteStatement = readonly [sql: string, parameters: readonly unknown[]]

export interface WriterThread {
  /**
   * Runs `statements` as one transaction on the thread. Resolves once committed; rejects with
   * SQLite's error (its `code` kept, e.g. SQLITE_CONSTRAINT_UNIQUE) once rolled back.
   */
  write(statements: readonly WriteStatement[]): Promise<void>
  /** {@link write}, answering how many rows each statement changed (SQLite's `changes()`). */
  writeCounted(statements: readonly WriteStatement[]): Promise<number[]>
  /** False once the thread has failed or stopped: writes then go through the serving connection. */
  readonly running: boolean
  /**
   * Transactions the thread has committed. Batches that queue up while it is busy share one
   * (see `writer-worker.mjs`), so under load this grows slower than the batches written.
   */
  readonly commits: number
  /** Waits for the writes under way, then ends the thread. */
  stop(): Promise<void>
}

export interface WriterThreadOptions {
  /** The database file (already created and in WAL mode). */
  path: string
  /** Runs work holding the serving connection (see `quietSqliteDialect`'s `exclusive`). */
  exclusive: <T>(work: () => Promise<T>) => Promise<T>
  /**
   * How many callers wait for the serving connection (`quietSqliteDialect`'s `waiting`). While
   * nobody else does, a batch joins the hold of the batches under way instead of waiting for
   * their answers; without it, every batch takes the connection for itself.
   */
  waiting?: () => number
  /** The thread's `wal_autocheckpoint`: 0 while a checkpoint thread copies the WAL. */
  autocheckpoint: number
  /** Page cache of the thread's connection, KiB. */
  cacheKib: number
  /** Called once if the thread fails (stderr by default). */
  onError?: (error: Error) => void
  /** The thread's file (`writer-worker.mjs` beside this one); tests give one that fails. */
  workerUrl?: URL
  /** Its nice value on Linux (see {@link DEFAULT_WRITER_NICE}); 0: the serving thread's. */
  nice?: number
}

/** A SQLite error from the thread: the same name, message and code as on this one. */
class SqliteWriteError extends Error {
  constructor(
    name: string,
    message: string,
    readonly code: string | undefined,
  ) {
    super(message)
    this.name = name
  }
}

/**
 * A statement as it crosses to the thread: its SQL text, or the number the text was given (with
 * the text itself the first time).
 */
type NumberedStatement =
  | readonly [sql: string, parameters: readonly unknown[]]
  | readonly [id: number, parameters: readonly unknown[], sql?: string]

/** SQL texts numbered at most (the hot path writes a few dozen distinct ones). */
const MAX_STATEMENT_IDS = 1_000

/** A thread that has not ended this long after being asked to is terminated. */
const STOP_TIMEOUT_MS = 5_000

const writers = new WeakMap<object, WriterThread>()

/** The writer thread serving `db`, when it has one that runs (see {@link startWriterThread}). */
export function writerThreadOf(db: object): WriterThread | undefined {
  const writer = writers.get(db)
  return writer?.running ? writer : undefined
}

/**
 * The writer thread's nice value on Linux (TEXTGATE_SQLITE_WRITER_NICE), where it is a thread's
 * own (elsewhere it would be the whole process's, so it is left alone there). Its commits are not the bottleneck, the serving
 * thread is: waking up for a batch, a thread at the serving thread's priority often takes that
 * thread's core from it mid-request. At 5 the kernel lets the serving thread run on and gives
 * the writer the other core or the serving thread's waits (paired `pnpm bench` rows, start on
 * SQLite: 1.06 and 1.06 the median of three rounds niced after not, 0.97 not after niced, 0.98
 * the same code twice).
 */
export const DEFAULT_WRITER_NICE = 5

/** Makes `writer` the one {@link writerThreadOf} answers for `db`. */
export function attachWriterThread(db: Kysely<Database>, writer: WriterThread): void {
  writers.set(db, writer)
}

/**
 * Starts the writer thread for the SQLite file at `path`. It does not keep the process alive.
 * @example
 * const { dialect, exclusive } = quietSqliteDialect({ database: sqlite })
 * const writer = startWriterThread({ path, exclusive, autocheckpoint: 0, cacheKib: 32768 })
 * await writer.write([['insert into outbox (id, state) values (?, ?)', [id, 'pending']]])
 */
export function startWriterThread({
  path,
  exclusive,
  waiting = () => Number.POSITIVE_INFINITY,
  autocheckpoint,
  cacheKib,
  onError = (error) => process.stderr.write(`${error.message}\n`),
  workerUrl = new URL('./writer-worker.mjs', import.meta.url),
  nice = DEFAULT_WRITER_NICE,
}: WriterThreadOptions): WriterThread {
  const worker = new Worker(workerUrl, {
    workerData: {
      path,
      cacheKib,
      autocheckpoint,
      busyTimeoutMs: 5_000,
      nice: process.platform === 'linux' ? nice : 0,
    },
    // Neither tsx nor a preload the process was started with belongs in this plain thread.
    execArgv: [],
  })
  let state: 'running' | 'stopping' | 'ended' = 'running'
  let commits = 0
  /** Batches sent, by the number their answer comes back with. */
  const pending = new WaitingById<{
    resolve(changes: number[] | undefined): void
    reject(error: Error): void
  }>()
  /** Writes sent or waiting for the serving connection. */
  const underWay = new InFlight()
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()))

  const fail = (error: Error) => {
    if (state === 'ended') return
    const stopping = state === 'stopping'
    state = 'ended'
    const failure = new Error(
      `[textgate] [storage] the SQLite writer thread failed: ${error.message}`,
      {
        cause: error,
      },
    )
    for (const { reject } of pending.takeAll()) reject(failure)
    if (!stopping)
      onError(new Error(`${failure.message}; writes go through the serving connection`))
  }

  worker.on(
    'message',
    (
      message:
        | 'ready'
        | {
            id: number
            commits?: number
            changes?: number[]
            error?: { name: string; message: string; code?: string }
          },
    ) => {
      if (message === 'ready') return
      commits = Math.max(commits, message.commits ?? 0)
      const waiting = pending.take(message.id)
      if (!waiting) return
      if (message.error) {
        const { name, message: text, code } = message.error
        waiting.reject(new SqliteWriteError(name, text, code))
      } else waiting.resolve(message.changes)
    },
  )
  worker.unref()
  worker.on('error', fail)
  worker.once('exit', (code) => {
    if (state === 'stopping' && code === 0) state = 'ended'
    else fail(new Error(`the thread ended (exit code ${code})`))
  })

  /**
   * SQL texts the thread has been sent, by the number they go by after that: a statement's text
   * crosses to the thread once, with its first use, and then only its number does (a start's
   * statements are a few thousand characters of SQL, copied on every message otherwise).
   */
  const statementIds = new Map<string, number>()
  const numbered = (statements: readonly WriteStatement[]) =>
    statements.map(([sql, parameters]): NumberedStatement => {
      const known = statementIds.get(sql)
      if (known !== undefined) return [known, parameters]
      // Past the bound (SQL made per call somewhere), texts go as they are.
      if (statementIds.size >= MAX_STATEMENT_IDS) return [sql, parameters]
      const id = statementIds.size
      statementIds.set(sql, id)
      return [id, parameters, sql]
    })

  const send = (statements: readonly WriteStatement[], counted: boolean) =>
    new Promise<number[] | undefined>((resolve, reject) => {
      if (state !== 'running') {
        reject(new Error('[textgate] [storage] the SQLite writer thread is not running'))
        return
      }
      const id = pending.add({ resolve, reject })
      // Referenced while a batch is out, so the process waits for its answer.
      if (pending.size === 1) worker.ref()
      worker.postMessage(
        counted
          ? { id, statements: numbered(statements), counted }
          : { id, statements: numbered(statements) },
      )
    }).finally(() => {
      if (pending.size === 0) worker.unref()
    })

  /**
   * The hold of the serving connection that the batches under way share. A batch that comes
   * while one is in the thread (or waits for the connection) and nobody else waits for it is
   * sent as soon as the hold has the connection, behind the others (the thread runs them in
   * order, each its own transaction), instead of waiting for their answers and then for the
   * connection: one hop between threads less in its wait. The hold ends when its last batch is
   * answered; once another caller waits, a new batch queues behind that caller.
   */
  interface Hold {
    batches: number
    /** In the connection's waiting line (it was held when the hold asked for it)… */
    queued: boolean
    /** …until it has it. */
    granted: boolean
    ready: Promise<void>
    end(): void
  }
  let hold: Hold | undefined

  function newHold(): Hold {
    let grant = () => {}
    const created: Hold = {
      batches: 0,
      queued: false,
      granted: false,
      ready: new Promise<void>((resolve) => {
        grant = resolve
      }),
      end: () => {},
    }
    const before = waiting()
    // (exclusive asks for the connection before it first awaits: a waiting line one longer
    // now means this hold is in it.)
    void exclusive(
      () =>
        new Promise<void>((end) => {
          created.granted = true
          created.end = end
          grant()
        }),
    )
    created.queued = waiting() > before
    return created
  }

  function enqueue(statements: readonly WriteStatement[], counted: boolean) {
    // Callers waiting for the connection, but for the hold itself when it waits in line.
    const others = waiting() - (hold?.queued && !hold.granted ? 1 : 0)
    if (!hold || others > 0) hold = newHold()
    const current = hold
    current.batches++
    const write = current.ready.then(() => send(statements, counted))
    const answered = () => {
      if (--current.batches > 0) return
      if (hold === current) hold = undefined
      current.end()
    }
    write.then(answered, answered)
    return underWay.track(write)
  }

  const writer: WriterThread = {
    write(statements) {
      if (statements.length === 0) return Promise.resolve()
      // Answered with no changes (undefined): not counted.
      return enqueue(statements, false) as Promise<unknown> as Promise<void>
    },
    async writeCounted(statements) {
      if (statements.length === 0) return []
      const changes = await enqueue(statements, true)
      if (changes?.length !== statements.length) {
        throw new Error('[textgate] [storage] the SQLite writer thread did not count the changes')
      }
      return changes
    },
    get running() {
      return state === 'running'
    },
    get commits() {
      return commits
    },
    async stop() {
      while (underWay.size > 0) await underWay.settled()
      if (state === 'running') {
        state = 'stopping'
        worker.postMessage('stop')
      }
      await awaitThreadEnd(worker, ended, STOP_TIMEOUT_MS)
    },
  }
  return writer
}
