/**
 * `pnpm bench:pg-statements`: what a named (prepared) insert saves PostgreSQL over the unnamed
 * one Kysely sends by default, through the server's own storage (`openStorage`, pool of one),
 * which names plain inserts, against a plain node-postgres client on the same database. The
 * insert is shaped like a start's group-commit batch (3 rows of 21 columns in a CTE; the
 * server names no statement that reads a table, see postgres-statements.ts). Alternating rounds, one statement
 * at a time inside a transaction (no commit wait): wall time per statement, and when the
 * database runs on this machine, the CPU time its backend process spent per statement
 * (Linux /proc). Prints the ratios named ÷ unnamed.
 *
 * Env: BENCH_POSTGRES_URL or TEXTGATE_TEST_POSTGRES_URL; PG_BENCH_STATEMENTS (per round, 3000),
 * PG_BENCH_ROUNDS (2).
 * @module
 */
import { openStorage } from '@textgate/server/storage'
import { CompiledQuery, type Kysely, sql } from 'kysely'
import pg from 'pg'
import { cpuMs } from './proc-cpu'

const URL = process.env.BENCH_POSTGRES_URL ?? process.env.TEXTGATE_TEST_POSTGRES_URL
const STATEMENTS = Number(process.env.PG_BENCH_STATEMENTS ?? 3_000)
const ROUNDS = Number(process.env.PG_BENCH_ROUNDS ?? 2)
const COLUMNS = Array.from({ length: 20 }, (_, i) => `c${i}`)
const ROWS = 3
const TABLE = `pg_bench_${process.pid}`

/** A local process's CPU time so far (ms); undefined when it is not on this machine. */
function cpuMsIfLocal(pid: number): number | undefined {
  try {
    return cpuMs(pid)
  } catch {
    return undefined
  }
}

const placeholders = Array.from(
  { length: ROWS },
  (_, r) => `(${Array.from({ length: 21 }, (_, c) => `$${r * 21 + c + 1}`).join(', ')})`,
).join(', ')
const INSERT = `with "r0" as (insert into ${TABLE} (id, ${COLUMNS.join(', ')}) values ${placeholders}) insert into ${TABLE} (id) values ($${ROWS * 21 + 1})`

let next = 0
const insertValues = () =>
  [
    ...Array.from({ length: ROWS }, () => [`id${next++}`, ...COLUMNS.map((c) => `value of ${c}`)]),
    [`id${next++}`],
  ].flat()

interface Runner {
  run(text: string, values: unknown[]): Promise<unknown>
  begin(): Promise<void>
  commit(): Promise<void>
}

async function measure(runner: Runner, pid: number, text: string, values: () => unknown[]) {
  await runner.begin()
  const cpuBefore = cpuMsIfLocal(pid)
  const started = process.hrtime.bigint()
  for (let i = 0; i < STATEMENTS; i++) await runner.run(text, values())
  const wallUs = Number(process.hrtime.bigint() - started) / 1e3 / STATEMENTS
  const cpuAfter = cpuMsIfLocal(pid)
  await runner.commit()
  const cpuUs =
    cpuBefore === undefined || cpuAfter === undefined
      ? undefined
      : ((cpuAfter - cpuBefore) * 1000) / STATEMENTS
  return { wallUs, cpuUs }
}

async function main() {
  if (!URL) {
    console.log('Set BENCH_POSTGRES_URL or TEXTGATE_TEST_POSTGRES_URL (a database to write in).')
    return
  }
  const plain = new pg.Client({ connectionString: URL })
  await plain.connect()
  const storage = openStorage(URL, { poolSize: 1 })
  const db = storage.db as unknown as Kysely<unknown>
  try {
    await plain.query(
      `create table ${TABLE} (id text primary key, ${COLUMNS.map((c) => `${c} text`).join(', ')})`,
    )
    const pidOf = async (run: (text: string) => Promise<{ rows: { pid: number }[] }>) =>
      (await run('select pg_backend_pid() as pid')).rows[0]?.pid ?? 0
    const plainPid = await pidOf((text) => plain.query(text))
    // The storage's one connection is held for the whole run, so its backend stays the same.
    await db.connection().execute(async (conn) => {
      const namedPid = await pidOf(
        (text) =>
          conn.executeQuery(CompiledQuery.raw(text, [])) as Promise<{ rows: { pid: number }[] }>,
      )
      const runners: Record<'unnamed' | 'named', [Runner, number]> = {
        unnamed: [
          {
            run: (text, values) => plain.query(text, values),
            begin: async () => void (await plain.query('begin')),
            commit: async () => void (await plain.query('commit')),
          },
          plainPid,
        ],
        named: [
          {
            run: (text, values) => conn.executeQuery(CompiledQuery.raw(text, values)),
            begin: async () => void (await sql`begin`.execute(conn)),
            commit: async () => void (await sql`commit`.execute(conn)),
          },
          namedPid,
        ],
      }
      const results: Record<string, { wallUs: number[]; cpuUs: number[] }> = {}
      for (let round = 1; round <= ROUNDS; round++) {
        for (const [label, text, values] of [['insert', INSERT, insertValues]] as const) {
          for (const mode of ['unnamed', 'named'] as const) {
            const [runner, pid] = runners[mode]
            const m = await measure(runner, pid, text, values)
            const key = `${label} ${mode}`
            results[key] ??= { wallUs: [], cpuUs: [] }
            results[key].wallUs.push(m.wallUs)
            if (m.cpuUs !== undefined) results[key].cpuUs.push(m.cpuUs)
          }
        }
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
      console.log(
        `PostgreSQL statements, ${STATEMENTS} a round, ${ROUNDS} rounds alternating (means over rounds)`,
      )
      for (const label of ['insert']) {
        const u = results[`${label} unnamed`]
        const n = results[`${label} named`]
        if (!u || !n) continue
        const cpu =
          u.cpuUs.length && n.cpuUs.length
            ? `  database CPU ${mean(u.cpuUs).toFixed(1)} → ${mean(n.cpuUs).toFixed(1)} µs (named ÷ unnamed ${(mean(n.cpuUs) / mean(u.cpuUs)).toFixed(2)})`
            : '  (database not on this machine: no CPU figures)'
        console.log(
          `  ${label.padEnd(7)} wall ${mean(u.wallUs).toFixed(1)} → ${mean(n.wallUs).toFixed(1)} µs a statement (named ÷ unnamed ${(mean(n.wallUs) / mean(u.wallUs)).toFixed(2)})${cpu}`,
        )
      }
    })
  } finally {
    await plain.query(`drop table if exists ${TABLE}`).catch(() => {})
    await plain.end()
    await storage.close()
  }
}

await main()
