/**
 * `pnpm bench:dispatch`: how fast the outbox gets accepted texts to a carrier, against the raw
 * adapter sending to the same carrier in the same run — for an SMPP peer and for an HTTP carrier
 * (the local Twilio fake, which speaks Twilio's Messages API).
 *
 * The peer is the `smpp` package's own server on 127.0.0.1 (a fake SMSC that acknowledges at
 * once and sends TLV receipts), in this process. Four runs, each adapter with its own bind:
 * - raw adapter, burst: MESSAGES `smppCarrier().send` calls issued at once; the submit window
 *   (BENCH_WINDOW) paces them. Throughput baseline.
 * - raw adapter, paced: PACED sends arriving at BENCH_RATE per second. Latency baseline
 *   (call → submit_sm_resp).
 * - outbox drain: MESSAGES verifications + outbox rows committed first (one transaction each,
 *   as the API does) into a fresh SQLite file (or PostgreSQL with BENCH_DATABASE_URL), then the
 *   real dispatcher, with the router in front of an SMPP adapter, sends them all. Throughput.
 * - outbox dispatch, paced: PACED verifications committed at BENCH_RATE per second while the
 *   dispatcher runs, each text claimed and handed to the dispatcher after its commit as a start
 *   does. Latency = commit ("accepted") → submit_sm_resp ("carrier-acknowledged").
 * The two outbox runs are made once per dispatcher window (TEXTGATE_OUTBOX_WINDOW: texts handed
 * over and not yet recorded, the most a crash can duplicate): the default 1, and 16.
 *
 * A third target is the same SMPP peer answering after BENCH_SLOW_ACK_MS (50): a carrier across a
 * WAN, where the dispatcher window decides throughput (300 texts, paced at 10/s).
 *
 * Settings: BENCH_MESSAGES (2000), BENCH_WINDOW (10), BENCH_RATE (100), BENCH_PACED (500),
 * BENCH_OUTBOX_WINDOWS (1,16), BENCH_CARRIERS (smpp,slow,http), BENCH_DATABASE_URL. Output: a table, the ratios, and
 * test/.tmp/bench-dispatch.json.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { smppCarrier } from '@textgate/server/carriers/smpp'
import { twilioCarrier } from '@textgate/server/carriers/twilio'
import type { CarrierAdapter } from '@textgate/server/carriers/types'
import { createLogger } from '@textgate/server/logger'
import { createDispatcher, enqueueMessage } from '@textgate/server/outbox'
import { createProject } from '@textgate/server/projects'
import { createRouter, parseRoutingConfig } from '@textgate/server/routing'
import { deriveSecrets } from '@textgate/server/secrets'
import { migrateToLatest, openStorage } from '@textgate/server/storage'
import { startFakeSmsc } from '@textgate/server/testing/carriers/smpp'
import { startTwilioFake } from '@textgate/server/testing/carriers/twilio'
import { insertTestVerification } from '@textgate/server/testing/storage'
import { ROOT, tempDir } from '../support/processes'
import { quantileOf } from './quantile'

const DEFAULT_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000)
const WINDOW = Number(process.env.BENCH_WINDOW ?? 10)
/** Arrival rate (texts/s) and count of the latency runs: below capacity, so no backlog. */
const DEFAULT_RATE = Number(process.env.BENCH_RATE ?? 100)
const DEFAULT_PACED = Number(process.env.BENCH_PACED ?? 500)
/** The SMSC's answer delay in the slow-carrier run (ms): a carrier across a WAN. */
const SLOW_ACK_MS = Number(process.env.BENCH_SLOW_ACK_MS ?? 50)
const SLOW_MESSAGES = 300
/** Dispatcher windows to measure the outbox with. */
const OUTBOX_WINDOWS = (process.env.BENCH_OUTBOX_WINDOWS ?? '1,16').split(',').map(Number)
/** Which carriers to run: `smpp` (instant peer), `slow` (the 50 ms peer), `http` (Twilio fake). */
const CARRIERS = new Set((process.env.BENCH_CARRIERS ?? 'smpp,slow,http').split(','))
const logger = createLogger('warn', { pretty: false })

interface Result {
  name: string
  messages: number
  errors: number
  seconds: number
  perSecond: number
  p50: number
  p99: number
  /** Drain rows: CPU time of this process per text, ms. */
  cpuMsPerText?: number
}

function summarise(name: string, latencies: number[], seconds: number, errors: number): Result {
  latencies.sort((a, b) => a - b)
  const at = (q: number) => quantileOf(latencies, q)
  return {
    name,
    messages: latencies.length,
    errors,
    seconds,
    perSecond: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
  }
}

const TWILIO_SID = `AC${'0123456789abcdef'.repeat(2)}`
const TWILIO_TOKEN = 'bench-twilio-auth-token'
const phone = (i: number) => `+447400${String(i).padStart(6, '0')}`
const body = (i: number) => `Your Bench store code is ${String(100_000 + i)}`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Calls `run(i)` `count` times at `rate` per second (open loop), resolving when all settled. */
async function paced(count: number, rate: number, run: (i: number) => Promise<void>) {
  const started = performance.now()
  const all: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate
    const wait = due - performance.now()
    if (wait > 1) await sleep(wait)
    all.push(run(i))
  }
  await Promise.all(all)
}

interface Target {
  /** Label in the table, e.g. "SMPP peer" or "HTTP fake (Twilio)". */
  label: string
  /** A fresh adapter with its own connection to the target. */
  adapter(id: string): CarrierAdapter & { connect?(): Promise<void> }
  /** The routing file's carrier entry for the router in front of the outbox. */
  spec: Record<string, unknown>
  /** Texts per burst/drain, paced texts and their rate, when not the defaults. */
  counts?: { messages: number; paced: number; rate: number }
}

/** Runs against one target: raw burst, raw paced, then outbox drain and paced per window. */
async function runCarrier(target: Target, dir: string): Promise<Result[]> {
  const results: Result[] = []
  const { label } = target
  const {
    messages: MESSAGES,
    paced: PACED,
    rate: RATE,
  } = target.counts ?? {
    messages: DEFAULT_MESSAGES,
    paced: DEFAULT_PACED,
    rate: DEFAULT_RATE,
  }
  // Warm-up (JIT, the peer's code paths), not counted.
  const warm = target.adapter('warm')
  await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      warm.send({ id: `w${i}`, to: phone(i), body: body(i), projectId: 'p', mode: 'live' }),
    ),
  )
  await warm.close?.()

  // 1. The raw adapter: a burst for throughput, then a paced run for latency.
  const raw = target.adapter('raw')
  await raw.connect?.()
  let rawErrors = 0
  const rawSend = async (i: number, latencies: number[]) => {
    const t0 = performance.now()
    try {
      await raw.send({ id: `r${i}`, to: phone(i), body: body(i), projectId: 'p', mode: 'live' })
      latencies.push(performance.now() - t0)
    } catch {
      rawErrors++
    }
  }
  const burstLatencies: number[] = []
  const rawStart = performance.now()
  await Promise.all(Array.from({ length: MESSAGES }, (_, i) => rawSend(i, burstLatencies)))
  results.push(
    summarise(
      `${label}: raw adapter send, burst`,
      burstLatencies,
      (performance.now() - rawStart) / 1000,
      rawErrors,
    ),
  )
  const pacedLatencies: number[] = []
  const pacedStart = performance.now()
  await paced(PACED, RATE, (i) => rawSend(MESSAGES + i, pacedLatencies))
  results.push(
    summarise(
      `${label}: raw adapter send, ${RATE}/s`,
      pacedLatencies,
      (performance.now() - pacedStart) / 1000,
      rawErrors,
    ),
  )
  await raw.close?.()

  // 2. The outbox: storage, dispatcher, router, adapter; once per dispatcher window.
  for (const outboxWindow of OUTBOX_WINDOWS) {
    const storage = openStorage(
      process.env.BENCH_DATABASE_URL ??
        `sqlite:${dir}/bench-${label.replace(/\W+/g, '-')}-${outboxWindow}.db`,
      // As the server sizes it: room for every dispatcher worker beside the API's requests.
      { poolSize: 10 + outboxWindow },
    )
    await migrateToLatest(storage)
    const { encryptionKey } = deriveSecrets('bench-secret-0123456789-0123456789-0123')
    const projectId = (
      await createProject(storage.db, { name: 'Bench', origins: ['https://bench.test'] })
    ).project.id
    const adapter = target.adapter('bench-carrier')
    const acked = new Map<string, number>()
    const timed: CarrierAdapter = {
      ...adapter,
      id: adapter.id,
      capabilities: adapter.capabilities,
      async send(message) {
        const result = await adapter.send(message)
        acked.set(message.id, performance.now())
        return result
      },
    }
    const router = createRouter({
      config: parseRoutingConfig({
        carriers: [{ id: 'bench-carrier', ...target.spec }],
        projects: { '*': { rules: [{ routes: [{ carrier: 'bench-carrier' }] }] } },
      }),
      adapters: new Map([['bench-carrier', timed]]),
      logger,
    })
    await adapter.connect?.()
    const dispatcher = createDispatcher({
      storage,
      encryptionKey,
      logger,
      carrierFor: () => router,
      pollIntervalMs: 50,
      window: outboxWindow,
    })
    const accepted = new Map<string, number>()
    const runTag = `${label.replace(/\W+/g, '')}_${outboxWindow}`
    /** A text committed as a start commits it: `handOver`, claimed and handed to the dispatcher. */
    const enqueue = async (i: number, handOver = false) => {
      // Unique per run: on PostgreSQL every run shares one database.
      const verificationId = `ver_bench_${runTag}_${i}`
      const at = Date.now()
      const claim = handOver ? dispatcher.claimForHandoff(at) : undefined
      const text = await storage.db.transaction().execute(async (trx) => {
        await insertTestVerification(trx, {
          id: verificationId,
          projectId,
          phone: phone(i),
          now: at,
        })
        return enqueueMessage(trx, encryptionKey, {
          verificationId,
          projectId,
          mode: 'live',
          to: phone(i),
          body: body(i),
          now: at,
          claim,
        })
      })
      accepted.set(text.message.id, performance.now())
      if (claim) dispatcher.handOff(text, at + 600_000)
      else dispatcher.nudge()
    }
    const waitForAcks = async (count: number) => {
      const deadline = Date.now() + 120_000
      while (acked.size < count && Date.now() < deadline) await sleep(2)
    }
    /** Rows not done once the dispatcher has recorded the last acks (bounded wait). */
    const outboxErrors = async () => {
      const deadline = Date.now() + 10_000
      for (;;) {
        const row = await storage.db
          .selectFrom('outbox')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('state', '!=', 'done')
          .executeTakeFirstOrThrow()
        if (Number(row.n) === 0 || Date.now() > deadline) return Number(row.n)
        await sleep(20)
      }
    }

    // 2a. Throughput: MESSAGES accepted texts waiting, then the dispatcher drains them.
    for (let i = 0; i < MESSAGES; i++) await enqueue(i)
    const drainStart = performance.now()
    const cpuBefore = process.cpuUsage()
    dispatcher.start()
    await waitForAcks(MESSAGES)
    const cpu = process.cpuUsage(cpuBefore)
    const drained = [...acked.values()]
    results.push({
      ...summarise(
        `${label}: outbox drain, window ${outboxWindow} (${storage.dialect})`,
        drained.map((at) => at - drainStart),
        (Math.max(...drained) - drainStart) / 1000,
        MESSAGES - acked.size + (await outboxErrors()),
      ),
      // This process's CPU (dispatcher, adapter and the in-process peer): steadier than msg/s
      // when other work shares the machine.
      cpuMsPerText: (cpu.user + cpu.system) / 1000 / MESSAGES,
    })

    // 2b. Latency: texts accepted at RATE per second while the dispatcher runs.
    acked.clear()
    accepted.clear()
    const pacedOutboxStart = performance.now()
    // As the API's starts do: each text written claimed and handed over after its commit.
    await paced(PACED, RATE, (i) => enqueue(MESSAGES + i, true))
    await waitForAcks(PACED)
    await dispatcher.stop()
    results.push(
      summarise(
        `${label}: outbox dispatch, window ${outboxWindow}, ${RATE}/s (${storage.dialect})`,
        [...acked].map(([id, at]) => at - (accepted.get(id) ?? at)),
        (performance.now() - pacedOutboxStart) / 1000,
        PACED - acked.size + (await outboxErrors()),
      ),
    )
    await router.close()
    await storage.close()
  }
  return results
}

async function main() {
  console.log(
    `Dispatch benchmark: ${DEFAULT_MESSAGES} texts per run (${SLOW_MESSAGES} with the slow SMSC), ` +
      `SMPP submit window ${WINDOW}, ` +
      `${cpus().length} CPUs, load average ${loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')}, Node ${process.version}, carriers on 127.0.0.1\n`,
  )
  const smsc = await startFakeSmsc({ receipts: 'tlv' })
  const slowSmsc = await startFakeSmsc({ receipts: 'tlv', ackDelayMs: SLOW_ACK_MS })
  const twilio = await startTwilioFake({
    accountSid: TWILIO_SID,
    authToken: TWILIO_TOKEN,
    callbackUrl: 'https://bench.test/v1/carriers/bench-carrier/reports',
  })
  process.env.BENCH_TWILIO_TOKEN = TWILIO_TOKEN
  const dir = tempDir('tg-bench-dispatch-')
  const groups: Result[][] = []
  try {
    const smppOptions = {
      host: smsc.host,
      port: smsc.port,
      systemId: smsc.options.systemId,
      password: smsc.options.password,
      sourceAddr: 'Bench',
      window: WINDOW,
    }
    if (CARRIERS.has('smpp'))
      groups.push(
        await runCarrier(
          {
            label: 'SMPP peer',
            adapter: (id) => smppCarrier({ id, ...smppOptions, logger }),
            spec: { type: 'smpp', ...smppOptions },
          },
          dir.path,
        ),
      )
    // The same peer answering after SLOW_ACK_MS, as a carrier across a WAN does: where the
    // dispatcher's window matters (fewer texts, paced at 10/s, to keep the run short).
    const slowOptions = { ...smppOptions, port: slowSmsc.port }
    if (CARRIERS.has('slow'))
      groups.push(
        await runCarrier(
          {
            label: `SMPP peer, acks after ${SLOW_ACK_MS} ms`,
            adapter: (id) => smppCarrier({ id, ...slowOptions, logger }),
            spec: { type: 'smpp', ...slowOptions },
            counts: { messages: SLOW_MESSAGES, paced: 100, rate: 10 },
          },
          dir.path,
        ),
      )
    if (CARRIERS.has('http'))
      groups.push(
        await runCarrier(
          {
            label: 'HTTP fake (Twilio)',
            adapter: (id) => ({
              ...twilioCarrier({
                accountSid: TWILIO_SID,
                authToken: TWILIO_TOKEN,
                from: '+15005550006',
                baseUrl: twilio.baseUrl,
              }),
              id,
            }),
            spec: {
              type: 'twilio',
              accountSid: TWILIO_SID,
              authTokenEnv: 'BENCH_TWILIO_TOKEN',
              from: '+15005550006',
              baseUrl: twilio.baseUrl,
            },
          },
          dir.path,
        ),
      )
  } finally {
    await smsc.close()
    await slowSmsc.close()
    await twilio.close()
    dir.remove()
  }
  const results = groups.flat()
  console.table(
    results.map((r) => ({
      run: r.name,
      'msg/s': r.perSecond.toFixed(0),
      'p50 ms': r.p50.toFixed(2),
      'p99 ms': r.p99.toFixed(2),
      'CPU ms/text': r.cpuMsPerText?.toFixed(3) ?? '',
      errors: r.errors,
    })),
  )
  for (const group of groups) {
    const [rawBurst, rawPaced, ...outbox] = group as [Result, Result, ...Result[]]
    console.log(`\n${rawBurst.name.split(':')[0]}`)
    for (const [index, outboxWindow] of OUTBOX_WINDOWS.entries()) {
      const drain = outbox[index * 2] as Result
      const dispatch = outbox[index * 2 + 1] as Result
      console.log(
        `  window ${outboxWindow}: throughput, outbox drain / raw burst: ${(drain.perSecond / rawBurst.perSecond).toFixed(2)};` +
          ` paced, accepted→acknowledged outbox / raw send: p99 ${(dispatch.p99 / rawPaced.p99).toFixed(2)},` +
          ` p50 ${(dispatch.p50 / rawPaced.p50).toFixed(2)}`,
      )
    }
  }
  console.log(
    '\nEach outbox run is compared with the raw adapter against the same carrier fake, on this\n' +
      'machine, in this run. Burst latencies include queueing behind all texts at once; the paced\n' +
      'runs arrive below capacity.',
  )
  console.log(
    `load average at the end: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  )
  const outDir = join(ROOT, 'test/.tmp')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(
    join(outDir, 'bench-dispatch.json'),
    `${JSON.stringify({ messages: DEFAULT_MESSAGES, slowMessages: SLOW_MESSAGES, slowAckMs: SLOW_ACK_MS, window: WINDOW, outboxWindows: OUTBOX_WINDOWS, rate: DEFAULT_RATE, paced: DEFAULT_PACED, cpus: cpus().length, node: process.version, results }, null, 2)}\n`,
  )
  if (results.some((r) => r.errors > 0)) {
    console.error('\nThe benchmark saw errors: figures are not valid.')
    process.exit(1)
  }
}

await main()
