/**
 * Nothing accepted is lost: the real server process, routing live texts to a real SMPP peer on
 * 127.0.0.1, is SIGKILLed at random moments while bursts of verifications arrive; after each
 * restart the outbox must get every accepted (201) verification's text to the peer, with at
 * most one extra copy of a text per crash it lived through.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type FakeSmsc, startFakeSmsc } from '../../server/src/carriers/smpp/testing'
import { openStorage } from '../../server/src/storage'
import { createTestStorage, type TestStorage } from '../../server/src/storage/testing'
import {
  cli,
  createProject,
  restartTextgate,
  type Started,
  startTextgate,
} from '../support/processes'

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

/** The adapter's submit window: at most this many texts are in flight when a crash lands. */
const WINDOW = 10

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}

async function runFaultScenario(databaseUrl: string | undefined): Promise<Outcome> {
  // Slow acks keep texts in flight, so that crashes land between "sent" and "recorded".
  const smsc: FakeSmsc = await startFakeSmsc({ receipts: 'tlv', ackDelayMs: 25 })
  const first = await startTextgate({
    databaseUrl,
    env: {
      TEXTGATE_OUTBOX_CLAIM_MS: '1500',
      TG_FAULT_SMSC_PASSWORD: smsc.options.password,
    },
  })
  let server: Started = first
  try {
    const routesFile = join(String(first.env.TEXTGATE_DATA_DIR), 'routes.json')
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
            window: WINDOW,
          },
        ],
        projects: { '*': { rules: [{ routes: [{ carrier: 'local-smsc' }] }] } },
      }),
    )
    const env = { ...first.env, TEXTGATE_ROUTES_FILE: routesFile }
    // The first process ran without routes: restart it with them (a clean stop, not a crash).
    await first.stop('SIGTERM')
    server = await restartTextgate(env)
    const project = createProject(env, 'Fault shop', [ORIGIN])
    const live = cli(['keys', 'create', '--project', project.projectId, '--live', '--json'], env)
    expect(live.status, live.stderr).toBe(0)
    const { publishableKey } = JSON.parse(live.stdout) as { publishableKey: string }
    expect(publishableKey).toMatch(/^pk_live_/)

    const accepted = new Set<string>()
    let crashes = 0
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
        // Kill at a random moment: while requests arrive, or while the outbox sends them.
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 150))
        await server.stop('SIGKILL')
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
      const storage = openStorage(String(first.env.DATABASE_URL))
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
    await smsc.close()
  }
}

function check(outcome: Outcome, dialect: string) {
  console.log(
    `outbox fault test (${dialect}): ${outcome.crashes} crashes, ${outcome.accepted} accepted, ` +
      `${outcome.delivered} delivered (${outcome.recovered} of them after a restart), ` +
      `${outcome.duplicates} duplicates (most copies of one text: ${outcome.maxCopies})`,
  )
  expect(outcome.crashes).toBe(ROUNDS - 1)
  expect(outcome.accepted).toBeGreaterThan(BURST)
  expect(outcome.lost).toEqual([])
  expect(outcome.delivered).toBe(outcome.accepted)
  // A text is sent again only when a crash fell between the carrier's ack and the commit.
  expect(outcome.maxCopies).toBeLessThanOrEqual(1 + outcome.crashes)
  // …and a crash can catch at most a window's worth of texts in that gap.
  expect(outcome.duplicates).toBeLessThanOrEqual(outcome.crashes * WINDOW)
}

describe('outbox under crashes: every accepted verification reaches the carrier', () => {
  it('on SQLite', { timeout: 60_000 }, async () => {
    check(await runFaultScenario(undefined), 'sqlite')
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
        check(await runFaultScenario(url), 'postgres')
      })
    },
  )
})
