/**
 * `pnpm bench:instructions`: how many CPU instructions a start costs, counted by valgrind's
 * callgrind, for this checkout's server and, with BENCH_BEFORE=<git revision>, that revision's,
 * in alternating rounds. On a quiet machine instruction counts move far less than requests per
 * second and CPU time, which on a shared 2-core host move by a third between runs, so a change of
 * a few percent on the hot path can be told from noise here when it cannot there. They are not
 * independent of load: the server batches what arrives together (commits, counter flushes,
 * texts) and the JIT compiles on its own threads' schedule, so on a loaded machine (load
 * average 11, RESULTS' nineteenth session) two revisions with no hot-path change between them
 * counted 2.3–2.5 times what main had counted an hour before on a quieter one. Run it
 * with nothing else running, and compare only the rounds of one run.
 *
 * Each server runs under callgrind with instrumentation off (startup at about a tenth of native
 * speed), on a fresh SQLite file with the bench's raised fraud limits. After a warm-up of
 * INSTR_WARMUP (1000) starts, instrumentation is switched on (`callgrind_control -i on`),
 * INSTR_STARTS (600) starts are sent over 4 keep-alive connections (each its own number and
 * address, as `pnpm bench` sends them), the server is given 3 s to send their texts, and the
 * counts are dumped per thread. Printed per start, in millions: the serving thread (thread 1:
 * HTTP, the fraud guard, the dispatcher), and the whole process (with the SQLite writer and
 * checkpoint threads, and V8's helper threads). INSTR_ROUNDS (2) rounds; the medians and, with
 * BENCH_BEFORE, now ÷ before.
 *
 * What it counts is not the JIT's steady state: under callgrind the optimizing compiler is
 * still at work in the counted starts (about half of every thread's instructions, on V8's helper
 * threads; with INSTR_NODE_ARGS=--no-concurrent-recompilation on the serving thread, 55 % of
 * its count after 1000 starts of warm-up and 38 % after 3000), so the serving thread runs
 * mostly baseline (Sparkplug) code, where natively it runs optimized code. Compare revisions
 * with it (both sides are counted alike), not the figures with native CPU time; a change that
 * only matters to optimized code (object shapes, inlining) may not show here.
 *
 * INSTR_GAP_MS sends the counted starts one at a time, each that long after the last answer
 * (each finds the server idle, as evenly paced starts at a low rate do); INSTR_KEEP=<folder>
 * keeps the dumps (with each function's system calls) for `callgrind_annotate`.
 *
 * Needs valgrind (`apt-get install valgrind`); a run takes about 5 minutes a server a round.
 * @module
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import { createProject, freePort, ROOT, TEST_SECRET, tempDir } from '../support/processes'
import { checkoutBefore } from './checkout'
import { RAISED_LIMITS } from './raised-limits'
import { clientIp, phoneNumber } from './traffic'

const STARTS = Number(process.env.INSTR_STARTS ?? 600)
const WARMUP = Number(process.env.INSTR_WARMUP ?? 1000)
const ROUNDS = Number(process.env.INSTR_ROUNDS ?? 2)
const BEFORE = process.env.BENCH_BEFORE
const CONNECTIONS = 4
/**
 * INSTR_GAP_MS: when over 0, the counted starts go one at a time, each this long after the last
 * one's answer, so each finds the server idle (its writes, text and answer done), as starts
 * evenly paced at a low rate do; 0 (the default) sends them over {@link CONNECTIONS}.
 */
const GAP_MS = Number(process.env.INSTR_GAP_MS ?? 0)
/** INSTR_NODE_ARGS: node flags for the server under callgrind, space-separated. */
const NODE_ARGS = (process.env.INSTR_NODE_ARGS ?? '').split(' ').filter(Boolean)
/** INSTR_KEEP: a folder to copy each round's dumps into, for `callgrind_annotate`. */
const KEEP = process.env.INSTR_KEEP
const ORIGIN = 'http://bench.store.test'
const CLI = join(ROOT, 'server/src/cli/main.ts')

interface Counted {
  /** Millions of instructions a start: the serving thread, and every thread. */
  serving: number
  all: number
}

/**
 * Sends `count` starts over `connections` connections, each waiting `gapMs` after an answer
 * before its next start; every answer must be 201.
 */
async function sendStarts(
  port: number,
  key: string,
  from: number,
  count: number,
  { connections = CONNECTIONS, gapMs = 0 } = {},
) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  let next = from
  const end = from + count
  const one = (i: number) =>
    new Promise<number>((resolve, reject) => {
      const request = http.request(
        {
          port,
          method: 'POST',
          path: '/v1/verifications',
          agent,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${key}`,
            origin: ORIGIN,
            'x-forwarded-for': clientIp(i),
          },
        },
        (response) => {
          response.resume()
          response.on('end', () => resolve(response.statusCode ?? 0))
        },
      )
      request.on('error', reject)
      request.end(JSON.stringify({ phone: phoneNumber(i), consent: { accepted: true } }))
    })
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < end) {
        const status = await one(next++)
        if (status !== 201) throw new Error(`a start answered ${status}`)
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs))
      }
    }),
  )
  agent.destroy()
}

const health = (port: number) =>
  new Promise<number>((resolve) => {
    http
      .get({ port, path: '/healthz' }, (response) => {
        response.resume()
        resolve(response.statusCode ?? 0)
      })
      .on('error', () => resolve(0))
  })

/** One server under callgrind: its instructions a start over {@link STARTS} starts. */
async function count(cliPath: string, offset: number, label: string): Promise<Counted> {
  const dir = tempDir('tg-instr-')
  const port = await freePort()
  const env = {
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    TEXTGATE_SECRET: TEST_SECRET,
    TEXTGATE_DATA_DIR: dir.path,
    DATABASE_URL: `sqlite:${dir.path}/textgate.db`,
    LOG_LEVEL: 'warn',
    TRUST_PROXY: '1',
  }
  const out = join(dir.path, 'callgrind.out')
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      '--separate-threads=yes',
      `--callgrind-out-file=${out}`,
      // Kept dumps also count each function's system calls (sysCount), for annotation.
      ...(KEEP ? ['--collect-systime=yes'] : []),
      process.execPath,
      ...NODE_ARGS,
      '--import',
      'tsx',
      cliPath,
      'serve',
    ],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let log = ''
  child.stdout.on('data', (chunk) => {
    log += chunk
  })
  child.stderr.on('data', (chunk) => {
    log += chunk
  })
  try {
    const deadline = Date.now() + 600_000
    while ((await health(port)) !== 200) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the server under valgrind did not come up:\n${log.slice(-2000)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    const settings = join(dir.path, 'bench-fraud.json')
    writeFileSync(settings, JSON.stringify(RAISED_LIMITS))
    const project = createProject(env, 'Bench store', [ORIGIN], settings, cliPath)
    // A start refused under callgrind (a lease lapsing, say) fails the run with the server's log.
    const withLog = (work: Promise<void>) =>
      work.catch((error: Error) => {
        throw new Error(`${error.message}:\n${log.slice(-3000)}`)
      })
    await withLog(sendStarts(port, project.publishableKey, offset, WARMUP))
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const pid = String(child.pid)
    execFileSync('callgrind_control', ['-i', 'on', pid], { stdio: 'ignore' })
    await withLog(
      sendStarts(
        port,
        project.publishableKey,
        offset + WARMUP,
        STARTS,
        GAP_MS > 0 ? { connections: 1, gapMs: GAP_MS } : {},
      ),
    )
    // Their texts are part of a start's work: the dispatcher sends them meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 3000))
    execFileSync('callgrind_control', ['-i', 'off', pid], { stdio: 'ignore' })
    execFileSync('callgrind_control', ['-d', pid], { stdio: 'ignore' })
    // The dump: callgrind.out.1-01 (thread 1), -02, … ; `totals:` is each thread's count.
    let serving = 0
    let all = 0
    for (const file of readdirSync(dir.path)) {
      const thread = /^callgrind\.out\.1-(\d+)$/.exec(file)?.[1]
      if (!thread) continue
      const total = Number(
        /^totals: (\d+)/m.exec(readFileSync(join(dir.path, file), 'utf8'))?.[1] ?? 0,
      )
      all += total
      if (Number(thread) === 1) serving = total
    }
    if (all === 0) throw new Error(`callgrind counted nothing:\n${log.slice(-2000)}`)
    if (KEEP) {
      mkdirSync(KEEP, { recursive: true })
      for (const file of readdirSync(dir.path)) {
        if (file.startsWith('callgrind.out.')) {
          copyFileSync(join(dir.path, file), join(KEEP, `${label}.${file}`))
        }
      }
    }
    return { serving: serving / STARTS / 1e6, all: all / STARTS / 1e6 }
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) =>
      child.exitCode !== null ? resolve(null) : child.once('exit', resolve),
    )
    rmSync(dir.path, { recursive: true, force: true })
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('pnpm bench:instructions needs valgrind (apt-get install -y valgrind)')
  process.exit(1)
}

const before = BEFORE ? checkoutBefore(BEFORE) : undefined
const sides = [
  { name: 'now', cliPath: CLI },
  ...(before && BEFORE ? [{ name: `before (${BEFORE})`, cliPath: before.cliPath }] : []),
]
const counted = new Map<string, Counted[]>(sides.map((side) => [side.name, []]))
console.log(
  `Instructions a start under callgrind: ${WARMUP} starts of warm-up, then ${STARTS} counted, ${GAP_MS > 0 ? `one at a time, ${GAP_MS} ms after each answer` : `${CONNECTIONS} connections`}, ${ROUNDS} rounds taking turns (millions a start)`,
)
let offset = 8_000_000
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const side of sides) {
      const result = await count(
        side.cliPath,
        offset,
        `${side.name.replace(/\W+/g, '-')}-round${round}`,
      )
      offset += WARMUP + STARTS
      counted.get(side.name)?.push(result)
      console.log(
        `  round ${round}  ${side.name.padEnd(24)} serving thread ${result.serving.toFixed(3)}  all threads ${result.all.toFixed(3)}`,
      )
    }
  }
} finally {
  before?.remove()
}
const medians = sides.map((side) => {
  const list = counted.get(side.name) ?? []
  return {
    name: side.name,
    serving: median(list.map((c) => c.serving)),
    all: median(list.map((c) => c.all)),
  }
})
for (const m of medians) {
  console.log(
    `  median  ${m.name.padEnd(24)} serving thread ${m.serving.toFixed(3)}  all threads ${m.all.toFixed(3)}`,
  )
}
const [now, then] = medians
if (now && then) {
  console.log(
    `  now ÷ before: serving thread ${(now.serving / then.serving).toFixed(3)}, all threads ${(now.all / then.all).toFixed(3)}`,
  )
}
