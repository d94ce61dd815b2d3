/**
 * `pnpm bench`: how fast Textgate starts and checks verifications on loopback, against a bare
 * Hono route measured in the same run on the same machine.
 *
 * Both servers run as their own Node processes (tsx), Textgate on a fresh SQLite file with the
 * sandbox carrier and LOG_LEVEL=warn. The load generator is this process: a fixed number of
 * keep-alive connections, each sending its next request as soon as the last one answered
 * (closed loop), so throughput = requests / wall time and latency is per request.
 *
 * Settings: BENCH_REQUESTS (default 2000), BENCH_CONCURRENCY (default 16).
 * Output: a table with ratios, and test/.tmp/bench-verify.json. Exits non-zero on any error.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { parseFraudSettings } from '../../server/src/fraud/settings'
import {
  createProject,
  freePort,
  ROOT,
  sandboxCode,
  startProcess,
  startTextgate,
} from '../support/processes'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16)
const ORIGIN = 'http://bench.store.test'

interface Result {
  name: string
  requests: number
  errors: number
  seconds: number
  perSecond: number
  p50: number
  p99: number
}

function send(
  agent: Agent,
  url: URL,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: {
          ...headers,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Closed-loop load: `requests` calls over `CONCURRENCY` keep-alive connections. */
async function load(
  name: string,
  baseUrl: string,
  requests: number,
  next: (i: number) => {
    path: string
    headers: Record<string, string>
    body: string
    expect: number
  },
): Promise<Result> {
  const url = new URL(baseUrl)
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const latencies: number[] = []
  let errors = 0
  let firstError = ''
  let index = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const i = index++
        if (i >= requests) return
        const call = next(i)
        const t0 = performance.now()
        try {
          const status = await send(agent, url, call.path, call.headers, call.body)
          if (status !== call.expect) {
            errors++
            firstError ||= `HTTP ${status} on ${call.path}`
          }
        } catch (error) {
          errors++
          firstError ||= (error as Error).message
        }
        latencies.push(performance.now() - t0)
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  if (errors > 0) console.error(`  ${name}: ${errors} errors, first: ${firstError}`)
  return {
    name,
    requests,
    errors,
    seconds,
    perSecond: requests / seconds,
    p50: at(0.5),
    p99: at(0.99),
  }
}

const HIGH = 1_000_000_000
const BENCH_FRAUD_SETTINGS = {
  velocity: {
    rules: parseFraudSettings({}).velocity.rules.map((rule) => ({
      ...rule,
      ...(rule.challengeAt ? { challengeAt: HIGH } : {}),
      ...(rule.blockAt ? { blockAt: HIGH } : {}),
    })),
  },
  conversion: { challengeBelow: 0, blockBelow: 0 },
  spend: { dailyProjectCap: HIGH, dailyCountryCap: HIGH },
}

/** A distinct client address per request, as real shoppers have (X-Forwarded-For). */
const clientIp = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`

/** Distinct valid UK mobile numbers: +44 7400 12xxxx. */
const phoneNumber = (i: number) => `+44740012${String(i % 10_000).padStart(4, '0')}`

async function main() {
  console.log(
    `Textgate benchmark: ${REQUESTS} requests per run, ${CONCURRENCY} connections, ` +
      `${cpus().length} CPUs, Node ${process.version}, loopback\n`,
  )
  if (REQUESTS > 5_000) throw new Error('BENCH_REQUESTS is at most 5000 (distinct numbers)')

  const baselinePort = await freePort()
  const baseline = await startProcess(
    [join(ROOT, 'test/bench/baseline-server.ts')],
    { PORT: String(baselinePort) },
    baselinePort,
  )
  const textgate = await startTextgate({ env: { LOG_LEVEL: 'warn', TRUST_PROXY: '1' } })
  const results: Result[] = []
  try {
    // The fraud guard runs in full (every default counter is read and written), with limits
    // raised so that the synthetic traffic, sequential numbers that nobody enters, is not refused.
    const settingsFile = join(textgate.env.TEXTGATE_DATA_DIR ?? '', 'bench-fraud.json')
    writeFileSync(settingsFile, JSON.stringify(BENCH_FRAUD_SETTINGS))
    const project = createProject(textgate.env, 'Bench store', [ORIGIN], settingsFile)
    const publicHeaders = { Authorization: `Bearer ${project.publishableKey}`, Origin: ORIGIN }
    const startBody = (i: number) =>
      JSON.stringify({ phone: phoneNumber(i), consent: { accepted: true, version: 'bench' } })

    // Warm-up on both (JIT, connection pools, SQLite page cache), not counted.
    await load('warm-up', baseline.url, 200, (i) => ({
      path: '/echo',
      headers: {},
      body: startBody(i),
      expect: 201,
    }))

    const base = await load('bare Hono route', baseline.url, REQUESTS, (i) => ({
      path: '/echo',
      headers: {},
      body: startBody(i),
      expect: 201,
    }))
    results.push(base)

    const ids: string[] = []
    const start = await load('POST /v1/verifications', textgate.url, REQUESTS, (i) => ({
      path: '/v1/verifications',
      headers: { ...publicHeaders, 'X-Forwarded-For': clientIp(i) },
      body: startBody(i),
      expect: 201,
    }))
    results.push(start)

    // Untimed: find each verification's id and code (the sandbox inbox) for the check run.
    const idsByPhone = new Map<string, string>()
    for (let i = 0; i < REQUESTS; i++) {
      const res = await fetch(`${textgate.url}/v1/verifications`, {
        method: 'POST',
        headers: {
          ...publicHeaders,
          'Content-Type': 'application/json',
          'Idempotency-Key': `bench-${i}`,
          'X-Forwarded-For': clientIp(i + REQUESTS),
        },
        body: startBody(i + REQUESTS),
      })
      if (res.status !== 201) throw new Error(`setup start failed: ${await res.text()}`)
      idsByPhone.set(phoneNumber(i + REQUESTS), ((await res.json()) as { id: string }).id)
    }
    const codes: string[] = []
    for (let i = 0; i < REQUESTS; i++) {
      const phone = phoneNumber(i + REQUESTS)
      ids.push(idsByPhone.get(phone) ?? '')
      codes.push(await sandboxCode(textgate.url, project, phone))
    }

    const check = await load('POST /v1/verifications/{id}/check', textgate.url, REQUESTS, (i) => ({
      path: `/v1/verifications/${ids[i]}/check`,
      headers: { ...publicHeaders, 'X-Forwarded-For': clientIp(i + REQUESTS) },
      body: JSON.stringify({ code: codes[i] }),
      expect: 200,
    }))
    results.push(check)
  } finally {
    await baseline.stop()
    await textgate.close()
  }

  const base = results[0]!
  const rows = results.map((r) => ({
    run: r.name,
    'req/s': r.perSecond.toFixed(0),
    'vs bare': r === base ? '1.00' : (r.perSecond / base.perSecond).toFixed(2),
    'p50 ms': r.p50.toFixed(2),
    'p99 ms': r.p99.toFixed(2),
    'p99 vs bare': r === base ? '1.00' : (r.p99 / base.p99).toFixed(2),
    errors: r.errors,
  }))
  console.table(rows)
  console.log(
    '\n"vs bare" = throughput as a share of the bare Hono route; "p99 vs bare" = how many times\n' +
      'slower the 99th percentile is. Both servers ran on this machine in this run.',
  )
  const outDir = join(ROOT, 'test/.tmp')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(
    join(outDir, 'bench-verify.json'),
    `${JSON.stringify({ requests: REQUESTS, concurrency: CONCURRENCY, cpus: cpus().length, node: process.version, results }, null, 2)}\n`,
  )
  if (results.some((r) => r.errors > 0)) {
    console.error('\nThe benchmark saw errors: figures are not valid.')
    process.exit(1)
  }
}

await main()
