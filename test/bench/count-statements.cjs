/**
 * A preload that counts what a Textgate server asks of PostgreSQL, per kind of request:
 * statements (each `Client.query`, one network round trip) and pool checkouts
 * (`Pool.connect`, counted with the first statement on the client it hands out). A statement is put down to the HTTP request whose work issued it (through
 * AsyncLocalStorage, so a batch shared by several requests counts once, for the one that
 * started it); statements of no request (dispatcher, housekeeping) count under `(background)`.
 *
 *   node --require ./test/bench/count-statements.cjs …   (or BENCH_NODE_ARGS for `pnpm bench`)
 *
 * On SIGUSR2 (and at exit) it writes a snapshot to COUNT_STATEMENTS_FILE
 * (default test/.tmp/count-statements-<pid>.json) and starts counting afresh: per request kind,
 * how many requests, statements and checkouts, each statement's SQL with its count, and the
 * statements of the last request of each kind in order. start-round-trips.ts drives it.
 */
const { AsyncLocalStorage } = require('node:async_hooks')
const { mkdirSync, writeFileSync } = require('node:fs')
const http = require('node:http')
const { dirname, join } = require('node:path')

const ROOT = join(__dirname, '../..')
const pg = require(require.resolve('pg', { paths: [join(ROOT, 'server')] }))
const FILE =
  process.env.COUNT_STATEMENTS_FILE ??
  join(ROOT, 'test/.tmp', `count-statements-${process.pid}.json`)

const request = new AsyncLocalStorage()
/** `POST /v1/verifications/ver_x/check` → `POST /v1/verifications/:id/check`. */
const kindOf = (method, url) =>
  `${method} ${(url ?? '').split('?')[0].replace(/\/[a-z]{3}_[A-Za-z0-9]+/g, '/:id')}`

let kinds = new Map()
function kindStats(kind) {
  let stats = kinds.get(kind)
  if (!stats) {
    stats = { requests: 0, statements: 0, checkouts: 0, sql: new Map(), last: [] }
    kinds.set(kind, stats)
  }
  return stats
}

const emit = http.Server.prototype.emit
http.Server.prototype.emit = function countedEmit(event, req, ...rest) {
  if (event !== 'request') return emit.call(this, event, req, ...rest)
  const kind = kindOf(req.method, req.url)
  const current = { kind, statements: [] }
  kindStats(kind).requests += 1
  return request.run(current, () => {
    rest[0]?.once('finish', () => {
      kindStats(kind).last = current.statements
    })
    return emit.call(this, event, req, ...rest)
  })
}

const normalise = (text) => String(text).replace(/\s+/g, ' ').trim().slice(0, 240)

/**
 * A request that nudged the outbox dispatcher (or a webhook loop) lends its async context to
 * that loop, which keeps it for every round after: statements whose stack runs through the
 * loops, the dispatcher or the carriers are theirs, not the request's.
 */
const BACKGROUND =
  /[\\/]src[\\/](polling|outbox[\\/](dispatcher|send|claim|status)|carriers|webhooks|delivery[\\/](reports|parts|early))/

function fromBackground() {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 200
  const { stack = '' } = new Error()
  Error.stackTraceLimit = limit
  return BACKGROUND.test(stack)
}

const query = pg.Client.prototype.query
pg.Client.prototype.query = function countedQuery(config, ...rest) {
  const text = typeof config === 'string' ? config : config?.text
  if (text !== undefined) {
    let current = request.getStore()
    if (current && fromBackground()) current = undefined
    const stats = kindStats(current ? current.kind : '(background)')
    stats.statements += 1
    if (this[CHECKED_OUT]) {
      this[CHECKED_OUT] = false
      stats.checkouts += 1
    }
    const sql = normalise(text)
    stats.sql.set(sql, (stats.sql.get(sql) ?? 0) + 1)
    current?.statements.push(sql)
  }
  return query.call(this, config, ...rest)
}

// A checkout counts for whoever runs the first statement on the client it hands out.
const CHECKED_OUT = Symbol('checked out')
const connect = pg.Pool.prototype.connect
pg.Pool.prototype.connect = function countedConnect(...args) {
  const checkout = connect.apply(this, args)
  checkout?.then?.(
    (client) => {
      client[CHECKED_OUT] = true
    },
    () => {},
  )
  return checkout
}

function snapshot() {
  const out = {}
  for (const [kind, stats] of kinds) {
    out[kind] = {
      requests: stats.requests,
      statements: stats.statements,
      checkouts: stats.checkouts,
      sql: Object.fromEntries([...stats.sql].sort((a, b) => b[1] - a[1])),
      last: stats.last,
    }
  }
  mkdirSync(dirname(FILE), { recursive: true })
  writeFileSync(FILE, JSON.stringify(out, null, 2))
  kinds = new Map()
}

process.on('SIGUSR2', snapshot)
process.on('exit', snapshot)
