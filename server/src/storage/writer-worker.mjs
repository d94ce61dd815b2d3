/**
 * The SQLite writer's thread (started by `writer-thread.ts`): its own connection to the database
 * file runs batches of write statements, each batch one transaction, off the serving thread.
 * The serving thread sends a batch only while it holds its own connection between
 * transactions, so the two connections never meet at SQLite's write lock. Plain JavaScript, so
 * it loads the same under tsx, vitest and the packed build (which copies it beside the CLI).
 *
 * Messages in: `{ id, statements: [sql, parameters][] }`, then `'stop'`. Out: `'ready'`, then
 * `{ id }` once a batch is committed or `{ id, error: { name, message, code } }` once it is
 * rolled back.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

/** @type {{ path: string, cacheKib: number, autocheckpoint: number, busyTimeoutMs: number }} */
const { path, cacheKib, autocheckpoint, busyTimeoutMs } = workerData
/** Prepared statements kept, by SQL text (the hot path writes a few dozen distinct ones). */
const STATEMENT_CACHE_SIZE = 200

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort)
const db = new Database(path, { fileMustExist: true, timeout: busyTimeoutMs })
// The serving connection's settings, so a write here means what it means there.
db.pragma('synchronous = NORMAL')
db.pragma('foreign_keys = ON')
db.pragma(`cache_size = -${cacheKib}`)
db.pragma(`wal_autocheckpoint = ${autocheckpoint}`)

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

/** @param {[string, unknown[]][]} batch */
function write(batch) {
  begin.run()
  try {
    for (const [sql, parameters] of batch) prepared(sql).run(...parameters.map(bindable))
    commit.run()
  } catch (error) {
    if (db.inTransaction) rollback.run()
    throw error
  }
}

port.on('message', (message) => {
  if (message === 'stop') {
    db.close()
    port.close()
    return
  }
  const { id, statements: batch } = message
  try {
    write(batch)
    port.postMessage({ id })
  } catch (error) {
    const { name, message: text, code } = /** @type {Error & { code?: string }} */ (error)
    port.postMessage({ id, error: { name, message: text, code } })
  }
})
port.postMessage('ready')
