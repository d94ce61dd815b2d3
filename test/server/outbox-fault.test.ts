/**
 * Nothing accepted is lost: the real server process, routing live texts to a real SMPP peer on
 * 127.0.0.1, is SIGKILLed at random moments while bursts of verifications arrive; after each
 * restart the outbox must get every accepted (201) verification's text to the peer, with at
 * most `window` duplicates per crash: the dispatcher has at most TEXTGATE_OUTBOX_WINDOW texts
 * (default 16) handed to the carrier and not yet recorded, and only those can be sent twice. Runs
 * with a window of 1 (at most one duplicate per crash) and with the default show the bound follows
 * the setting.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createApiKey, createProject } from '@textgate/server/projects'
import { openStorage } from '@textgate/server/storage'
import { type FakeSmsc, startFakeSmsc } from '@textgate/server/testing/carriers/smpp'
import { createTestStorage, type TestStorage } from '@textgate/server/testing/storage'
import { afterAll, describe, expect, it } from 'vitest'
import { restartTextgate, type Started, startTextgate, tempDir } from '../support/processes'
import { until } from '../support/until'

const POSTGRES_URL = process.env.TEXTGATE_TEST_POSTGRES_URL
const ROUNDS = 5
const BURST = 40
const ORIGIN = 'https://shop.example'

interface Outcome {
  accepted: number
  delivered: number
  duplicates: number
  crashes: number
  maxCopies: number
  /** Accepted texts the peer had not got when their process was killed: the outbox's work. */
  recovered: number
  lost: string[]
}

/** The SMPP adapter's submit window (texts awaiting submit_sm_resp on the bind). */
const SMPP_WINDOW = 10

async function runFaultScenario(
  databaseUrl: string | undefined,
  outboxWindow?: number,
): Promise<Outcome> {
  // Slow acks keep texts in flight, so that crashes land between "sent" and "recorded".
  const smsc: FakeSmsc = await startFakeSmsc({ receipts: 'tlv', ackDelayMs: 25 })
  const config = tempDir('tg-fault-')
  const routesFile = join(config.path, 'routes.json')
  writeFileSync(
    routesFile,
    JSON.stringify({
      carriers: [
        {
          id: 'local-smsc',
          type: 'smpp',
          host: smsc.host,
          port: smsc.port,
          systemId: smsc.options.systemId,
          passwordEnv: 'TG_FAULT_SMSC_PASSWORD',
          sourceAddr: 'Shop',
          responseTimeoutMs: 2000,
          window: SMPP_WINDOW,
        },
      ],
      projects: { '*': { rules: [{ routes: [{ carrier: 'local-smsc' }] }] } },
    }),
  )
  // Direct node processes (no tsx wrapper), so that SIGKILL kills the server itself.
  const first = await startTextgate({
    databaseUrl,
    direct: true,
    env: {
      TEXTGATE_OUTBOX_CLAIM_MS: '1500',
      ...(outboxWindow ? { TEXTGATE_OUTBOX_WINDOW: String(outboxWindow) } : {}),
      TEXTGATE_ROUTES_FILE: routesFile,
      TG_FAULT_SMSC_PASSWORD: smsc.options.password,
    },
  })
  const env = first.env
  let server: Started = first
  try {
    // The project and its live keys, written straight into the server's database (as the CLI's
    // `projects create` and `keys create --live` do) to spare two process starts.
    const storage = openStorage(String(env.DATABASE_URL))
    // The fraud guard would rightly stop a burst of sequential numbers from one address: this
    // test is about the outbox, so velocity, conversion, destination and spend checks are off.
    const { project } = await createProject(storage.db, {
      name: 'Fault shop',
      origins: [ORIGIN],
      fraudSettings: {
        velocity: { mode: 'off' },
        conversion: { mode: 'off' },
        destinations: { mode: 'off' },
        spend: { mode: 'off' },
      },
    })
    const publishableKey = await createApiKey(storage.db, project.id, 'publishable', 'live')
    await storage.close()

    const accepted = new Set<string>()
    let crashes = 0
    let answered = 0
    const recovered = new Set<string>()
    let serial = 0
    for (let round = 0; round < ROUNDS; round++) {
      const url = server.url
      const burst = Array.from({ length: BURST }, () => {
        const phone = `+447400${String(++serial).padStart(6, '0')}`
        return fetch(`${url}/v1/verifications`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${publishableKey}`,
            'Content-Type': 'application/json',
            Origin: ORIGIN,
          },
          body: JSON.stringify({ phone, consent: { accepted: true, version: 'fault' } }),
        }).then(
          async (response) => {
            await response.arrayBuffer()
            answered++
            if (response.status === 201) accepted.add(phone)
            else if (response.status !== 503) {
              throw new Error(`unexpected ${response.status} for ${phone}`)
            }
          },
          () => {
            // The process died under this request: it was never accepted (no 201).
          },
        )
      })
      const settled = Promise.all(burst)
      if (round < ROUNDS - 1) {
        // Kill at a random moment: once a random share of the burst was answered, and a random
        // while later, so that crashes land among requests, among sends, or after them.
        const answeredBefore = answered
        const target = answeredBefore + 1 + Math.floor(Math.random() * BURST)
        await until(() => answered >= target, 10_000)
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 400))
        await server.stop('SIGKILL')
        // The process is gone, not merely its wrapper: nothing answers on its port any more.
        await expect(fetch(`${url}/healthz`)).rejects.toThrow()
        crashes++
        await settled
        const reachedNow = new Set(smsc.submitted.map((m) => m.to))
        for (const phone of accepted) if (!reachedNow.has(phone)) recovered.add(phone)
        server = await restartTextgate(env)
      } else {
        await settled
      }
    }

    const reached = () => new Set(smsc.submitted.map((m) => m.to))
    await until(() => [...accepted].every((phone) => reached().has(phone)), 20_000)
    // Let a late duplicate (a reclaimed row) show itself before counting.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const copies = new Map<string, number>()
    for (const message of smsc.submitted) {
      copies.set(message.to, (copies.get(message.to) ?? 0) + 1)
    }
    const lost = [...accepted].filter((phone) => !copies.has(phone))
    if (lost.length > 0) {
      // Say why: the outbox rows of the lost texts, and what the server logged.
      const storage = openStorage(String(env.DATABASE_URL))
      const rows = await storage.db
        .selectFrom('outbox')
        .innerJoin('messages', 'messages.id', 'outbox.message_id')
        .select(['messages.to', 'outbox.state', 'outbox.attempts', 'outbox.available_at'])
        .select(['outbox.claimed_until', 'outbox.last_error', 'messages.status'])
        .where('messages.to', 'in', lost.slice(0, 500))
        .execute()
      await storage.close()
      console.log(JSON.stringify(rows.slice(0, 10), null, 1), server.output().slice(-4000))
    }
    const duplicates = [...copies.values()].reduce((sum, n) => sum + n - 1, 0)
    return {
      accepted: accepted.size,
      delivered: [...accepted].filter((phone) => copies.has(phone)).length,
      duplicates,
      crashes,
      maxCopies: Math.max(0, ...copies.values()),
      recovered: recovered.size,
      lost,
    }
  } finally {
    await server.stop('SIGTERM')
    await first.close()
    config.remove()
    await smsc.close()
  }
}

function check(outcome: Outcome, dialect: string, window: number) {
  console.log(
    `outbox fault test (${dialect}, window ${window}): ${outcome.crashes} crashes, ` +
      `${outcome.accepted} accepted, ` +
      `${outcome.delivered} delivered (${outcome.recovered} of them after a restart), ` +
      `${outcome.duplicates} duplicates (most copies of one text: ${outcome.maxCopies})`,
  )
  expect(outcome.crashes).toBe(ROUNDS - 1)
  expect(outcome.accepted).toBeGreaterThan(BURST)
  expect(outcome.lost).toEqual([])
  expect(outcome.delivered).toBe(outcome.accepted)
  // A text is sent again only when a crash fell between its hand-over and the commit…
  expect(outcome.maxCopies).toBeLessThanOrEqual(1 + outcome.crashes)
  // …and a crash can catch at most `window` texts in that gap.
  expect(outcome.duplicates).toBeLessThanOrEqual(outcome.crashes * window)
}

describe('outbox under crashes: every accepted verification reaches the carrier', () => {
  it('on SQLite with TEXTGATE_OUTBOX_WINDOW=1', { timeout: 60_000 }, async () => {
    check(await runFaultScenario(undefined, 1), 'sqlite', 1)
  })

  it('on SQLite with the default window (16)', { timeout: 60_000 }, async () => {
    check(await runFaultScenario(undefined), 'sqlite', 16)
  })

  describe.skipIf(!POSTGRES_URL)(
    POSTGRES_URL ? 'PostgreSQL' : 'PostgreSQL (skipped: TEXTGATE_TEST_POSTGRES_URL is not set)',
    () => {
      let storage: TestStorage | undefined
      afterAll(async () => {
        await storage?.dispose()
      })
      it('on PostgreSQL', { timeout: 60_000 }, async () => {
        storage = await createTestStorage('postgres')
        const url = storage.url
        // The server opens its own pool; ours is not needed while it runs.
        check(await runFaultScenario(url), 'postgres', 16)
      })
    },
  )
})
