/**
 * The WAL checkpointer's thread (started by `checkpointer.ts`): its own connection to the
 * database file copies committed WAL frames into the database off the serving thread. Plain
 * JavaScript, so it loads the same under tsx, vitest and the packed build (which copies it
 * beside the bundled CLI).
 *
 * Only PASSIVE checkpoints run while the serving connection may be inside a transaction: the
 * other modes hold the WAL's write lock, and a transaction that read first and then writes
 * fails at once with SQLITE_BUSY when it meets that lock (no busy timeout applies to it), or
 * with SQLITE_BUSY_SNAPSHOT after a TRUNCATE.
 *
 * SQLite starts the WAL over at a write that finds every frame copied, so under steady writes a
 * thread that copies behind them never lets it start over. Once the WAL holds `resetFrames`
 * frames, the thread copies pass after pass, for up to RESTART_WAIT_MS of its own time: a pass
 * that copies the last frames between two commits lets the next commit start the WAL over, and
 * nobody waits.
 * When that does not happen in time (writes faster than the copying, a reader elsewhere), it
 * asks for a quiet moment (the main thread holds its connection between transactions) and
 * catches up then; the next write starts the WAL over. A WAL file grown past `truncateBytes` (a
 * long reader held it) is truncated in a quiet moment. An error other than a passing lock ends
 * the thread: the serving connection then checkpoints inside its commits again.
 * @module
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

/** @type {{ path: string, intervalMs: number, resetFrames: number, truncateBytes: number, busyTimeoutMs: number }} */
const { path, intervalMs, resetFrames, truncateBytes, busyTimeoutMs } = workerData
/**
 * How long the thread copies pass after pass, once the WAL is due to start over, for a commit to
 * start it over with nobody stopped: it takes a pause between commits longer than a pass. Under
 * 1,000 starts a second evenly paced (two commits a start) that took 24-47 ms here, where a
 * quiet moment stopped every statement for 3-16 ms, every 1.5 s. Past this a quiet moment, as
 * often as their backoff allows. Writes back to back leave no such pause: the first wait is a
 * quarter of this, each that ends in a quiet moment halves the next one (down to
 * MIN_RESTART_WAIT_MS) and each that does not doubles it, so a saturated server neither spends a
 * core on waits that cannot succeed nor lets its WAL grow long past `resetFrames` meanwhile.
 */
const RESTART_WAIT_MS = 100
const MIN_RESTART_WAIT_MS = 5
/** What one pass of a wait counts for at most (one with nothing to copy took 0.03 ms here). */
const PASS_MS = 1
/** Quiet moments that did not let the WAL start over (a reader elsewhere) are spaced up to this. */
const MAX_QUIET_BACKOFF_MS = 5_000
/** A lock held by another process can last; past this many ticks in a row it is an error. */
const MAX_LOCKED_TICKS = 100

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort)
const db = new Database(path, { fileMustExist: true, timeout: busyTimeoutMs })
// The serving connection's setting: checkpoints sync the WAL and the database file either way.
db.pragma('synchronous = NORMAL')

/** @param {'PASSIVE' | 'TRUNCATE'} mode */
function checkpoint(mode) {
  const [result] = /** @type {{ busy: number, log: number, checkpointed: number }[]} */ (
    db.pragma(`wal_checkpoint(${mode})`)
  )
  if (!result) throw new Error(`wal_checkpoint(${mode}) returned nothing`)
  return result
}

function walBytes() {
  try {
    return statSync(`${path}-wal`).size
  } catch {
    return 0
  }
}

/**
 * The two salts in the WAL file's header (bytes 16-23): SQLite draws new ones each time the WAL
 * starts over. Empty when there is no header.
 */
function walSalts() {
  let fd
  try {
    fd = openSync(`${path}-wal`, 'r')
    const salts = Buffer.alloc(8)
    return readSync(fd, salts, 0, 8, 16) === 8 ? salts.toString('hex') : ''
  } catch {
    return ''
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

let waitingForQuiet = false
let lockedTicks = 0
let quietBackoffMs = 0
let nextQuietAt = 0
/** The WAL's salts when the last quiet moment ended (null: none since it last started over). */
let saltsAfterQuiet = null
/** How long the next wait for a commit to start the WAL over may last (see RESTART_WAIT_MS). */
let restartWaitMs = RESTART_WAIT_MS / 4
/** The WAL's frames at the last pass of the tick before. */
let lastLog = -1

/**
 * No frame came since the pass that found `before` frames, and all are copied.
 * @param {{ busy: number, log: number, checkpointed: number }} result
 * @param {number} before
 */
function isCaughtUp({ busy, log, checkpointed }, before) {
  return busy === 0 && log === before && checkpointed === log
}

function tick() {
  try {
    let result = checkpoint('PASSIVE')
    // A result counts the frames there were when the pass began: the WAL is caught up once a
    // pass finds no more than the one before it did and copied them all (no write came
    // meanwhile: the next one starts the WAL over).
    let caughtUp = isCaughtUp(result, lastLog)
    let restarted = false
    if (unreset(result) && !caughtUp && !waitingForQuiet && Date.now() >= nextQuietAt) {
      // Writes are coming: pass after pass until one of them starts the WAL over, or time is up.
      const salts = walSalts()
      // The wait counts the time the thread had: a pass that took long (the thread was not
      // running, as on a machine busier than its cores) counts as PASS_MS, up to four times
      // the wait in all.
      const started = performance.now()
      let spent = 0
      for (let at = started; !restarted && spent < restartWaitMs; ) {
        const next = checkpoint('PASSIVE')
        caughtUp = isCaughtUp(next, result.log)
        result = next
        restarted = walSalts() !== salts
        const now = performance.now()
        spent = Math.max(spent + Math.min(now - at, PASS_MS), (now - started) / 4)
        at = now
      }
      restartWaitMs = restarted
        ? Math.min(2 * restartWaitMs, RESTART_WAIT_MS)
        : Math.max(restartWaitMs / 2, MIN_RESTART_WAIT_MS)
    }
    lastLog = result.log
    lockedTicks = 0
    if (restarted || (saltsAfterQuiet !== null && walSalts() !== saltsAfterQuiet)) {
      // The WAL started over (after the last quiet moment, or with none): the next quiet moment
      // may come as soon as needed.
      saltsAfterQuiet = null
      quietBackoffMs = 0
      nextQuietAt = 0
    }
    const wanted = (unreset(result) && !caughtUp && !restarted) || walBytes() > truncateBytes
    if (wanted && !waitingForQuiet && Date.now() >= nextQuietAt) {
      waitingForQuiet = true
      port.postMessage('quiet')
    }
  } catch (error) {
    const code = /** @type {{ code?: unknown }} */ (error).code
    const locked = typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)
    if (!locked || ++lockedTicks > MAX_LOCKED_TICKS) throw error
  }
}

/**
 * The WAL has not started over for `resetFrames` frames (another process's checkpoint under
 * way, `busy`, says nothing).
 * @param {{ busy: number, log: number }} result
 */
function unreset({ busy, log }) {
  return busy === 0 && log >= resetFrames
}

/** The serving connection is between transactions and starts none until 'done'. */
function whileQuiet() {
  try {
    const truncate = walBytes() > truncateBytes
    const result = checkpoint(truncate ? 'TRUNCATE' : 'PASSIVE')
    saltsAfterQuiet = walSalts()
    if (truncate && result.busy) quietBackoffMs = Math.max(quietBackoffMs, MAX_QUIET_BACKOFF_MS)
    else quietBackoffMs = Math.min(Math.max(2 * quietBackoffMs, intervalMs), MAX_QUIET_BACKOFF_MS)
    nextQuietAt = Date.now() + quietBackoffMs
  } finally {
    waitingForQuiet = false
    port.postMessage('done')
  }
}

const timer = setInterval(tick, intervalMs)
port.postMessage('ready')

port.on('message', (message) => {
  if (message === 'go') whileQuiet()
  if (message !== 'stop') return
  clearInterval(timer)
  try {
    checkpoint('PASSIVE')
  } finally {
    db.close()
    port.close()
  }
})
