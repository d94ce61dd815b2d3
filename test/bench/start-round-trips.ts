/**
 * `pnpm exec tsx test/bench/start-round-trips.ts`: how many PostgreSQL round trips (statements)
 * and pool checkouts one start costs, counted by count-statements.cjs inside a real server
 * process with the benchmark's project (every check on, limits raised). A count, not a timing:
 * meaningful on a busy machine. Prints the statements of one start in order, then the per-start
 * figures of starts one at a time and of BENCH_CONNECTIONS (10) concurrent clients, where
 * group commit and counter batching share statements between requests.
 *
 * PostgreSQL from BENCH_POSTGRES_URL or TEXTGATE_TEST_POSTGRES_URL (a fresh database, dropped
 * after). STARTS (200) concurrent starts, SEQUENTIAL (20) one at a time.
 * @module
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { createProject, ROOT, startTextgate } from '../support/processes'
import { RAISED_LIMITS } from './raised-limits'
import { clientIp, phoneNumber } from './traffic'

const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? process.env.TEXTGATE_TEST_POSTGRES_URL
const STARTS = Number(process.env.STARTS ?? 200)
const SEQUENTIAL = Number(process.env.SEQUENTIAL ?? 20)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10)
const ORIGIN = 'http://bench.store.test'
const START = 'POST /v1/verifications'

/** verify.bench.ts's project: every check on, limits out of reach. */
const FRAUD_SETTINGS = RAISED_LIMITS

interface KindCount {
  requests: number
  statements: number
  checkouts: number
  sql: Record<string, number>
  last: string[]
}

async function admin(url: string, statement: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

async function main() {
  if (!POSTGRES_URL) throw new Error('set BENCH_POSTGRES_URL or TEXTGATE_TEST_POSTGRES_URL')
  const name = `tg_round_trips_${process.pid}`
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  await admin(POSTGRES_URL, `CREATE DATABASE ${name}`)
  const file = join(ROOT, 'test/.tmp', `count-statements-${process.pid}.json`)
  const server = await startTextgate({
    databaseUrl: url.toString(),
    env: { LOG_LEVEL: 'warn', TRUST_PROXY: '1', COUNT_STATEMENTS_FILE: file },
    direct: true,
    nodeArgs: ['--require', join(ROOT, 'test/bench/count-statements.cjs')],
  })
  try {
    const settingsFile = join(server.env.TEXTGATE_DATA_DIR ?? '', 'fraud.json')
    writeFileSync(settingsFile, JSON.stringify(FRAUD_SETTINGS))
    const project = createProject(server.env, 'Round trips', [ORIGIN], settingsFile)
    let next = 0
    const start = async () => {
      const i = next++
      const response = await fetch(`${server.url}/v1/verifications`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${project.publishableKey}`,
          origin: ORIGIN,
          'content-type': 'application/json',
          'x-forwarded-for': clientIp(i),
        },
        body: JSON.stringify({ phone: phoneNumber(i), consent: { accepted: true, version: 'b' } }),
      })
      if (response.status !== 201)
        throw new Error(`start: ${response.status} ${await response.text()}`)
      await response.arrayBuffer()
    }
    const snapshot = async (): Promise<Record<string, KindCount>> => {
      // Lets the last answers' post-commit work (afterStart) finish first.
      await new Promise((r) => setTimeout(r, 300))
      server.child.kill('SIGUSR2')
      await new Promise((r) => setTimeout(r, 300))
      return JSON.parse(readFileSync(file, 'utf8'))
    }

    for (let i = 0; i < 20; i++) await start()
    await snapshot()

    for (let i = 0; i < SEQUENTIAL; i++) await start()
    const sequential = (await snapshot())[START]

    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (next < 20 + SEQUENTIAL + STARTS) await start()
      }),
    )
    const concurrentAll = await snapshot()
    const concurrent = concurrentAll[START]
    const background = concurrentAll['(background)']

    console.log('Statements of one start (sequential), in order:')
    for (const [i, statement] of (sequential?.last ?? []).entries()) {
      console.log(`  ${String(i + 1).padStart(2)}. ${statement}`)
    }
    const per = (count: KindCount | undefined) =>
      count
        ? `${(count.statements / count.requests).toFixed(2)} statements, ` +
          `${(count.checkouts / count.requests).toFixed(2)} pool checkouts per start ` +
          `(${count.requests} starts)`
        : 'no starts counted'
    console.log(`\nOne at a time:        ${per(sequential)}`)
    console.log(`${CONNECTIONS} concurrent clients: ${per(concurrent)}`)
    console.log('\nStatements per start, concurrent, by SQL:')
    for (const [statement, count] of Object.entries(concurrent?.sql ?? {})) {
      console.log(`  ${(count / (concurrent?.requests ?? 1)).toFixed(2)}  ${statement}`)
    }
    // The dispatcher's work for those starts (claims, answers, sandbox texts): no request's.
    const starts = concurrent?.requests ?? 1
    console.log(
      `\nBackground (dispatcher) statements per start, concurrent: ${((background?.statements ?? 0) / starts).toFixed(2)}`,
    )
    for (const [statement, count] of Object.entries(background?.sql ?? {}).sort(
      (a, b) => b[1] - a[1],
    )) {
      console.log(`  ${(count / starts).toFixed(2)}  ${statement}`)
    }
  } finally {
    await server.close()
    rmSync(file, { force: true })
    await admin(POSTGRES_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}

await main()
