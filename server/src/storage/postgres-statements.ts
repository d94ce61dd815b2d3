/**
 * Named (prepared) statements for the PostgreSQL inserts a server runs again and again.
 * Kysely hands node-postgres each query as text and values, which node-postgres sends unnamed:
 * PostgreSQL then parses and plans the statement anew every time (for the hot path's wide
 * multi-row inserts, more work than running them). A statement whose text this process has run
 * before gets a name made from its text: each connection parses it once, then only binds and
 * executes it. Only plain inserts (see {@link plainInsert}); statements without values
 * (`begin`, `commit`, DDL) and every other statement are left as they are.
 * @module
 */
import { createHash } from 'node:crypto'
import type { PostgresPool, PostgresPoolClient } from 'kysely'
import { BoundedCache } from '../bounded-cache'

/**
 * Texts that get a name: a bound on what each connection keeps prepared (the hot path runs a
 * few dozen; the rest, past the bound, run unnamed as before).
 */
const NAMED_TEXTS = 256
/**
 * Parameters of all named texts together, a bound on the database's memory: a prepared insert
 * keeps about 330 bytes a parameter in its connection's backend (measured on PostgreSQL 15: 50
 * inserts of 1 to 50 rows of 21 columns took 8.4 MiB), so 6,000 keep each connection under
 * about 2 MiB, 24 MiB for a pool of 12. A text over a sixth of it is never named.
 */
const NAMED_PARAMETERS = 6_000

/** Texts seen once, remembered to name them on their second run (two generations). */
const SEEN_ONCE = 1_024

/** The name a text gets: stable for a text, so every connection of the pool agrees. */
const nameOf = (text: string) =>
  `tg_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`

/**
 * Only plain inserts are named: `insert … values …` (with `on conflict`, `returning`) and the
 * row batches' `with "r0" as (insert …) insert …`. PostgreSQL runs a named statement with a
 * generic plan after five runs, made once and kept: for a statement that reads a table, a plan
 * made while the table was nearly empty (a fresh server) goes on scanning it whole as it grows
 * (tried: `outbox` and `messages` read by sequential scans, millions of rows in a 13 s bench
 * row). An insert of values reads no table, so its plan cannot go stale; and the hot path's
 * inserts, wide and multi-row, are what PostgreSQL spends most on parsing and planning.
 */
const PLAIN_INSERT = /^(with "r\d+" as \()?insert into /i
const READS = /\b(select|from|where|join|using)\b/i
const plainInsert = (text: string) => PLAIN_INSERT.test(text) && !READS.test(text)

type QueryConfig = { name?: string; text: string; values?: unknown[] }
type Query = (config: unknown, values?: unknown) => unknown

/**
 * The pool Kysely's PostgresDialect takes, running `pool`'s clients with named statements.
 * @example
 * new Kysely<Database>({ dialect: new PostgresDialect({ pool: withNamedStatements(pool) }) })
 */
export function withNamedStatements(
  pool: PostgresPool,
  { namedTexts = NAMED_TEXTS, namedParameters = NAMED_PARAMETERS } = {},
): PostgresPool {
  const names = new Map<string, string>()
  const seenOnce = new BoundedCache<string, true>(SEEN_ONCE)
  const patched = new WeakSet<PostgresPoolClient>()

  let parameters = 0

  function named(text: string, count: number): string | undefined {
    const known = names.get(text)
    if (known !== undefined) return known
    if (!plainInsert(text)) return undefined
    if (seenOnce.get(text) === undefined) {
      seenOnce.set(text, true)
      return undefined
    }
    if (names.size >= namedTexts) return undefined
    if (count > namedParameters / 6 || parameters + count > namedParameters) return undefined
    const name = nameOf(text)
    names.set(text, name)
    parameters += count
    return name
  }

  function patch(client: PostgresPoolClient): PostgresPoolClient {
    if (patched.has(client)) return client
    patched.add(client)
    const query = client.query.bind(client) as Query
    ;(client as unknown as { query: Query }).query = (config, values) => {
      if (typeof config === 'string' && Array.isArray(values) && values.length > 0) {
        const name = named(config, values.length)
        if (name !== undefined) return query({ name, text: config, values } satisfies QueryConfig)
      }
      return query(config, values)
    }
    return client
  }

  return {
    connect: async () => patch(await pool.connect()),
    end: () => pool.end(),
    // What Kysely's driver reads to cancel a query from a connection of its own.
    Client: pool.Client,
    options: pool.options,
  }
}
