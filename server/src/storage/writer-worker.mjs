/**
 * The SQLite writer's thread (started by `writer-thread.ts`): its own connection to the database
 * file runs batches of write statements, each batch one transaction, off the serving thread.
 * The serving thread sends a batch only while it holds its own connection between
 * transactions, so the two connections never meet at SQLite's write lock. Plain JavaScript, so
 * it loads the same under tsx, vitest and the packed build (which copies it beside the CLI).
 *
 * Messages in: `{ id, statements, counted? }`, then `'stop'`. A statement is `[sql, parameters]`, or
 * `[number, parameters, sql]` the first time the serving thread sends that SQL, and
 * `[number, parameters]` after (the text crosses once). Out: `'ready'`, then
 * `{ id, commits }` once a batch is committed (with `changes`, the rows each statement changed,
 * when the batch was sent `counted`) or `{ id, commits, error: { name, message, code } }` once it
 * is rolled back (`commits`: the transactions the thread has committed so far).
 *
 * Batches that queued up while the thread was busy share one transaction, each in its own
 * savepoint: a batch that fails is rolled back alone, as if it had been a transaction of its own,
 * and the others commit. A commit is the dearest statement here (it writes every page the
 * transaction dirtied to the WAL, and pages shared by the batches once), so under load the
 * thread commits less often, not more.
 * @module
 */
import { setPriority } from 'node:os'
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

/** @type {{ path: string, cacheKib: number, autocheckpoint: number, busyTimeoutMs: number, nice: number }} */
const { path, cacheKib, autocheckpoint, busyTimeoutMs, nice } = workerData
// This thread's own priority (Linux only: see WRITER_NICE in writer-thread.ts). Raising a nice
// value needs no privilege; should it fail, the thread runs as it is.
if (nice) {
  try {
    setPriority(0, nice)
  } catch {}
}
/** Prepared statements kept, by SQL text (the hot path writes a few dozen distinct ones). */
const STATEMENT_CACHE_SIZE = 200
/** Queued batches one transaction takes at most (a bound on the wait of the first). */
const BATCHES_PER_COMMIT = 32

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort)
const db = new Database(path, { fileMustExist: true, timeout: busyTimeoutMs })
// The serving connection's settings, so a write here means what it means there.
db.pragma('synchronous = NORMAL')
db.pragma('foreign_keys = ON')
// As the serving connection: what this connection's writes remove is zeroed where it lay.
db.pragma('secure_delete = ON')
db.pragma(`cache_size = -${cacheKib}`)
db.pragma(`wal_autocheckpoint = ${autocheckpoint}`)
// The originals of the pages a transaction's savepoints and multi-row statements change (kept to
// roll one batch or statement back alone) stay in memory: by default SQLite spills them into a
// new temporary file past 64 KiB, which a batch of counters or of starts passes (a file created,
// written and deleted about 15 times a second at 1,000 starts a second). This connection runs
// only the hot path's writes, no large sorts, so what it keeps is a transaction's worth.
db.pragma('temp_store = MEMORY')

/** @type {Map<string, import('better-sqlite3').Statement>} */
const statements = new Map()
/** @param {string} sql */
function prepared(sql) {
  let statement = statements.get(sql)
  if (statement) return statement
  if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear()
  statement = db.prepare(sql)
  statements.set(sql, statement)
  return statement
}

/** Byte values arrive as plain Uint8Arrays (structured clone): bound as they would be as Buffers. */
const bindable = (value) =>
  value instanceof Uint8Array && !Buffer.isBuffer(value)
    ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    : value

const begin = db.prepare('begin immediate')
const commit = db.prepare('commit')
const rollback = db.prepare('rollback')
const savepoint = db.prepare('savepoint batch')
const release = db.prepare('release batch')
const rollbackToSavepoint = db.prepare('rollback to batch')

/** SQL texts by the number the serving thread gave them. */
/** @type {string[]} */
const texts = []
/** Their prepared statements (kept: the serving thread numbers a bounded set of texts). */
/** @type {import('better-sqlite3').Statement[]} */
const numbered = []

/** @typedef {[string, unknown[]] | [number, unknown[], string?]} Statement */

/** @param {Statement} statement */
function statementOf([sqlOrId, , text]) {
  if (typeof sqlOrId === 'string') return prepared(sqlOrId)
  if (text !== undefined) texts[sqlOrId] = text
  let statement = numbered[sqlOrId]
  if (!statement) {
    statement = db.prepare(/** @type {string} */ (texts[sqlOrId]))
    numbered[sqlOrId] = statement
  }
  return statement
}

/**
 * Runs the batch's statements; when `counted`, the rows each one changed.
 * @param {Batch} batch
 * @returns {number[] | undefined}
 */
function run({ statements: batch, counted }) {
  if (!counted) {
    for (const statement of batch) statementOf(statement).run(...statement[1].map(bindable))
    return undefined
  }
  return batch.map((statement) => statementOf(statement).run(...statement[1].map(bindable)).changes)
}

/** One batch, its own transaction. @param {Batch} batch */
function write(batch) {
  begin.run()
  try {
    const changes = run(batch)
    commit.run()
    commits++
    return changes
  } catch (error) {
    if (db.inTransaction) rollback.run()
    throw error
  }
}

/** @typedef {{ id: number, statements: Statement[], counted?: boolean }} Batch */

/** Transactions committed so far, sent with every answer. */
let commits = 0

/** @param {number} id @param {unknown} [error] @param {number[]} [changes] */
function answer(id, error, changes) {
  if (error === undefined) {
    port.postMessage(changes ? { id, commits, changes } : { id, commits })
    return
  }
  const { name, message: text, code } = /** @type {Error & { code?: string }} */ (error)
  port.postMessage({ id, commits, error: { name, message: text, code } })
}

/** @param {Batch} batch */
function writeAlone(batch) {
  const { id } = batch
  try {
    answer(id, undefined, write(batch))
  } catch (error) {
    answer(id, error)
  }
}

/**
 * Several batches in one transaction, each in a savepoint. When the transaction itself fails
 * (an error SQLite answers by rolling everything back, or the commit), nothing of it stays and
 * each batch is run again alone, so every batch gets the answer it would have had alone.
 * @param {Batch[]} batches
 */
function writeTogether(batches) {
  /** @type {Map<number, unknown>} */
  const failed = new Map()
  /** @type {Map<number, number[]>} */
  const changed = new Map()
  try {
    begin.run()
    for (const batch of batches) {
      const { id } = batch
      savepoint.run()
      try {
        const changes = run(batch)
        if (changes) changed.set(id, changes)
        release.run()
      } catch (error) {
        // Throws when SQLite has already rolled the transaction back: then all run alone.
        rollbackToSavepoint.run()
        release.run()
        failed.set(id, error)
      }
    }
    commit.run()
    commits++
  } catch {
    if (db.inTransaction) rollback.run()
    for (const batch of batches) writeAlone(batch)
    return
  }
  for (const { id } of batches) answer(id, failed.get(id), changed.get(id))
}

function stop() {
  db.close()
  port.close()
}

port.on('message', (message) => {
  if (message === 'stop') {
    stop()
    return
  }
  /** @type {Batch[]} */
  const batches = [message]
  let stopping = false
  while (batches.length < BATCHES_PER_COMMIT) {
    const queued = receiveMessageOnPort(port)
    if (!queued) break
    if (queued.message === 'stop') {
      stopping = true
      break
    }
    batches.push(queued.message)
  }
  if (batches.length === 1) writeAlone(message)
  else writeTogether(batches)
  if (stopping) stop()
})
port.postMessage('ready')
