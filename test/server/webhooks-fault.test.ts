/**
 * Webhooks lose nothing: the real server process is SIGKILLed while it delivers events to a
 * slow receiver on loopback; after each restart every event must reach the receiver, each
 * signature verified with the `standardwebhooks` package, the events of one verification in
 * the order they were raised, and any copy carrying the same `webhook-id` (so the receiver can
 * drop it). Events are written into the server's database from here, exactly as
 * emitWebhookEvent does inside a request's transaction.
 */

import { createProject } from '@textgate/server/projects'
import { deriveSecrets } from '@textgate/server/secrets'
import { migrateToLatest, openStorage } from '@textgate/server/storage'
import { createTestStorage, type TestStorage } from '@textgate/server/testing/storage'
import { startReceiver } from '@textgate/server/testing/webhook-receiver'
import { createEndpoint, emitWebhookEvent } from '@textgate/server/webhooks'
import { afterAll, describe, expect, it } from 'vitest'
import {
  restartTextgate,
  type Started,
  startTextgate,
  TEST_SECRET,
  tempDir,
} from '../support/processes'
import { until } from '../support/until'

const POSTGRES_URL = process.env.TEXTGATE_TEST_POSTGRES_URL
const VERIFICATIONS = 30
const EVENTS_EACH = 3
const CRASHES = 3

async function runScenario(postgresUrl: string | undefined) {
  const receiver = await startReceiver()
  // Slow answers keep deliveries under way when the process dies.
  receiver.delayMs = 60
  const data = tempDir('tg-hooks-')
  const databaseUrl = postgresUrl ?? `sqlite:${data.path}/textgate.db`
  // Every event is written before the server starts: a second process writing the same SQLite
  // file while the server does is not how Textgate runs (one process per SQLite file).
  const storage = openStorage(databaseUrl)
  await migrateToLatest(storage)
  let server: Started | undefined
  let first: Awaited<ReturnType<typeof startTextgate>> | undefined
  try {
    const { project } = await createProject(storage.db, {
      name: 'Hooks',
      origins: ['https://shop.example'],
    })
    const created = await createEndpoint(
      storage.db,
      deriveSecrets(TEST_SECRET).encryptionKey,
      // Saved as the development server it runs would (loopback open to test mode): the
      // library's default is closed.
      { projectId: project.id, mode: 'test', networks: { ranges: [], testLoopback: true } },
      { url: receiver.url },
    )
    receiver.secrets.push(created.secret)
    const raised: { id: string; key: string }[] = []
    for (let n = 0; n < EVENTS_EACH; n++) {
      for (let v = 0; v < VERIFICATIONS; v++) {
        const verificationId = `ver_fault${v}`
        const at = Date.now()
        const id = await storage.db.transaction().execute((trx) =>
          emitWebhookEvent(trx, {
            type: 'verification.approved',
            projectId: project.id,
            mode: 'test',
            orderKey: verificationId,
            at,
            data: {
              verificationId,
              phone: `+4474001234${String(n).padStart(2, '0')}`,
              country: 'GB',
              approvedAt: new Date(at).toISOString(),
            },
          }),
        )
        raised.push({ id: id as string, key: verificationId })
      }
    }
    await storage.close()
    first = await startTextgate({
      databaseUrl,
      direct: true,
      env: { TEXTGATE_WEBHOOK_CLAIM_MS: '1500' },
    })
    server = first

    const got = () => new Set(receiver.received.map((r) => r.id))
    let crashes = 0
    for (let i = 0; i < CRASHES; i++) {
      const target = Math.floor(((i + 1) * raised.length) / (CRASHES + 2))
      await until(() => receiver.received.length >= target, 20_000)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 100))
      await server.stop('SIGKILL')
      crashes++
      server = await restartTextgate(first.env)
    }
    const complete = await until(() => raised.every((e) => got().has(e.id)), 30_000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const received = receiver.received
    // First arrival of each event, per verification, in the order raised.
    const firstSeen = received.filter((r) => !r.duplicate)
    const orderBroken = [...new Set(raised.map((e) => e.key))].filter((key) => {
      const want = raised.filter((e) => e.key === key).map((e) => e.id)
      const seen = firstSeen.filter((r) => r.event.data.verificationId === key).map((r) => r.id)
      return JSON.stringify(want) !== JSON.stringify(seen)
    })
    return {
      complete,
      crashes,
      raised: raised.length,
      lost: raised.filter((e) => !got().has(e.id)).length,
      duplicates: received.filter((r) => r.duplicate).length,
      rejected: receiver.rejected.length,
      orderBroken,
    }
  } finally {
    await server?.stop('SIGTERM')
    await first?.close()
    await receiver.close()
    data.remove()
  }
}

function check(outcome: Awaited<ReturnType<typeof runScenario>>, dialect: string) {
  console.log(
    `webhook fault test (${dialect}): ${outcome.crashes} SIGKILLs, ${outcome.raised} events, ` +
      `${outcome.lost} lost, ${outcome.duplicates} copies with a repeated webhook-id`,
  )
  expect(outcome.crashes).toBe(CRASHES)
  expect(outcome.rejected).toBe(0)
  expect(outcome.lost).toBe(0)
  expect(outcome.complete).toBe(true)
  expect(outcome.orderBroken).toEqual([])
}

describe('webhooks under crashes: every event reaches the receiver, signed, in order', () => {
  it('on SQLite', { timeout: 90_000 }, async () => {
    check(await runScenario(undefined), 'sqlite')
  })

  describe.skipIf(!POSTGRES_URL)(
    POSTGRES_URL ? 'PostgreSQL' : 'PostgreSQL (skipped: TEXTGATE_TEST_POSTGRES_URL is not set)',
    () => {
      let storage: TestStorage | undefined
      afterAll(async () => {
        await storage?.dispose()
      })
      it('on PostgreSQL', { timeout: 90_000 }, async () => {
        storage = await createTestStorage('postgres')
        check(await runScenario(storage.url), 'postgres')
      })
    },
  )
})
