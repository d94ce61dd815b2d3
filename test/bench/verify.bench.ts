/**
 * `pnpm bench`: how fast Textgate starts and checks verifications on loopback, side by side in
 * one run with a bare Hono route (the ceiling of the HTTP stack) and with a peer, better-auth's
 * phone-number plugin (send-otp, verify).
 *
 * Every server is a Node process of its own; the load generator (autocannon, load.ts) is a
 * process of its own too, so it never shares an event loop with what it measures. Each row runs
 * BENCH_SECONDS (10) after a warm-up of BENCH_WARMUP seconds (3), closed loop over
 * BENCH_CONNECTIONS (10) keep-alive connections; every request has its own phone number and its
 * own client address. Textgate's fraud guard runs in full (every counter read and written) with
 * its limits raised so the synthetic traffic is not refused.
 *
 * Sections (BENCH_SECTIONS, default all):
 * - `sqlite`: bare Hono; Textgate start and check on SQLite; better-auth send-otp and verify
 *   (a new peer process each round, see BENCH_PEER_KEPT); then start and check again at half
 *   their maximum rate (latency at a load with headroom).
 * - `postgres`: start and check on PostgreSQL (BENCH_POSTGRES_URL, else
 *   TEXTGATE_TEST_POSTGRES_URL; a fresh database per run, dropped after). With `sqlite` too,
 *   the PostgreSQL start takes a turn in each of its rounds, right after SQLite's start, and
 *   "PostgreSQL start ÷ SQLite start" is the median of the rounds' ratios.
 * - `scale`: start on 1, 2 and 4 server processes (BENCH_PROCESSES) sharing one PostgreSQL,
 *   each row after a settling start load of BENCH_WARMUP seconds per process, not counted.
 * - `guard`: the fraud guard's cost, live keys (the guard weighs live traffic only; their texts
 *   go to a real SMPP peer on loopback, in this process) and the widget's caller signals on every start: start
 *   with every check off, with round 1's checks (destinations and callers off), and with every
 *   check on, on one SQLite server, BENCH_ROUNDS rounds taking turns; prints on ÷ off and
 *   on ÷ round 1 (the cost of the destination and caller checks; goal ≥ 0.90). With BENCH_BEFORE,
 *   that revision's server runs a row with every check on beside this checkout's in each round,
 *   the two taking turns going first (the live path's now ÷ before).
 * - `memory`: a fresh SQLite server's RSS and JS heap idle, then after each of BENCH_MEMORY_ROWS
 *   (10) rows of BENCH_MEMORY_STARTS / rows starts (100,000 in all), each read after a full
 *   garbage collection in the server (./gc-on-signal.mjs), RSS as its lowest over the next 2 s;
 *   the median of the later half of the rows over the median of the earlier half (from the second
 *   row) by more than BENCH_LEAK_PERCENT (10 %), for either, reports a leak.
 *
 * - `half`: only the half-rate rows (BENCH_HALF_START_RATE and BENCH_HALF_CHECK_RATE, else half
 *   of one full-speed row each measured first).
 * Half-rate rows run twice: with autocannon's rate (each second's quota sent as fast as answers
 * come, then a pause: the maximum rate half of the time) and evenly paced (open loop), in
 * BENCH_HALF_ROUNDS rounds (BENCH_ROUNDS by default) on one server; each kind keeps its median
 * p99 round, and prints beside it the p99 of all its rounds' requests together (./quantile.ts).
 *
 * Every row also records the host's steal while it was measured (the share of the CPUs' time the
 * hypervisor gave to other work, /proc/stat): from 2 % up the row is marked "host busy".
 *
 * BENCH_LOOP_DELAY=1 prints each row's server event-loop delay (p99, max, stalls over 10 ms) and
 * the servers' own request-to-finish p50 and p99 (the tail inside the server, apart from the
 * time a request spends in socket buffers and the load generator), and their garbage collection
 * (pauses, ms in all, the longest, and how many were mark-compacts, which stop the serving thread
 * longest).
 *
 * BENCH_NUMBER_POOL=n: numbers and client addresses repeat every n requests (returning shoppers)
 * instead of each request having its own (./traffic.ts).
 *
 * BENCH_CPU_PROF=<folder> writes a V8 CPU profile of each Textgate server process there (open it
 * in Chrome DevTools or speedscope) to see where a request's time goes.
 *
 * BENCH_BEFORE=<git revision> also runs that revision's server (checked out in a temporary folder)
 * in the SQLite rounds, for before/after rows from one run, and beside this checkout's in the
 * half-rate rows (both up together, rows alternating, p99 ratios per round). With
 * BENCH_NOW_NODE_OPTIONS (e.g. `--max-semi-space-size=64`) or BENCH_NOW_ENV (a JSON object of
 * variables, e.g. `{"TEXTGATE_SQLITE_WRITER_NICE":"0"}`) this checkout's server runs with those
 * and the other without: BENCH_BEFORE=HEAD then compares a V8 flag or a setting, paired, on the
 * same code.
 * The two take turns going first (this checkout's row first in odd rounds), and before round 1
 * every Textgate server gets a settling start load of BENCH_WARMUP seconds, not counted.
 *
 * Every row, the peer's included, first waits (up to BENCH_SETTLE_MS, 60 s) until every Textgate
 * server up has dispatched its due texts and gone idle, so no row pays for another's backlog or
 * shares the machine with it. A start row then waits for its own last texts to be sent and counts
 * that time and CPU: a server cannot look fast by falling behind on its texts.
 *
 * A run is INVALID when the bare Hono route answers under 10,000 req/s (the machine or the load
 * generator is the bottleneck, so ratios mean nothing) or when any row saw an error; it then exits
 * non-zero. Output: tables with ratios, and test/.tmp/bench-verify.json.
 * @module
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { deriveSecrets, openStorage } from '@textgate/server'
import type { FraudSettingsInput } from '@textgate/server/fraud/settings'
import { newId } from '@textgate/server/ids'
import { hashCode } from '@textgate/server/one-time-codes'
import { createApiKey, createProject as createStoreProject } from '@textgate/server/projects'
import { startFakeSmsc } from '@textgate/server/testing/carriers/smpp'
import pg from 'pg'
import {
  type CreatedProject,
  cli,
  createProject,
  freePort,
  ROOT,
  type Started,
  startProcess,
  startTextgate,
  TEST_SECRET,
  tempDir,
} from '../support/processes'
import { checkoutBefore } from './checkout'
import {
  cpuMs,
  localPostgresCpuMs,
  machineTicks,
  stealShare,
  type ThreadTime,
  threadShares,
  threadTimes,
} from './proc-cpu'
import { quantileOf, quantileOfBuckets } from './quantile'
import { HIGH, RAISED_LIMITS } from './raised-limits'
import { clientIp, type LoadKind, type LoadResult, type LoadSpec, phoneNumber } from './traffic'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10)
const SECTIONS = new Set(
  (process.env.BENCH_SECTIONS ?? 'sqlite,guard,postgres,scale,memory')
    .split(',')
    .map((s) => s.trim()),
)
/** `start` runs only the start rows (and the peer's send-otp) of the sqlite and postgres sections. */
const KINDS = new Set((process.env.BENCH_KINDS ?? 'start,check').split(',').map((s) => s.trim()))
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? process.env.TEXTGATE_TEST_POSTGRES_URL
/** BENCH_SCALE_DB=sqlite: the scale section's processes share one SQLite file instead. */
const SCALE_ON_SQLITE = process.env.BENCH_SCALE_DB === 'sqlite'
const PROCESSES = (process.env.BENCH_PROCESSES ?? '1,2,4').split(',').map(Number)
const MEMORY_STARTS = Number(process.env.BENCH_MEMORY_STARTS ?? 100_000)
const MEMORY_ROWS = Number(process.env.BENCH_MEMORY_ROWS ?? 10)
const LEAK_PERCENT = Number(process.env.BENCH_LEAK_PERCENT ?? 10)
/** Verifications prepared for each check row: more than a 2-core machine checks in a row. */
const CHECK_SUPPLY = Number(process.env.BENCH_CHECK_SUPPLY ?? 60_000)
/** A git revision whose server runs beside this one in the SQLite rounds (before/after rows). */
const BEFORE = process.env.BENCH_BEFORE
/**
 * BENCH_PEER_KEPT=1: one peer process for all rounds, as before 2026-12-04. By default each round
 * starts a new one: better-auth's in-memory rate limiter keeps an entry per client address for
 * its window (60 s on the phone-number routes) and walks every entry on each request, so with
 * every request from its own address the peer slows as a run goes on (fresh 817, then 577 and
 * 470 req/s over three 10 s rows here). A new process each round measures it at its best.
 */
const PEER_KEPT = process.env.BENCH_PEER_KEPT === '1'
/** Rounds of the SQLite comparison: Textgate and the peer take turns, the median round counts. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
/** Rounds of the half-rate rows (BENCH_HALF_ROUNDS, else BENCH_ROUNDS); see halfRateRows. */
const HALF_ROUNDS = Number(process.env.BENCH_HALF_ROUNDS ?? ROUNDS)
const BARE_MINIMUM = 10_000
const CPU_PROF = process.env.BENCH_CPU_PROF
/**
 * Extra environment of this checkout's server in the SQLite rounds and the half-rate rows:
 * BENCH_NOW_ENV (a JSON object of variables, e.g. `{"TEXTGATE_SQLITE_WRITER_NICE":"0"}`) and
 * BENCH_NOW_NODE_OPTIONS (its NODE_OPTIONS).
 */
const NOW_ENV: Record<string, string> = {
  ...nowEnvFrom(process.env.BENCH_NOW_ENV),
  ...(process.env.BENCH_NOW_NODE_OPTIONS
    ? { NODE_OPTIONS: process.env.BENCH_NOW_NODE_OPTIONS }
    : {}),
}

/** BENCH_NOW_ENV's variables; a value that is not a JSON object of strings stops the run. */
function nowEnvFrom(text: string | undefined): Record<string, string> {
  if (!text) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Array.isArray(parsed) ||
    !Object.values(parsed).every((value) => typeof value === 'string')
  ) {
    console.error(
      `BENCH_NOW_ENV must be a JSON object of strings, e.g. '{"TEXTGATE_SQLITE_WRITER_NICE":"0"}'; got: ${text}`,
    )
    process.exit(2)
  }
  return parsed as Record<string, string>
}
/** The environment of a Textgate server under test. */
const SERVER_ENV: Record<string, string> = { LOG_LEVEL: 'warn', TRUST_PROXY: '1' }
/** BENCH_LOOP_DELAY=1: each row also prints the servers' event-loop delay (loop-delay.mjs). */
const LOOP_DELAY_FILE = process.env.BENCH_LOOP_DELAY
  ? join(ROOT, 'test/.tmp', `bench-loop-delay-${process.pid}.jsonl`)
  : undefined
/**
 * BENCH_THREADS=1: each row also prints where its (first) server's threads spent the measured
 * seconds (Linux schedstat): the serving thread's shares on a CPU and waiting for one, the
 * busiest other thread's (on SQLite, the writer), the other threads' CPU, and the whole
 * machine's busy share. A serving thread near 100 % on a CPU is the limit; one that waits for a
 * CPU shares its cores; one that neither runs nor waits has nothing to do.
 */
const THREADS = process.env.BENCH_THREADS === '1'
if (LOOP_DELAY_FILE) {
  mkdirSync(dirname(LOOP_DELAY_FILE), { recursive: true })
  SERVER_ENV.BENCH_LOOP_DELAY_FILE = LOOP_DELAY_FILE
}
const SERVER_NODE_ARGS = [
  ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []),
  ...(LOOP_DELAY_FILE ? ['--import', join(ROOT, 'test/bench/loop-delay.mjs')] : []),
  // Extra node flags for the Textgate servers (e.g. `--require ./count-statements.cjs`).
  ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
]
const ORIGIN = 'http://bench.store.test'
const TMP = join(ROOT, 'test/.tmp')

interface Row extends LoadResult {
  /** Server CPU time per request (warm-up included), ms. */
  cpuMsPerRequest: number
  /** PostgreSQL rows, database on this machine: its processes' CPU time per request, ms. */
  databaseCpuMsPerRequest?: number
  /** Start rows: how long the outbox took to send the row's last texts after the load ended. */
  drainSeconds?: number
  /** Start rows: texts still due in the outbox when the load ended. */
  queued?: number
  /** Half-rate rows of several rounds: the p99 of every round's requests together, ms. */
  pooledP99?: number
  /** With BENCH_LOOP_DELAY: the servers' event-loop delay while the row was measured. */
  loop?: LoopDelay
  /** With BENCH_THREADS: where the first server's threads spent the measured seconds. */
  threads?: ThreadSplit
  /**
   * The share of the machine's CPU time the hypervisor took while the row was measured (steal,
   * /proc/stat; 0 where the kernel does not count it).
   */
  steal?: number
  name: string
  kind: LoadKind
}

const BENCH_FRAUD_SETTINGS = RAISED_LIMITS

/** Every check off: the guard's floor. */
const OFF = { mode: 'off' } as const
const GUARD_OFF: FraudSettingsInput = {
  lists: OFF,
  numberType: OFF,
  velocity: OFF,
  conversion: OFF,
  spend: OFF,
  destinations: OFF,
  callers: OFF,
}
/** Round 1's checks on, the destination and caller checks (round 2) off. */
const GUARD_ROUND1: FraudSettingsInput = {
  ...BENCH_FRAUD_SETTINGS,
  destinations: OFF,
  callers: OFF,
}
/** Every check on, its limits raised so the synthetic traffic is weighed in full, never refused. */
const GUARD_ON: FraudSettingsInput = {
  ...BENCH_FRAUD_SETTINGS,
  destinations: {
    budgetPerHour: { low: HIGH, medium: HIGH, high: HIGH },
    unconvertedPerDay: { low: HIGH, medium: HIGH, high: HIGH },
    // Its prefixes' too: the synthetic numbers are consecutive, a few blocks of 100 000.
    prefix: {
      budgetPerHour: { low: HIGH, medium: HIGH, high: HIGH },
      unconvertedPerDay: { low: HIGH, medium: HIGH, high: HIGH },
    },
  },
  callers: { deviceStartsPerHour: HIGH },
}
/** The guard's cost must stay under this share of start throughput. */
const GUARD_GOAL = 0.9

/** Phone numbers and addresses are never reused in a run: each row takes the next range. */
let nextOffset = 0
function takeRange(count: number): number {
  const offset = nextOffset
  nextOffset += count
  return offset
}

function cpuOf(pids: (number | undefined)[]): number {
  let total = 0
  for (const pid of pids) total += cpuMs(pid)
  return total
}

/** Runs a PostgreSQL row and adds the database's own CPU time per request to it (and prints it). */
async function withDatabaseCpu(run: () => Promise<Row>): Promise<Row> {
  const before = localPostgresCpuMs()
  const row = await run()
  const after = localPostgresCpuMs()
  if (before === undefined || after === undefined) return row
  const databaseCpuMsPerRequest = (after - before) / Math.max(1, row.requests + row.warmupRequests)
  console.log(
    `    PostgreSQL's own processes: ${databaseCpuMsPerRequest.toFixed(3)} ms CPU/req (server and database ${(row.cpuMsPerRequest + databaseCpuMsPerRequest).toFixed(3)} ms/req)`,
  )
  return { ...row, databaseCpuMsPerRequest }
}

/**
 * Runs the load generator as its own process and returns what it measured, with the CPU time
 * the servers (`pids`) spent per request: unlike req/s, that hardly moves when other work
 * shares the machine.
 */
async function load(
  spec: Omit<LoadSpec, 'connections' | 'durationSeconds' | 'warmupSeconds'> &
    Partial<LoadSpec> & { pids: (number | undefined)[] },
): Promise<
  LoadResult & { cpuMsPerRequest: number; loop?: LoopDelay; threads?: ThreadSplit; steal?: number }
> {
  const { pids, ...rest } = spec
  const full: LoadSpec = {
    connections: CONNECTIONS,
    durationSeconds: SECONDS,
    warmupSeconds: WARMUP,
    ...rest,
  }
  await quietMachine()
  const cpuBefore = cpuOf(pids)
  const measuredFrom = Date.now() + full.warmupSeconds * 1000
  // The threads' times once the warm-up is over (BENCH_THREADS).
  const watched = pids[0]
  const sampled: {
    from?: { at: number; threads: ThreadTime[]; machine: { busy: number; total: number } }
  } = {}
  // The machine's ticks once the warm-up is over, for the row's steal (and BENCH_THREADS).
  let measuredMachine = machineTicks()
  const warmedUp = setTimeout(() => {
    measuredMachine = machineTicks()
    if (THREADS && watched !== undefined) {
      sampled.from = { at: Date.now(), threads: threadTimes(watched), machine: measuredMachine }
    }
  }, full.warmupSeconds * 1000)
  const result = await new Promise<LoadResult>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'test/bench/load.ts'), JSON.stringify(full)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
    })
    child.on('close', (status) => {
      if (status !== 0) return reject(new Error(`load generator exited with ${status}`))
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadResult)
    })
  })
  const cpu = cpuOf(pids) - cpuBefore
  clearTimeout(warmedUp)
  const machine = machineTicks()
  const steal = stealShare(measuredMachine, machine)
  let threads: ThreadSplit | undefined
  const { from } = sampled
  if (watched !== undefined && from) {
    threads = {
      ...threadShares(watched, from.threads, threadTimes(watched), (Date.now() - from.at) / 1000),
      machine: (machine.busy - from.machine.busy) / Math.max(1, machine.total - from.machine.total),
    }
  }
  return {
    ...result,
    ...(threads ? { threads } : {}),
    steal,
    cpuMsPerRequest: cpu / Math.max(1, result.requests + result.warmupRequests),
    loop: LOOP_DELAY_FILE ? loopDelayOf(pids, measuredFrom + 1000, Date.now()) : undefined,
  }
}

/** Where a row's server threads spent its measured seconds (BENCH_THREADS), as shares of it. */
type ThreadSplit = ReturnType<typeof threadShares> & { machine: number }

/** A share as a percentage, `digits` after the point. */
const percent = (share: number, digits = 0) => `${(share * 100).toFixed(digits)} %`

/** A row's thread split as printed. */
function describeThreads({ main, busiestOther, others, machine }: ThreadSplit): string {
  const other = busiestOther
    ? `; busiest other thread ${percent(busiestOther.cpu)} on a CPU, ${percent(busiestOther.waiting)} waiting`
    : ''
  return `    threads: serving ${percent(main.cpu)} on a CPU, ${percent(main.waiting)} waiting for one, ${percent(Math.max(0, 1 - main.cpu - main.waiting))} with nothing to run${other}; the rest ${percent(others)} of a core; machine ${percent(machine)} busy`
}

interface LoopDelay {
  /** Worst per-second p99 and max of the servers' event-loop delay, ms. */
  p99: number
  max: number
  /** Loop-delay samples over 10 ms, in all. */
  stalls: number
  /**
   * The servers' own request-to-finish times (arrival to the response's last byte handed to the
   * kernel), ms: a p99 here far under the row's says the rest of its tail is outside the server.
   */
  served?: { p50: number; p99: number }
  /** Garbage collection in the servers' main threads over the row: pauses, ms in all, longest, major ones. */
  gc?: { count: number; total: number; max: number; major: number }
  /** The highest RSS and JS heap in use read over the row (once a second), MiB. */
  memory?: { rss: number; heap: number }
}

/** The servers' event-loop delay between `from` and `to` (loop-delay.mjs's lines). */
function loopDelayOf(
  pids: (number | undefined)[],
  from: number,
  to: number,
): LoopDelay | undefined {
  if (!existsSync(LOOP_DELAY_FILE ?? '')) return undefined
  const lines = readFileSync(LOOP_DELAY_FILE ?? '', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(
      (line) =>
        JSON.parse(line) as Omit<LoopDelay, 'served'> & {
          at: number
          pid: number
          served?: number[]
          gc?: { count: number; total: number; max: number; major: number }
          memory?: { rss: number; heap: number }
        },
    )
    .filter((line) => pids.includes(line.pid) && line.at >= from && line.at <= to)
  if (lines.length === 0) return undefined
  const served = lines.flatMap((l) => l.served ?? []).sort((a, b) => a - b)
  const gcs = lines.flatMap((l) => (l.gc ? [l.gc] : []))
  const memory = lines.flatMap((l) => (l.memory ? [l.memory] : []))
  return {
    p99: Math.max(0, ...lines.map((l) => l.p99)),
    max: Math.max(0, ...lines.map((l) => l.max)),
    stalls: lines.reduce((sum, l) => sum + l.stalls, 0),
    ...(served.length > 0
      ? { served: { p50: quantileOf(served, 0.5), p99: quantileOf(served, 0.99) } }
      : {}),
    ...(gcs.length > 0
      ? {
          gc: {
            count: gcs.reduce((sum, g) => sum + g.count, 0),
            total: gcs.reduce((sum, g) => sum + g.total, 0),
            max: Math.max(...gcs.map((g) => g.max)),
            major: gcs.reduce((sum, g) => sum + g.major, 0),
          },
        }
      : {}),
    ...(memory.length > 0
      ? {
          memory: {
            rss: Math.max(...memory.map((m) => m.rss)) / 2 ** 20,
            heap: Math.max(...memory.map((m) => m.heap)) / 2 ** 20,
          },
        }
      : {}),
  }
}

/** Steal from this share of the machine's CPU time up is printed with a row… */
const STEAL_NOTED = 0.005
/**
 * …and from this share up the row is marked as measured on a busy host:
 * its latency then says more about the host than about the server (evenly paced half-rate
 * starts on the same code read p99 8-112 ms in one session; the worst rows had 9-40 % steal).
 */
const STEAL_BUSY = 0.02
/** Whether a row's steal marks it (as printed: 1.96 % reads 2.0 % and is marked too). */
const hostBusy = (steal: number) => Math.round(steal * 1000) >= STEAL_BUSY * 1000

/** A row's requests use fresh numbers: budget for the fastest rate a 2-core machine reaches. */
const rangeFor = (seconds = SECONDS + WARMUP) => seconds * 40_000

function report(row: Row): Row {
  const flag = row.errors > 0 ? `  INVALID: ${row.errors} errors, first ${row.firstError}` : ''
  const loop = row.loop
    ? `  loop delay p99 ${row.loop.p99} ms, max ${row.loop.max} ms, ${row.loop.stalls} stalls > 10 ms${
        row.loop.served
          ? `; inside the server p50 ${row.loop.served.p50.toFixed(2)} ms, p99 ${row.loop.served.p99.toFixed(2)} ms`
          : ''
      }${
        row.loop.gc
          ? `; GC ${row.loop.gc.count} pauses (${row.loop.gc.major} major), ${row.loop.gc.total.toFixed(0)} ms in all, longest ${row.loop.gc.max.toFixed(1)} ms`
          : ''
      }${
        row.loop.memory
          ? `; up to ${row.loop.memory.rss.toFixed(0)} MiB RSS, ${row.loop.memory.heap.toFixed(0)} MiB JS heap`
          : ''
      }`
    : ''
  const drained =
    row.drainSeconds && row.drainSeconds > 0
      ? `  (${row.queued ?? '?'} texts still queued at the end: ${row.drainSeconds.toFixed(1)} s to send them, counted)`
      : ''
  const ran = row.exhausted
    ? ` (ran out of prepared verifications after ${row.seconds.toFixed(1)} s)`
    : ''
  const stolen =
    row.steal !== undefined && row.steal >= STEAL_NOTED
      ? `  host steal ${percent(row.steal, 1)}${hostBusy(row.steal) ? ' (host busy)' : ''}`
      : ''
  console.log(
    `  ${row.name.padEnd(44)} ${row.perSecond.toFixed(0).padStart(7)} req/s  p50 ${row.p50.toFixed(2)} ms  p99 ${row.p99.toFixed(2)} ms  server CPU ${row.cpuMsPerRequest.toFixed(3)} ms/req${stolen}${loop}${drained}${ran}${flag}`,
  )
  if (row.threads) console.log(describeThreads(row.threads))
  return row
}

/** The share of one core a row's servers used: throughput × CPU time per request. */
function bareCoreShare(row: Row): string {
  return `${Math.round((row.perSecond * row.cpuMsPerRequest) / 10)} %`
}

/** The row of median throughput, or of median `by` (the lower middle one of an even count). */
function median(list: Row[], by: (row: Row) => number = (row) => row.perSecond): Row {
  const sorted = [...list].sort((a, b) => by(a) - by(b))
  return sorted[Math.floor((sorted.length - 1) / 2)] as Row
}

/** `row` (kept from `rounds`) with the errors of every round: one in any round makes it invalid. */
function withErrorsOf(row: Row, rounds: Row[]): Row {
  const errors = rounds.reduce((sum, r) => sum + r.errors, 0)
  if (errors <= row.errors) return row
  return { ...row, errors, firstError: rounds.find((r) => r.errors > 0)?.firstError ?? '' }
}

/** The median of numbers (the mean of the middle two for an even count; 0 for none). */
function medianValue(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** Resident set size of a process, in MiB (Linux /proc). */
function rssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

/**
 * The lowest RSS over `ms` (sampled every 100 ms): right after a row, RSS swings by tens of MiB
 * with where the garbage collector happens to be, and its floor is what a leak would raise.
 */
async function rssFloorMiB(pid: number | undefined, ms = 2_000): Promise<number> {
  let floor = rssMiB(pid)
  for (let waited = 0; waited < ms; waited += 100) {
    await new Promise((r) => setTimeout(r, 100))
    floor = Math.min(floor, rssMiB(pid))
  }
  return floor
}

/**
 * Asks the server (preloaded with ./gc-on-signal.mjs) for a full garbage collection and returns
 * the JS heap it then keeps, MiB.
 */
async function heapAfterCollection(pid: number | undefined, report: string): Promise<number> {
  const before = readFileSync(report, 'utf8').length
  process.kill(pid as number, 'SIGUSR2')
  for (let waited = 0; waited < 10_000; waited += 50) {
    await new Promise((r) => setTimeout(r, 50))
    const text = readFileSync(report, 'utf8')
    const line = text.slice(before).split('\n')[0]
    if (line) return (JSON.parse(line) as { heapUsed: number }).heapUsed / 1024 / 1024
  }
  throw new Error('the server did not report a full collection within 10 s (gc-on-signal.mjs)')
}

interface TextgateUnderTest {
  urls: string[]
  project: CreatedProject
  databaseUrl: string
  /** The first server's environment (what its CLI needs to reach its database and secrets). */
  env: Record<string, string | undefined>
  pids: (number | undefined)[]
  close(): Promise<void>
}

/** The Textgate servers up now: every row waits until they have finished their background work. */
const running = new Set<TextgateUnderTest>()

/** Starts `processes` Textgate servers on one database and creates the bench project. */
async function startTextgates(
  databaseUrl: string | undefined,
  processes = 1,
  cliPath?: string,
  extraEnv: Record<string, string> = {},
  extraNodeArgs: string[] = [],
): Promise<TextgateUnderTest> {
  const first = await startTextgate({
    databaseUrl,
    env: { ...SERVER_ENV, ...extraEnv },
    direct: true,
    nodeArgs: [...SERVER_NODE_ARGS, ...extraNodeArgs],
    ...(cliPath ? { cliPath } : {}),
  })
  const servers = [first]
  try {
    for (let i = 1; i < processes; i++) {
      servers.push(
        await startTextgate({
          databaseUrl: first.env.DATABASE_URL,
          env: { ...SERVER_ENV, ...extraEnv },
          direct: true,
          nodeArgs: [...SERVER_NODE_ARGS, ...extraNodeArgs],
          ...(cliPath ? { cliPath } : {}),
        }),
      )
    }
    const settingsFile = join(first.env.TEXTGATE_DATA_DIR ?? '', 'bench-fraud.json')
    writeFileSync(settingsFile, JSON.stringify(BENCH_FRAUD_SETTINGS))
    const project = createProject(first.env, 'Bench store', [ORIGIN], settingsFile, cliPath)
    const tg: TextgateUnderTest = {
      urls: servers.map((s) => s.url),
      project,
      databaseUrl: first.env.DATABASE_URL ?? '',
      env: first.env,
      pids: servers.map((s) => s.child.pid),
      close: async () => {
        running.delete(tg)
        for (const s of servers.reverse()) await s.close()
      },
    }
    running.add(tg)
    return tg
  } catch (error) {
    for (const s of servers) await s.close()
    throw error
  }
}

/**
 * Pending verifications with known codes, written straight into the database (untimed) as a
 * start writes them, for a check row: `[id, phone, code]` in a file for the load generator.
 */
async function prepareChecks(tg: TextgateUnderTest, count: number): Promise<string> {
  const { pepper } = deriveSecrets(TEST_SECRET)
  const storage = openStorage(tg.databaseUrl)
  const offset = takeRange(count)
  const at = Date.now()
  const supply: [string, string, string][] = []
  try {
    for (let from = 0; from < count; from += 1000) {
      const rows = []
      for (let i = from; i < Math.min(count, from + 1000); i++) {
        const id = newId('ver')
        const code = String(100_000 + ((i * 7919) % 900_000))
        const phone = phoneNumber(offset + i)
        supply.push([id, phone, code])
        rows.push({
          id,
          project_id: tg.project.projectId,
          mode: 'test' as const,
          phone,
          country: 'GB',
          channel: 'sms' as const,
          locale: null,
          status: 'pending' as const,
          code_hmac: hashCode(pepper, id, code),
          code_length: 6,
          attempts: 0,
          sends: 1,
          consent_version: 'bench',
          consent_at: at,
          consent_marketing: 0,
          origin: ORIGIN,
          ip: clientIp(offset + i),
          created_at: at,
          expires_at: at + 600_000,
          resend_after: at + 30_000,
          approved_at: null,
          risk_decision: 'allow',
          risk_reasons: '[]',
        })
      }
      await storage.db.insertInto('verifications').values(rows).execute()
    }
  } finally {
    await storage.close()
  }
  mkdirSync(TMP, { recursive: true })
  const file = join(TMP, `bench-supply-${process.pid}.json`)
  writeFileSync(file, JSON.stringify(supply))
  return file
}

const headersFor = (project: CreatedProject) => ({
  authorization: `Bearer ${project.publishableKey}`,
  origin: ORIGIN,
})

/** How long a row waits for the texts of the rows before it to leave the outbox. */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 60_000)

/**
 * Waits until the server has dispatched every due text of earlier rows, so each row begins with
 * an empty outbox (a row must not pay for its predecessor's backlog, nor skip its own, nor a peer
 * row share the machine with Textgate's).
 */
async function settle(tg: TextgateUnderTest): Promise<number> {
  const storage = openStorage(tg.databaseUrl)
  const until = Date.now() + SETTLE_MS
  let first: number | undefined
  try {
    for (;;) {
      const { due } = await storage.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<number>().as('due'))
        .where('state', '=', 'pending')
        .where('available_at', '<=', Date.now())
        .executeTakeFirstOrThrow()
      first ??= Number(due)
      if (Number(due) === 0) return first
      if (Date.now() > until) {
        console.log(`  (the outbox still held ${due} due texts after ${SETTLE_MS / 1000} s)`)
        return first
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  } finally {
    await storage.close()
  }
}

/** CPU a server may use over IDLE_WINDOW_MS and still count as idle (ticks are 10 ms). */
const IDLE_CPU_MS = 20
const IDLE_WINDOW_MS = 500

/**
 * Before every row, whichever server it loads: every Textgate server up has dispatched its due
 * texts and gone idle (checkpoints, webhooks, sweeps), at most BENCH_SETTLE_MS in all.
 */
async function quietMachine(): Promise<void> {
  for (const tg of running) await settle(tg)
  const pids = [...running].flatMap((tg) => tg.pids)
  const until = Date.now() + SETTLE_MS
  for (;;) {
    const before = cpuOf(pids)
    await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS))
    const used = cpuOf(pids) - before
    if (used <= IDLE_CPU_MS) return
    if (Date.now() > until) {
      console.log(`  (Textgate servers still busy: ${used} ms CPU in ${IDLE_WINDOW_MS} ms)`)
      return
    }
  }
}

/**
 * A row of starts. Their texts are part of the work: when the outbox still holds some at the end
 * of the row, the time and CPU it takes to send them count too (the row's rate is its requests
 * over the row's time plus that drain), so a server cannot look fast by falling behind.
 */
async function startRow(name: string, tg: TextgateUnderTest, extra: Partial<LoadSpec> = {}) {
  const row = await load({
    targets: tg.urls,
    pids: tg.pids,
    kind: 'start',
    headers: headersFor(tg.project),
    offset: takeRange(rangeFor()),
    expect: 201,
    ...extra,
  })
  const cpuBefore = cpuOf(tg.pids)
  const drainFrom = Date.now()
  const queued = await settle(tg)
  const drainSeconds = (Date.now() - drainFrom) / 1000
  const drainCpu = cpuOf(tg.pids) - cpuBefore
  const all = Math.max(1, row.requests + row.warmupRequests)
  return report({
    name,
    kind: 'start',
    ...row,
    perSecond: row.requests / (row.seconds + drainSeconds),
    cpuMsPerRequest: row.cpuMsPerRequest + drainCpu / all,
    drainSeconds,
    queued,
  })
}

async function checkRow(name: string, tg: TextgateUnderTest, extra: Partial<LoadSpec> = {}) {
  const supplyFile = await prepareChecks(tg, CHECK_SUPPLY)
  const row = await load({
    targets: tg.urls,
    pids: tg.pids,
    kind: 'check',
    headers: headersFor(tg.project),
    offset: takeRange(CHECK_SUPPLY),
    expect: 200,
    supplyFile,
    ...extra,
  })
  return report({ name, kind: 'check', ...row })
}

/** A new database on the PostgreSQL server of POSTGRES_URL, and how to drop it. */
async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = new URL(POSTGRES_URL ?? '')
  const name = `tg_bench_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`
  const exec = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.toString() })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  await exec(`CREATE DATABASE ${name}`)
  const url = new URL(admin)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  }
}

/**
 * The guard section's before server (BENCH_BEFORE): that revision's checkout serving its own
 * SQLite file with the same routes, and a live key of a project with the guard fully on, both
 * made by that revision's CLI.
 */
async function guardBeforeServer(revision: string, routesEnv: Record<string, string>) {
  const checkout = checkoutBefore(revision)
  const tg = await startTextgates(undefined, 1, checkout.cliPath, routesEnv)
  try {
    const settingsFile = join(TMP, `bench-guard-on-${process.pid}.json`)
    writeFileSync(settingsFile, JSON.stringify(GUARD_ON))
    const env = { ...tg.env, ...routesEnv }
    const project = createProject(env, 'Guard on', [ORIGIN], settingsFile, checkout.cliPath)
    const created = cli(
      ['keys', 'create', '--project', project.projectId, '--live', '--json'],
      env,
      checkout.cliPath,
    )
    if (created.status !== 0) throw new Error(`keys create failed: ${created.stderr}`)
    const key = (JSON.parse(created.stdout) as { publishableKey: string }).publishableKey
    return {
      tg,
      key,
      close: async () => {
        await tg.close()
        checkout.remove()
      },
    }
  } catch (error) {
    await tg.close()
    checkout.remove()
    throw error
  }
}

async function withPostgresDatabase<T>(run: (url: string) => Promise<T>): Promise<T> {
  const database = await createPostgresDatabase()
  try {
    return await run(database.url)
  } finally {
    await database.drop()
  }
}

/** A server of the half-rate rows: this checkout's, or BENCH_BEFORE's. */
interface HalfRateContender {
  /** Prefix of its row keys ('' for this checkout, 'before' for the other revision). */
  prefix: string
  /** Prefix of its row names. */
  label: string
  cliPath?: string
  env?: Record<string, string>
}

/**
 * Start and check at half their maximum rate, on fresh servers: as autocannon paces a rate
 * (each second's quota as fast as it goes, then a pause) and evenly paced (open loop), in
 * {@link HALF_ROUNDS} rounds. One 10 s row's p99 rests on a handful of event-loop stalls and
 * moves fourfold between runs of the same code on a shared host, so each kind keeps the row of
 * median p99 over the rounds (as the throughput rows keep their median round), named with every
 * round's p99. With a second contender (BENCH_BEFORE), both servers are up together and each of
 * its rows runs right beside this checkout's, the two taking turns going first, and the p99
 * ratios of each round's pair are returned: the host's drift over a run then falls on both.
 */
async function halfRateRows(
  rows: Record<string, Row>,
  startMax: number,
  checkMax: number,
  contenders: HalfRateContender[],
): Promise<Record<string, number[]>> {
  const startRate = Math.max(1, Math.round(startMax / 2))
  const checkRate = Math.max(1, Math.round(checkMax / 2))
  console.log(
    `\nSQLite at half the maximum rate (latency with headroom): ${startRate} starts and ${checkRate} checks a second`,
  )
  // The floor: what this machine and the load generator add to a request at that pace.
  rows.barePacedHalf = await bareRow(
    "bare Hono route at the start's ½ rate, evenly paced (floor)",
    startRate,
  )
  const kinds: { key: string; name: string; check: boolean; paced: boolean }[] = [
    { key: 'startHalf', name: 'Textgate start at ½ max rate', check: false, paced: false },
    { key: 'checkHalf', name: 'Textgate check at ½ max rate', check: true, paced: false },
    {
      key: 'startPacedHalf',
      name: 'Textgate start at ½ max rate, evenly paced',
      check: false,
      paced: true,
    },
    {
      key: 'checkPacedHalf',
      name: 'Textgate check at ½ max rate, evenly paced',
      check: true,
      paced: true,
    },
  ].filter((kind) => !kind.check || KINDS.has('check'))
  /** Rows by contender, then by kind, one per round. */
  const rounds = contenders.map(() => ({}) as Record<string, Row[]>)
  const servers: TextgateUnderTest[] = []
  try {
    for (const c of contenders) servers.push(await startTextgates(undefined, 1, c.cliPath, c.env))
    for (let round = 1; round <= HALF_ROUNDS; round++) {
      if (HALF_ROUNDS > 1) console.log(`  round ${round}`)
      for (const kind of kinds) {
        // With two contenders, this checkout's row goes first in odd rounds.
        const order = contenders.map((_, i) => i)
        if (round % 2 === 0) order.reverse()
        for (const i of order) {
          const c = contenders[i] as HalfRateContender
          const tg = servers[i] as TextgateUnderTest
          const extra = { rate: kind.check ? checkRate : startRate, paced: kind.paced }
          const name = `${c.label}${kind.name}`
          const row = kind.check ? await checkRow(name, tg, extra) : await startRow(name, tg, extra)
          const mine = rounds[i] as Record<string, Row[]>
          mine[kind.key] = [...(mine[kind.key] ?? []), row]
        }
      }
    }
  } finally {
    for (const tg of servers) await tg.close()
  }
  contenders.forEach((c, i) => {
    for (const [key, list] of Object.entries(rounds[i] as Record<string, Row[]>)) {
      const kept = withErrorsOf(
        median(list, (row) => row.p99),
        list,
      )
      if (list.length <= 1) {
        rows[`${c.prefix}${key}`] = kept
        continue
      }
      // The median round's p99 is the row's; the p99 of every round's requests taken together
      // is printed beside it, since one bad round of three moves it and not the median.
      const pooledP99 = quantileOfBuckets(
        list.map((row) => row.latencyBuckets),
        0.99,
      )
      rows[`${c.prefix}${key}`] = {
        ...kept,
        name: `${kept.name} (p99 ${list.map((r) => r.p99.toFixed(2)).join(' / ')}; all rounds ${pooledP99.toFixed(2)})`,
        pooledP99,
      }
      console.log(
        `  ${c.label}${kinds.find((k) => k.key === key)?.name}: p99 of the median round ${kept.p99.toFixed(2)} ms, of all ${list.length} rounds' ${list.reduce((n, r) => n + r.requests, 0)} requests together ${pooledP99.toFixed(2)} ms`,
      )
    }
  })
  // The p99 of this checkout's row ÷ the other's, round by round.
  const paired: Record<string, number[]> = {}
  const [mine, theirs] = rounds
  if (mine && theirs) {
    for (const kind of kinds) {
      const a = mine[kind.key] ?? []
      const b = theirs[kind.key] ?? []
      paired[kind.key] = a.map((row, r) => row.p99 / (b[r]?.p99 ?? Number.NaN))
    }
  }
  return paired
}

/**
 * A row of the bare Hono route (parse a JSON body, answer JSON) on a server of its own: as fast
 * as it goes (the ceiling), or evenly paced at `rate` (the latency any server gets at that pace on
 * this machine from this load generator: its timers, its HTTP client, the shared cores).
 */
async function bareRow(name: string, rate?: number): Promise<Row> {
  const port = await freePort()
  const bare = await startProcess(
    [join(ROOT, 'test/bench/baseline-server.ts')],
    { PORT: String(port) },
    port,
    '/healthz',
    { direct: true },
  )
  try {
    return report({
      name,
      kind: 'echo',
      ...(await load({
        targets: [bare.url],
        pids: [bare.child.pid],
        kind: 'echo',
        headers: {},
        offset: takeRange(rangeFor()),
        expect: 201,
        ...(rate ? { rate, paced: true } : {}),
      })),
    })
  } finally {
    await bare.stop()
  }
}

async function main() {
  const load1 = loadavg()[0]?.toFixed(2)
  console.log(
    `Textgate benchmark: ${SECONDS} s per row after ${WARMUP} s warm-up, ${CONNECTIONS} connections, ` +
      `autocannon in its own process; ${cpus().length} CPUs, load average ${load1} at start, ` +
      `Node ${process.version}, loopback\n`,
  )
  const rows: Record<string, Row> = {}
  let pairedRatios: Record<string, number> = {}
  /** BENCH_SECTIONS=half with BENCH_BEFORE: p99 now ÷ before per kind, median of the rounds. */
  const halfP99Ratios: Record<string, number> = {}
  const problems: string[] = []
  const out: Record<string, unknown> = {
    seconds: SECONDS,
    warmup: WARMUP,
    connections: CONNECTIONS,
    cpus: cpus().length,
    loadAverageAtStart: loadavg(),
    node: process.version,
  }
  // The ceiling: a bare Hono route on the same runtime and HTTP stack.
  rows.bare = await bareRow('bare Hono route (POST /echo)')
  if (rows.bare.perSecond < BARE_MINIMUM) {
    problems.push(
      `INVALID: the bare Hono route ran at ${rows.bare.perSecond.toFixed(0)} req/s (< ${BARE_MINIMUM}): ` +
        `the machine or the load generator is the bottleneck (the bare server used ${bareCoreShare(rows.bare)} ` +
        'of a core: near 100 % the server is CPU-bound and the machine is the limit; well under, the load generator)',
    )
    console.log(`  ${problems.at(-1)}`)
  }

  if (SECTIONS.has('sqlite')) {
    console.log(
      `\nSQLite: Textgate and better-auth's phone-number plugin (peer), one process each, ` +
        `${ROUNDS} round${ROUNDS > 1 ? 's' : ''} taking turns (the median round is kept)`,
    )
    const tg = await startTextgates(undefined, 1, undefined, NOW_ENV)
    const dir = tempDir('tg-peer-')
    const port = await freePort()
    let peer: Started | undefined
    let before: TextgateUnderTest | undefined
    let beforeCheckout: { cliPath: string; remove(): void } | undefined
    const rounds: Record<
      'start' | 'check' | 'peerSend' | 'peerVerify' | 'beforeStart' | 'beforeCheck' | 'pgStart',
      Row[]
    > = {
      start: [],
      check: [],
      peerSend: [],
      peerVerify: [],
      beforeStart: [],
      beforeCheck: [],
      pgStart: [],
    }
    // With the PostgreSQL section, its start row takes a turn in each round too, right after
    // SQLite's: "PostgreSQL start ÷ SQLite start" is then a ratio of rows that shared the
    // machine's load, as the peer's are, not of rows minutes apart.
    let pgDatabase: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined
    let pgTextgate: TextgateUnderTest | undefined
    try {
      if (SECTIONS.has('postgres') && POSTGRES_URL) {
        pgDatabase = await createPostgresDatabase()
        pgTextgate = await startTextgates(pgDatabase.url)
      }
      if (BEFORE) {
        beforeCheckout = checkoutBefore(BEFORE)
        before = await startTextgates(undefined, 1, beforeCheckout.cliPath)
      }
      const startPeer = (round: number) =>
        startProcess(
          [join(ROOT, 'test/bench/peer-server.ts')],
          { PORT: String(port), PEER_DB: join(dir.path, `peer-${round}.db`) },
          port,
          '/healthz',
          { direct: true },
        )
      // A settling start load on each Textgate server, not counted: the first row of a run
      // read 10-25 % under the same server's later rows, so round 1's pair was unfair to
      // whichever row went first (this checkout's, with BENCH_BEFORE).
      for (const server of [tg, before, pgTextgate]) {
        if (!server) continue
        await startRow('settling (not counted)', server, {
          durationSeconds: WARMUP,
          warmupSeconds: 0,
        })
      }
      for (let round = 1; round <= ROUNDS; round++) {
        if (ROUNDS > 1) console.log(`  round ${round}`)
        // The peer at its best: a new process on a new file each round (see PEER_KEPT).
        if (!peer || !PEER_KEPT) {
          await peer?.stop()
          peer = await startPeer(round)
        }
        // With BENCH_BEFORE the pair takes turns going first (the rows of a run still climb from
        // one to the next: a fixed order would favour the second).
        const beforeFirst = round % 2 === 0
        const beforeStart = async () => {
          if (before) rounds.beforeStart.push(await startRow(`before (${BEFORE}): start`, before))
        }
        const beforeCheck = async () => {
          if (before) rounds.beforeCheck.push(await checkRow(`before (${BEFORE}): check`, before))
        }
        if (beforeFirst) await beforeStart()
        rounds.start.push(await startRow('Textgate start (POST /v1/verifications)', tg))
        if (pgTextgate) {
          const onPostgres = pgTextgate
          rounds.pgStart.push(
            await withDatabaseCpu(() => startRow('Textgate start on PostgreSQL', onPostgres)),
          )
        }
        if (!beforeFirst) await beforeStart()
        rounds.peerSend.push(
          report({
            name: 'better-auth send-otp',
            kind: 'peer-send',
            ...(await load({
              pids: [peer.child.pid],
              targets: [peer.url],
              kind: 'peer-send',
              headers: {},
              offset: takeRange(rangeFor()),
              expect: 200,
            })),
          }),
        )
        if (!KINDS.has('check')) continue
        if (beforeFirst) await beforeCheck()
        rounds.check.push(await checkRow('Textgate check (POST …/check)', tg))
        if (!beforeFirst) await beforeCheck()
        const codes = (await (await fetch(`${peer.url}/bench/codes`)).json()) as [string, string][]
        const supplyFile = join(TMP, `bench-peer-supply-${process.pid}.json`)
        writeFileSync(supplyFile, JSON.stringify(codes.map(([phone, code]) => ['', phone, code])))
        rounds.peerVerify.push(
          report({
            name: 'better-auth verify',
            kind: 'peer-verify',
            ...(await load({
              pids: [peer.child.pid],
              targets: [peer.url],
              kind: 'peer-verify',
              headers: {},
              offset: takeRange(codes.length),
              expect: 200,
              supplyFile,
            })),
          }),
        )
      }
    } finally {
      await peer?.stop()
      dir.remove()
      await tg.close()
      await pgTextgate?.close()
      await pgDatabase?.drop()
      await before?.close()
      beforeCheckout?.remove()
    }
    // Rows measured back to back in one round share the machine's load: their ratios, one per
    // round, are steadier than ratios of medians.
    const paired = (a: Row[], b: Row[], of: (x: Row, y: Row) => number) => {
      const values = a.map((x, i) => (b[i] ? of(x, b[i] as Row) : 0)).sort((x, y) => x - y)
      return values[Math.floor((values.length - 1) / 2)] ?? 0
    }
    const throughput = (x: Row, y: Row) => x.perSecond / y.perSecond
    const perCpu = (x: Row, y: Row) => y.cpuMsPerRequest / x.cpuMsPerRequest
    pairedRatios = {
      startVsSendOtp: paired(rounds.start, rounds.peerSend, throughput),
      checkVsVerify: paired(rounds.check, rounds.peerVerify, throughput),
      startVsSendOtpPerCpu: paired(rounds.start, rounds.peerSend, perCpu),
      checkVsVerifyPerCpu: paired(rounds.check, rounds.peerVerify, perCpu),
      ...(rounds.pgStart.length > 0
        ? { postgresStartVsSqliteStart: paired(rounds.pgStart, rounds.start, throughput) }
        : {}),
      ...(before
        ? {
            startAfterVsBefore: paired(rounds.start, rounds.beforeStart, throughput),
            checkAfterVsBefore: paired(rounds.check, rounds.beforeCheck, throughput),
            startAfterVsBeforePerCpu: paired(rounds.start, rounds.beforeStart, perCpu),
            checkAfterVsBeforePerCpu: paired(rounds.check, rounds.beforeCheck, perCpu),
          }
        : {}),
    }
    if (before) {
      rows.beforeStart = median(rounds.beforeStart)
      if (KINDS.has('check')) rows.beforeCheck = median(rounds.beforeCheck)
    }
    rows.start = median(rounds.start)
    rows.peerSend = median(rounds.peerSend)
    if (rounds.pgStart.length > 0) rows.pgStart = median(rounds.pgStart)
    if (KINDS.has('check')) {
      rows.check = median(rounds.check)
      rows.peerVerify = median(rounds.peerVerify)
    }
    // A row with errors in any round makes the kept row invalid too.
    for (const [key, list] of Object.entries(rounds)) {
      const row = rows[key]
      if (row) rows[key] = withErrorsOf(row, list)
    }

    if (rows.check) {
      await halfRateRows(rows, rows.start.perSecond, rows.check.perSecond, [
        { prefix: '', label: '', env: NOW_ENV },
      ])
    }
  }

  if (SECTIONS.has('half')) {
    // Only the latency rows: at BENCH_HALF_START_RATE / BENCH_HALF_CHECK_RATE when given, else
    // at half of what one row each at full speed measures first.
    console.log('\nSQLite: start and check at full speed, for the half-rate rows')
    let startMax = Number(process.env.BENCH_HALF_START_RATE ?? 0) * 2
    let checkMax = Number(process.env.BENCH_HALF_CHECK_RATE ?? 0) * 2
    if (!startMax || !checkMax) {
      const tg = await startTextgates(undefined)
      try {
        if (!startMax) {
          rows.start = await startRow('Textgate start', tg)
          startMax = rows.start.perSecond
        }
        if (!checkMax) {
          rows.check = await checkRow('Textgate check', tg)
          checkMax = rows.check.perSecond
        }
      } finally {
        await tg.close()
      }
    }
    const checkout = BEFORE ? checkoutBefore(BEFORE) : undefined
    try {
      const paired = await halfRateRows(rows, startMax, checkMax, [
        { prefix: '', label: '', env: NOW_ENV },
        ...(checkout
          ? [{ prefix: 'before', label: `before (${BEFORE}): `, cliPath: checkout.cliPath }]
          : []),
      ])
      if (Object.keys(paired).length > 0) {
        console.log(`\n  p99 now ÷ before (${BEFORE}), each round's pair (median):`)
        for (const [key, list] of Object.entries(paired)) {
          const middle = medianValue(list)
          halfP99Ratios[key] = middle
          console.log(
            `    ${key.padEnd(15)} ${list.map((x) => x.toFixed(2)).join(' / ')} (${middle.toFixed(2)})`,
          )
        }
      }
    } finally {
      checkout?.remove()
    }
  }

  if (SECTIONS.has('guard')) {
    console.log(
      `\nFraud guard cost: live-key starts with caller signals, one SQLite server, ${ROUNDS} round${ROUNDS > 1 ? 's' : ''} taking turns`,
    )
    // Live texts go to a real SMPP peer on loopback (in this process), as a store's would: with
    // no route they would fail and be retried for minutes, into the rows after theirs.
    const smsc = await startFakeSmsc({ receipts: 'tlv' })
    const routesFile = join(TMP, `bench-routes-${process.pid}.json`)
    mkdirSync(TMP, { recursive: true })
    writeFileSync(
      routesFile,
      JSON.stringify({
        carriers: [
          {
            id: 'bench-smsc',
            type: 'smpp',
            host: smsc.host,
            port: smsc.port,
            systemId: smsc.options.systemId,
            passwordEnv: 'TG_BENCH_SMSC_PASSWORD',
            sourceAddr: 'Bench',
          },
        ],
        projects: { '*': { rules: [{ routes: [{ carrier: 'bench-smsc' }] }] } },
      }),
    )
    const routesEnv = {
      TEXTGATE_ROUTES_FILE: routesFile,
      TG_BENCH_SMSC_PASSWORD: smsc.options.password,
    }
    const tg = await startTextgates(undefined, 1, undefined, routesEnv)
    // With BENCH_BEFORE, that revision's server (its own SQLite file, bound to the same SMPP
    // peer) runs a row with the guard fully on beside this one's: the live path before and after.
    // A revision older than the guard's settings cannot take them: no before row then.
    const before = BEFORE
      ? await guardBeforeServer(BEFORE, routesEnv).catch((error: Error) => {
          console.log(
            `  before (${BEFORE}): no guard row (${error.message.split('\n', 2).join(' ')})`,
          )
          return undefined
        })
      : undefined
    const all = { off: GUARD_OFF, round1: GUARD_ROUND1, on: GUARD_ON }
    // BENCH_GUARD=on (say) runs one setting alone, e.g. to profile it.
    const only = process.env.BENCH_GUARD?.split(',')
    const settings = Object.fromEntries(
      Object.entries(all).filter(([name]) => !only || only.includes(name)),
    ) as Partial<typeof all>
    const turns: Record<keyof typeof all | 'before', Row[]> = {
      off: [],
      round1: [],
      on: [],
      before: [],
    }
    try {
      const storage = openStorage(tg.databaseUrl)
      const keys: Record<string, string> = {}
      try {
        for (const [name, fraudSettings] of Object.entries(settings)) {
          const { project } = await createStoreProject(storage.db, {
            name: `Guard ${name}`,
            origins: [ORIGIN],
            fraudSettings,
          })
          keys[name] = await createApiKey(storage.db, project.id, 'publishable', 'live')
        }
      } finally {
        await storage.close()
      }
      const names = Object.keys(settings) as (keyof typeof settings)[]
      for (let round = 1; round <= ROUNDS; round++) {
        if (ROUNDS > 1) console.log(`  round ${round}`)
        // A different row first in each round, so no setting always runs on a fresh machine.
        const order: (keyof typeof turns)[] = names.map(
          (_, i) => names[(i + round - 1) % names.length] as keyof typeof settings,
        )
        // The before row right beside this revision's row with every check on, after it in odd
        // rounds and before it in even ones, as the SQLite section pairs its rows.
        const on = order.indexOf('on')
        if (before && on >= 0) order.splice(round % 2 === 1 ? on + 1 : on, 0, 'before')
        for (const name of order) {
          turns[name].push(
            name === 'before' && before
              ? await startRow(`before (${BEFORE}): start, guard on`, before.tg, {
                  headers: { authorization: `Bearer ${before.key}`, origin: ORIGIN },
                  signals: true,
                })
              : await startRow(`start, guard ${name === 'round1' ? 'round 1 only' : name}`, tg, {
                  headers: { authorization: `Bearer ${keys[name]}`, origin: ORIGIN },
                  signals: true,
                }),
          )
        }
      }
    } finally {
      await tg.close()
      await before?.close()
      await smsc.close()
    }
    const pairedMedian = (a: Row[], b: Row[], of: (x: Row, y: Row) => number) => {
      const values = a.map((x, i) => (b[i] ? of(x, b[i] as Row) : 0)).sort((x, y) => x - y)
      return values[Math.floor((values.length - 1) / 2)] ?? 0
    }
    const throughput = (x: Row, y: Row) => x.perSecond / y.perSecond
    const perCpu = (x: Row, y: Row) => y.cpuMsPerRequest / x.cpuMsPerRequest
    if (before && turns.on.length > 0) {
      const nowVsBefore = {
        throughput: pairedMedian(turns.on, turns.before, throughput),
        perCpu: pairedMedian(turns.on, turns.before, perCpu),
      }
      const rounds = turns.on.map((row, i) => throughput(row, turns.before[i] as Row).toFixed(2))
      rows.guardOnBefore = median(turns.before)
      out.guardNowVsBefore = nowVsBefore
      console.log(
        `  guard on, now ÷ before (${BEFORE}): ${rounds.join(' / ')}, ` +
          `median ${nowVsBefore.throughput.toFixed(2)} (per CPU-second ${nowVsBefore.perCpu.toFixed(2)})`,
      )
    }
    if (turns.on.length === 0 || turns.off.length === 0 || turns.round1.length === 0) {
      console.log('  (some settings left out by BENCH_GUARD: no ratios)')
    } else {
      const guard = {
        onVsOff: pairedMedian(turns.on, turns.off, throughput),
        onVsRound1: pairedMedian(turns.on, turns.round1, throughput),
        onVsOffPerCpu: pairedMedian(turns.on, turns.off, perCpu),
        onVsRound1PerCpu: pairedMedian(turns.on, turns.round1, perCpu),
      }
      rows.guardOff = median(turns.off)
      rows.guardRound1 = median(turns.round1)
      rows.guardOn = median(turns.on)
      out.guard = guard
      console.log(
        `  start throughput, guard on ÷ off: ${guard.onVsOff.toFixed(2)} (per CPU-second ${guard.onVsOffPerCpu.toFixed(2)}); ` +
          `on ÷ round 1 only (the destination and caller checks): ${guard.onVsRound1.toFixed(2)} ` +
          `(per CPU-second ${guard.onVsRound1PerCpu.toFixed(2)}), goal ≥ ${GUARD_GOAL.toFixed(2)} ` +
          `${guard.onVsRound1 >= GUARD_GOAL ? '✓' : '✗'}; load average ${loadavg()[0]?.toFixed(2)}`,
      )
    }
  }

  if ((SECTIONS.has('postgres') || SECTIONS.has('scale')) && !POSTGRES_URL) {
    console.log('\nPostgreSQL rows skipped: set BENCH_POSTGRES_URL or TEXTGATE_TEST_POSTGRES_URL')
  }
  if (SECTIONS.has('postgres') && POSTGRES_URL && !(rows.pgStart && !KINDS.has('check'))) {
    console.log('\nPostgreSQL, one server process')
    await withPostgresDatabase(async (url) => {
      const tg = await startTextgates(url)
      try {
        // Measured in the SQLite rounds already when they ran (see there).
        rows.pgStart ??= await withDatabaseCpu(() => startRow('Textgate start on PostgreSQL', tg))
        if (KINDS.has('check')) {
          rows.pgCheck = await withDatabaseCpu(() => checkRow('Textgate check on PostgreSQL', tg))
        }
      } finally {
        await tg.close()
      }
    })
  }

  const scale: { processes: number; row: Row }[] = []
  if (SECTIONS.has('scale') && (POSTGRES_URL || SCALE_ON_SQLITE)) {
    console.log(
      `\nScale-out: start on N server processes sharing one ${SCALE_ON_SQLITE ? 'SQLite file' : 'PostgreSQL'}`,
    )
    for (const processes of PROCESSES) {
      const onDatabase = SCALE_ON_SQLITE
        ? (run: (url: string | undefined) => Promise<void>) => run(undefined)
        : withPostgresDatabase
      await onDatabase(async (url) => {
        const tg = await startTextgates(url, processes)
        const connections = Math.max(CONNECTIONS, processes * 4)
        try {
          // Each process settles on as many starts as the one-process row's server did: split
          // over N processes, the same few seconds left each a fraction of that traffic, and
          // most of a row's CPU went to V8 still compiling their code (2 processes: 2.2-2.5 ms
          // of server CPU a start after 3 s, 1.08 after 20).
          await startRow('settling (not counted)', tg, {
            durationSeconds: WARMUP * processes,
            warmupSeconds: 0,
            connections,
          })
          const row = await withDatabaseCpu(() =>
            startRow(`start, ${processes} process${processes > 1 ? 'es' : ''}`, tg, {
              connections,
            }),
          )
          scale.push({ processes, row })
        } finally {
          await tg.close()
        }
      })
    }
  }

  const memory: { after: number; rssMiB: number; heapMiB: number }[] = []
  let leak: { growthPercent: number; heapGrowthPercent: number; leaked: boolean } | undefined
  if (SECTIONS.has('memory')) {
    console.log(`\nMemory: one SQLite server, ${MEMORY_STARTS} starts in ${MEMORY_ROWS} rows`)
    const gcReport = join(TMP, `bench-gc-${process.pid}.jsonl`)
    writeFileSync(gcReport, '')
    const tg = await startTextgates(undefined, 1, undefined, { BENCH_GC_REPORT_FILE: gcReport }, [
      '--expose-gc',
      '--import',
      join(ROOT, 'test/bench/gc-on-signal.mjs'),
    ])
    /** A full collection in the server, then its RSS floor and the JS heap it keeps. */
    const measure = async (after: number) => {
      const heapMiB = await heapAfterCollection(tg.pids[0], gcReport)
      memory.push({ after, rssMiB: await rssFloorMiB(tg.pids[0]), heapMiB })
      return memory.at(-1) as (typeof memory)[number]
    }
    try {
      await new Promise((r) => setTimeout(r, 1000))
      const idle = await measure(0)
      console.log(
        `  after a full collection, idle: RSS ${idle.rssMiB.toFixed(1)} MiB, JS heap ${idle.heapMiB.toFixed(1)} MiB`,
      )
      const perRow = Math.ceil(MEMORY_STARTS / MEMORY_ROWS)
      for (let r = 1; r <= MEMORY_ROWS; r++) {
        const row = await startRow(`starts ${(r - 1) * perRow + 1}–${r * perRow}`, tg, {
          amount: perRow,
          durationSeconds: 3600,
          warmupSeconds: 0,
          offset: takeRange(perRow + 1000),
        })
        if (row.errors > 0) problems.push(`memory row ${r}: ${row.errors} errors`)
        const after = await measure(r * perRow)
        console.log(
          `    after ${r * perRow} starts and a full collection: RSS ${after.rssMiB.toFixed(1)} MiB (lowest over 2 s), JS heap ${after.heapMiB.toFixed(1)} MiB`,
        )
      }
      // Rows 2 onwards (the first fills caches and the database's page cache): the median of
      // the later half against the median of the earlier half, for RSS (native memory too:
      // SQLite, buffers) and for the JS heap. Each is read after a full collection, so garbage
      // not yet collected does not count; a leak moves the middle.
      const growth = (values: number[]) => {
        const half = Math.ceil(values.length / 2)
        const earlier = medianValue(values.slice(0, half))
        const later = medianValue(values.slice(half))
        const percent = values.length >= 2 && earlier > 0 ? ((later - earlier) / earlier) * 100 : 0
        return { half, earlier, later, percent }
      }
      const rss = growth(memory.slice(2).map((m) => m.rssMiB))
      const heap = growth(memory.slice(2).map((m) => m.heapMiB))
      leak = {
        growthPercent: rss.percent,
        heapGrowthPercent: heap.percent,
        leaked: rss.percent > LEAK_PERCENT || heap.percent > LEAK_PERCENT,
      }
      const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`
      console.log(
        `  leak check, median from rows 2–${rss.half + 1} to rows ${rss.half + 2}–${MEMORY_ROWS} (limit ${LEAK_PERCENT} %): ` +
          `RSS ${signed(rss.percent)} (${rss.earlier.toFixed(1)} → ${rss.later.toFixed(1)} MiB), ` +
          `JS heap ${signed(heap.percent)} (${heap.earlier.toFixed(1)} → ${heap.later.toFixed(1)} MiB): ${leak.leaked ? 'GROWS — possible leak' : 'no growth'}`,
      )
      if (rss.percent > LEAK_PERCENT)
        problems.push(`memory grew ${rss.percent.toFixed(1)} % across repeated rows (RSS)`)
      if (heap.percent > LEAK_PERCENT)
        problems.push(`the JS heap grew ${heap.percent.toFixed(1)} % across repeated rows`)
    } finally {
      await tg.close()
    }
  }

  // Summary with ratios.
  const bare = rows.bare.perSecond
  const ratio = (a: Row | undefined, b: Row | undefined) =>
    a && b && b.perSecond > 0 ? (a.perSecond / b.perSecond).toFixed(2) : ''
  const cpuRatio = (a: Row | undefined, b: Row | undefined) =>
    a && b && a.cpuMsPerRequest > 0 ? (b.cpuMsPerRequest / a.cpuMsPerRequest).toFixed(2) : ''
  const peerOf: Partial<Record<string, Row | undefined>> = {
    start: rows.peerSend,
    check: rows.peerVerify,
    startHalf: rows.peerSend,
    checkHalf: rows.peerVerify,
    pgStart: rows.peerSend,
    beforeStart: rows.peerSend,
    beforeCheck: rows.peerVerify,
    pgCheck: rows.peerVerify,
  }
  const table = Object.entries(rows).map(([key, r]) => ({
    run: r.name,
    'req/s': r.perSecond.toFixed(0),
    'vs bare': (r.perSecond / bare).toFixed(3),
    'vs peer': key.endsWith('Half') ? '' : ratio(r, peerOf[key]),
    'p50 ms': r.p50.toFixed(2),
    'p99 ms': r.p99.toFixed(2),
    'CPU ms/req': r.cpuMsPerRequest.toFixed(3),
    'req per CPU-s vs peer': key.endsWith('Half') ? '' : cpuRatio(r, peerOf[key]),
    'host steal': r.steal === undefined ? '' : percent(r.steal, 1),
    errors: r.errors,
    valid: r.errors === 0 ? 'yes' : 'INVALID',
  }))
  console.log('')
  console.table(table)
  if (Object.keys(pairedRatios).length > 0) {
    console.log(
      'Ratios within each round (median over rounds; throughput, then requests per CPU-second):',
    )
    for (const [name, value] of Object.entries(pairedRatios)) {
      console.log(`  ${name.padEnd(26)} ${value.toFixed(2)}`)
    }
  }
  if (pairedRatios.postgresStartVsSqliteStart) {
    console.log(
      `PostgreSQL start ÷ SQLite start: ${pairedRatios.postgresStartVsSqliteStart.toFixed(2)} (the median of the rounds' ratios)`,
    )
  } else if (rows.pgStart && rows.start) {
    console.log(`PostgreSQL start ÷ SQLite start: ${ratio(rows.pgStart, rows.start)}`)
  }
  if (rows.pgCheck && rows.check) {
    console.log(`PostgreSQL check ÷ SQLite check: ${ratio(rows.pgCheck, rows.check)}`)
  }
  if (scale.length > 0) {
    const one = scale[0]?.row
    console.table(
      scale.map(({ processes, row }) => ({
        processes,
        'start req/s': row.perSecond.toFixed(0),
        'vs 1 process': ratio(row, one),
        'p99 ms': row.p99.toFixed(2),
        errors: row.errors,
      })),
    )
  }
  for (const [key, r] of Object.entries(rows)) {
    if (r.errors > 0) problems.push(`${r.name}: ${r.errors} errors (first: ${r.firstError})`)
    void key
  }
  for (const { row } of scale) {
    if (row.errors > 0)
      problems.push(`${row.name}: ${row.errors} errors (first: ${row.firstError})`)
  }
  console.log(
    '\n"vs bare" = throughput as a share of the bare Hono route; "vs peer" = Textgate ÷ better-auth' +
      '\n(start ÷ send-otp, check ÷ verify). "CPU ms/req" = the server processes\' CPU time per request' +
      '\n(background work such as sending the text included); "req per CPU-s vs peer" = how many more' +
      '\nrequests Textgate serves per second of CPU than the peer: what throughput compares to when the' +
      '\nmachine is quiet, and steady when it is not. "host steal" = the share of the CPUs\' time the' +
      `\nhypervisor gave to other work while the row was measured (/proc/stat); a row with ${percent(STEAL_BUSY)} or more` +
      '\nis marked "host busy": its latency then says more about the host than about the server.' +
      '\nEvery server and the load generator ran on this machine in this run; load average at the end' +
      `\n${loadavg()[0]?.toFixed(2)} (other work on the machine skews absolute figures).`,
  )
  mkdirSync(TMP, { recursive: true })
  writeFileSync(
    join(TMP, 'bench-verify.json'),
    `${JSON.stringify({ ...out, rows, pairedRatios, halfP99Ratios, scale, memory, leak, problems, loadAverageAtEnd: loadavg() }, (key, value) => (key === 'latencyBuckets' ? undefined : value), 2)}\n`,
  )
  if (problems.length > 0) {
    console.error(`\n${problems.map((p) => `- ${p}`).join('\n')}\nThe run is INVALID.`)
    process.exit(1)
  }
}

try {
  await main()
} catch (error) {
  // A section that failed half-way leaves servers up: they go with the run, not after it.
  for (const tg of running) await tg.close().catch(() => {})
  throw error
}
