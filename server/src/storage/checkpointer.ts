/**
 * WAL checkpoints off the serving thread. better-sqlite3 is synchronous, and SQLite's automatic
 * checkpoint runs inside whichever commit takes the WAL past 1000 pages: that commit copies the
 * pages into the database file and syncs it while the event loop stands still (tens of ms).
 * Here a worker thread with its own connection checkpoints (`checkpoint-worker.mjs` says how),
 * and the serving connection's automatic checkpoint is off from the moment the thread has its
 * connection until it ends.
 * @module
 */
import { Worker } from 'node:worker_threads'
import type { Database as SqliteConnection } from 'better-sqlite3'
import { awaitThreadEnd } from './thread-end'

export interface WalCheckpointerOptions {
  /** How often the thread checkpoints (ms). */
  intervalMs?: number
  /** WAL frames (pages) past which the thread makes sure the WAL starts over. */
  resetFrames?: number
  /** A WAL file larger than this is truncated when it can be (bytes). */
  truncateBytes?: number
  /** How long a TRUNCATE checkpoint waits for readers in other processes (ms). */
  busyTimeoutMs?: number
  /** Called once if the thread fails (stderr by default); checkpoints are then back inside commits. */
  onError?: (error: Error) => void
}

export interface WalCheckpointer {
  /** Stops the thread after a last checkpoint; resolves once it has ended. */
  stop(): Promise<void>
  /** Quiet moments the serving connection was lent for so far (each stops every statement). */
  readonly quietMoments: number
}

/** SQLite's own default, restored when the thread fails. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000
/**
 * WAL frames past which the thread makes the WAL start over, in a quiet moment: every caller's
 * statements wait for it (3–18 ms here: it copies the last frames and syncs the database file).
 * At SQLite's 1,000, a server taking 400 starts a second evenly paced stopped for one 2.5 times
 * a second; at 10,000, at 600 starts a second (about 20 frames each), once every 0.7 s, and the
 * starts it held were one in a hundred: the whole p99 of latency at that rate. At 30,000 (a WAL
 * file of about 120 MB at 4 KiB pages) once every 2–3 s. (Under writes faster than the thread
 * copies, the WAL file outgrows it, and is truncated past `truncateBytes` when it can be.)
 */
const RESET_FRAMES = 30 * SQLITE_AUTOCHECKPOINT_PAGES
/** A thread that has not ended this long after being asked to is terminated. */
const STOP_TIMEOUT_MS = 5_000
/** The serving connection is lent to a quiet moment for at most this long. */
const QUIET_TIMEOUT_MS = 1_000

const reportToStderr = (error: Error) => process.stderr.write(`${error.message}\n`)

/**
 * Checkpoints the SQLite file at `path` (in WAL mode) on a worker thread and turns off
 * `sqlite`'s automatic checkpoint while it runs. `quiet` runs a callback while the serving
 * connection is between transactions and lets none start (see `quietSqliteDialect`). The
 * thread does not keep the process alive.
 * @example
 * const { dialect, quiet } = quietSqliteDialect({ database: sqlite })
 * const db = new Kysely<Database>({ dialect })
 * const checkpointer = startWalCheckpointer({ sqlite, path: './data/textgate.db', quiet })
 * // …
 * await db.destroy()
 * await checkpointer.stop()
 */
export function startWalCheckpointer(
  {
    sqlite,
    path,
    quiet,
  }: {
    sqlite: SqliteConnection
    path: string
    quiet: (work: () => Promise<void>) => Promise<void>
  },
  {
    intervalMs = 100,
    resetFrames = RESET_FRAMES,
    truncateBytes = 256 * 1024 * 1024,
    busyTimeoutMs = 10,
    onError = reportToStderr,
  }: WalCheckpointerOptions = {},
): WalCheckpointer {
  let worker: Worker
  try {
    worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), {
      workerData: { path, intervalMs, resetFrames, truncateBytes, busyTimeoutMs },
      // Neither tsx nor a preload the process was started with (a benchmark's probe) belongs in
      // this plain JavaScript thread.
      execArgv: [],
    })
  } catch (error) {
    // No thread (none can be started here): SQLite's own checkpoints, which were never off.
    onError(
      new Error(
        `[textgate] [storage] the WAL checkpoint thread did not start, checkpoints stay inside commits: ${(error as Error).message}`,
        { cause: error },
      ),
    )
    return { stop: async () => {}, quietMoments: 0 }
  }

  let state: 'running' | 'stopping' | 'ended' = 'running'
  /** Ends the quiet moment under way, if any. */
  let endQuiet: (() => void) | undefined
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()))

  const fail = (error: Error) => {
    if (state === 'ended') return
    const stopping = state === 'stopping'
    state = 'ended'
    endQuiet?.()
    if (!stopping && sqlite.open) {
      sqlite.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`)
    }
    const after = stopping ? 'while stopping' : 'and checkpoints are back inside commits'
    onError(
      new Error(
        `[textgate] [storage] the WAL checkpoint thread failed ${after}: ${error.message}`,
        {
          cause: error,
        },
      ),
    )
  }

  let quietMoments = 0
  const lendConnection = () =>
    quiet(async () => {
      if (state !== 'running') return
      quietMoments++
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, QUIET_TIMEOUT_MS)
        endQuiet = () => {
          clearTimeout(timer)
          resolve()
        }
        worker.postMessage('go')
      })
      endQuiet = undefined
    })

  worker.on('message', (message) => {
    // Until the thread has its connection, commits go on checkpointing as before.
    if (message === 'ready' && state === 'running' && sqlite.open) {
      sqlite.pragma('wal_autocheckpoint = 0')
    }
    if (message === 'done') endQuiet?.()
    if (message === 'quiet') {
      lendConnection().catch((error: unknown) => {
        if (state === 'running') fail(error as Error)
      })
    }
  })
  // After the listeners: adding a 'message' listener refs the thread's port again.
  worker.unref()
  worker.on('error', fail)
  worker.once('exit', (code) => {
    if (state === 'stopping' && code === 0) {
      state = 'ended'
      endQuiet?.()
    } else fail(new Error(`the thread ended (exit code ${code})`))
  })

  return {
    get quietMoments() {
      return quietMoments
    },
    async stop() {
      if (state === 'running') {
        state = 'stopping'
        worker.postMessage('stop')
      }
      await awaitThreadEnd(worker, ended, STOP_TIMEOUT_MS)
    },
  }
}
