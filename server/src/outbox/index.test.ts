import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  countingTransactions,
  createTestStorage,
  insertTestVerification,
  STORAGE_SETUPS,
  type TestStorage,
} from '../../testing/storage'
import { sandboxCarrier } from '../carriers/sandbox'
import {
  type CarrierAdapter,
  CarrierError,
  type OutgoingMessage,
  type TemplateData,
} from '../carriers/types'
import { recordSentMany } from '../delivery/messages'
import { applyReports } from '../delivery/reports'
import { createProject } from '../projects'
import { deriveSecrets } from '../secrets'
import { createEndpoint } from '../webhooks/endpoints'
import { createDispatcher, type Dispatcher, type DispatcherOptions, enqueueMessage } from './index'

const { encryptionKey } = deriveSecrets('outbox-test-secret-that-is-long-enough')
const logger = pino({ level: 'silent' })

function recordingCarrier(behaviour: (m: OutgoingMessage) => void = () => {}) {
  const sent: OutgoingMessage[] = []
  const carrier: CarrierAdapter = {
    id: 'recording',
    capabilities: { unicode: true, deliveryReports: false, maxParts: 1 },
    async send(message) {
      behaviour(message)
      sent.push(message)
      return { carrierMessageId: `c_${sent.length}`, status: 'sent' }
    },
  }
  return { carrier, sent }
}

for (const { name, dialect, writerThread } of STORAGE_SETUPS) {
  describe(`outbox (${name})`, () => {
    let storage: TestStorage
    let projectId: string
    let now = 1_000_000

    beforeEach(async () => {
      storage = await createTestStorage(dialect, { writerThread })
      projectId = (await createProject(storage.db, { name: 'P', origins: ['https://a.example'] }))
        .project.id
    })
    afterEach(() => storage.dispose())

    /** A dispatcher on this test's storage and clock, sending through `carrier`. */
    function dispatcher(carrier: CarrierAdapter, options: Partial<DispatcherOptions> = {}) {
      return createDispatcher({
        storage,
        encryptionKey,
        logger,
        now: () => now,
        carrierFor: () => carrier,
        ...options,
      })
    }

    /** Another dispatcher sends nothing while a claim of `claimMs` holds, then the one text. */
    async function expectTakenOverOnceExpired(claimMs: number) {
      const { carrier, sent } = recordingCarrier()
      const survivor = dispatcher(carrier)
      await survivor.drain()
      expect(sent).toHaveLength(0)
      now += claimMs + 1
      await survivor.drain()
      expect(sent).toHaveLength(1)
    }

    async function enqueue(count: number, from = 0) {
      const ids: string[] = []
      for (let i = from; i < from + count; i++) {
        const verificationId = `ver_${i}`
        await storage.db.transaction().execute(async (trx) => {
          await insertTestVerification(trx, {
            id: verificationId,
            projectId,
            mode: 'test',
            phone: `+4477009001${String(i).padStart(2, '0')}`,
            now,
          })
          const text = await enqueueMessage(trx, encryptionKey, {
            verificationId,
            projectId,
            mode: 'test',
            to: `+4477009001${String(i).padStart(2, '0')}`,
            body: `code ${i}`,
            now,
          })
          ids.push(text.message.id)
        })
      }
      return ids
    }

    it("hands the carrier the country its verification was counted as (the router's countries)", async () => {
      await enqueue(2)
      // An Åland mobile a project that allows only AX counted as AX (the number alone is FI's).
      await storage.db
        .updateTable('verifications')
        .set({ country: 'AX' })
        .where('id', '=', 'ver_1')
        .execute()
      const { carrier, sent } = recordingCarrier()
      await dispatcher(carrier).drain()
      expect(sent.map((m) => [m.to, m.country])).toEqual([
        ['+447700900100', 'GB'],
        ['+447700900101', 'AX'],
      ])
    })

    it('sends each message once, even with two dispatchers sharing the database', async () => {
      await enqueue(40)
      const { carrier, sent } = recordingCarrier()
      const options = {
        storage,
        encryptionKey,
        logger,
        now: () => now,
        carrierFor: () => carrier,
        window: 3,
      }
      const a = createDispatcher(options)
      const b = createDispatcher(options)
      await Promise.all([a.drain(), b.drain()])
      expect(sent).toHaveLength(40)
      expect(new Set(sent.map((m) => m.id)).size).toBe(40)
      expect(sent.map((m) => m.body).sort()).toContain('code 7')
      const rows = await storage.db.selectFrom('messages').selectAll().execute()
      expect(rows.every((r) => r.status === 'sent' && r.body_encrypted === null)).toBe(true)
    })

    it("writes a sandbox text's inbox row in the commit that records its sending, or neither", async () => {
      await enqueue(3)
      const sandbox = sandboxCarrier({ db: storage.db, encryptionKey, now: () => now })
      await dispatcher(sandbox).drain()
      const sent = await storage.db
        .selectFrom('messages')
        .select(['id', 'status', 'carrier_message_id', 'project_id'])
        .execute()
      const inbox = await storage.db.selectFrom('sandbox_messages').select('id').execute()
      expect(sent.map((m) => m.status)).toEqual(['delivered', 'delivered', 'delivered'])
      expect(inbox.map((r) => r.id).sort()).toEqual(sent.map((m) => m.carrier_message_id).sort())

      // A record whose inbox row cannot be written (its id already taken) writes nothing.
      const [id] = await enqueue(1, 3)
      const message = await storage.db
        .selectFrom('messages')
        .selectAll()
        .where('id', '=', id as string)
        .executeTakeFirstOrThrow()
      const { id: outboxId } = await storage.db
        .selectFrom('outbox')
        .select('id')
        .where('message_id', '=', message.id)
        .executeTakeFirstOrThrow()
      const send = () =>
        sandbox.send({
          id: message.id,
          to: message.to,
          body: 'code 9',
          projectId,
          mode: 'test',
          rowsWithRecord: true,
        })
      const result = await send()
      result.rows?.add('sandbox_messages', {
        id: inbox[0]?.id as string,
        project_id: projectId,
        to: message.to,
        body_encrypted: 'taken',
        status: 'delivered',
        created_at: now,
      })
      await expect(
        recordSentMany(storage.db, [{ message, carrier: 'sandbox', result, at: now, outboxId }]),
      ).rejects.toThrow()
      const after = await storage.db
        .selectFrom('messages')
        .select('status')
        .where('id', '=', message.id)
        .executeTakeFirstOrThrow()
      expect(after.status).not.toMatch(/sent|delivered/)
      const written = await storage.db
        .selectFrom('sandbox_messages')
        .select('id')
        .where('id', '=', result.carrierMessageId)
        .execute()
      expect(written).toHaveLength(0)

      // Nor does a record that fails after its inbox row was written (its time is no number).
      const retry = await send()
      await expect(
        recordSentMany(storage.db, [
          { message, carrier: 'sandbox', result: retry, at: Number.NaN, outboxId },
        ]),
      ).rejects.toThrow()
      expect(
        await storage.db
          .selectFrom('sandbox_messages')
          .select('id')
          .where('id', '=', retry.carrierMessageId)
          .execute(),
      ).toHaveLength(0)
    })

    it('applies a report that came before the send was recorded, once the carrier answered', async () => {
      const [id] = await enqueue(1)
      // The carrier reports `c_1` delivered before the dispatcher wrote that id down.
      const at = now
      await applyReports(
        storage.db,
        'recording',
        [{ carrierMessageId: 'c_1', status: 'delivered', at }],
        at,
      )
      expect(await storage.db.selectFrom('early_reports').select('id').execute()).toHaveLength(1)
      await dispatcher(recordingCarrier().carrier).drain()
      const row = await storage.db
        .selectFrom('messages')
        .select(['status', 'carrier_message_id'])
        .where('id', '=', id!)
        .executeTakeFirstOrThrow()
      expect(row).toEqual({ status: 'delivered', carrier_message_id: 'c_1' })
      expect(await storage.db.selectFrom('early_reports').select('id').execute()).toEqual([])
    })

    it('stores message bodies encrypted until a carrier takes them', async () => {
      const [id] = await enqueue(1)
      const row = await storage.db
        .selectFrom('messages')
        .selectAll()
        .where('id', '=', id!)
        .executeTakeFirstOrThrow()
      expect(row.body_encrypted).toMatch(/^v1\./)
      expect(row.body_encrypted).not.toContain('code 0')
    })

    it('retries transient failures later and gives up on permanent ones', async () => {
      const [transientId, permanentId] = await enqueue(2)
      let failNext = true
      const { carrier, sent } = recordingCarrier((m) => {
        if (m.id === permanentId)
          throw new CarrierError('recording', 'unknown subscriber', { permanent: true })
        if (failNext) {
          failNext = false
          throw new CarrierError('recording', 'timeout', { retryAfterMs: 5_000 })
        }
      })
      const retrying = dispatcher(carrier)
      await retrying.drain()
      expect(sent).toHaveLength(0)
      const byId = async (id: string) =>
        storage.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
      expect((await byId(permanentId!)).status).toBe('failed')
      expect((await byId(transientId!)).status).toBe('queued')

      now += 4_000
      await retrying.drain()
      expect(sent).toHaveLength(0)
      now += 1_001
      await retrying.drain()
      expect(sent.map((m) => m.id)).toEqual([transientId])
      expect((await byId(transientId!)).status).toBe('sent')
      const outbox = await storage.db
        .selectFrom('outbox')
        .select(['message_id', 'state', 'attempts'])
        .execute()
      expect(outbox.find((o) => o.message_id === permanentId)).toMatchObject({
        state: 'dead',
        attempts: 1,
      })
      // Attempts count failed sends: the one transient failure.
      expect(outbox.find((o) => o.message_id === transientId)).toMatchObject({
        state: 'done',
        attempts: 1,
      })
    })

    for (const window of [1, 4, 6]) {
      it(`has at most window=${window} texts at the carrier unrecorded at once`, async () => {
        await enqueue(12)
        let underway = 0
        let most = 0
        const sent: string[] = []
        const carrier: CarrierAdapter = {
          id: 'slow',
          capabilities: { unicode: true, deliveryReports: false, maxParts: 1 },
          async send(message) {
            underway++
            most = Math.max(most, underway)
            await new Promise((resolve) => setTimeout(resolve, 20))
            sent.push(message.id)
            // A worker claims its next text only after recording this one's answer.
            underway--
            return { carrierMessageId: `c_${message.id}`, status: 'sent' }
          },
        }
        await dispatcher(carrier, { window }).drain()
        expect(new Set(sent).size).toBe(12)
        expect(most).toBeLessThanOrEqual(window)
        // …and the window is used: with several slots, sends do overlap.
        if (window > 1) expect(most).toBeGreaterThan(1)
      })
    }

    it('does not send a code that can no longer be used, and tells carriers when codes expire', async () => {
      const [expiredId, approvedId, liveId] = await enqueue(3)
      await storage.db
        .updateTable('verifications')
        .set({ expires_at: now })
        .where('id', '=', 'ver_0')
        .execute()
      await storage.db
        .updateTable('verifications')
        .set({ status: 'approved' })
        .where('id', '=', 'ver_1')
        .execute()
      const { carrier, sent } = recordingCarrier()
      await dispatcher(carrier).drain()
      expect(sent.map((m) => [m.id, m.expiresAt])).toEqual([[liveId, now + 600_000]])
      const rows = await storage.db
        .selectFrom('messages')
        .innerJoin('outbox', 'outbox.message_id', 'messages.id')
        .select(['messages.id', 'messages.status', 'messages.error', 'outbox.state'])
        .select('messages.body_encrypted')
        .where('messages.id', 'in', [expiredId!, approvedId!])
        .orderBy('messages.verification_id')
        .execute()
      expect(rows).toEqual([
        {
          id: expiredId,
          status: 'failed',
          error: 'the code expired before it could be sent',
          state: 'dead',
          body_encrypted: null,
        },
        {
          id: approvedId,
          status: 'failed',
          error: 'the verification is already approved',
          state: 'dead',
          body_encrypted: null,
        },
      ])
    })

    it('does not count a crash as a failed attempt, and warns it may resend', async () => {
      const [id] = await enqueue(1)
      // A process claimed the row, marked the text as being sent, and died.
      await storage.db
        .updateTable('outbox')
        .set({ claimed_by: 'w_dead', claimed_until: now - 1 })
        .execute()
      await storage.db.updateTable('messages').set({ status: 'sending' }).execute()
      const warnings: string[] = []
      const { carrier, sent } = recordingCarrier()
      await dispatcher(carrier, {
        logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }),
      }).drain()
      expect(sent.map((m) => m.id)).toEqual([id])
      expect(warnings.join('')).toContain('resending after a crash')
      const outbox = await storage.db.selectFrom('outbox').selectAll().executeTakeFirstOrThrow()
      expect(outbox).toMatchObject({ state: 'done', attempts: 0 })
    })

    it('renews the claim of a send under way, so no other process takes the row', async () => {
      await enqueue(1)
      let finish: () => void = () => {}
      const slow: CarrierAdapter = {
        id: 'slow',
        capabilities: { unicode: true, deliveryReports: false, maxParts: 1 },
        send: () =>
          new Promise((resolve) => {
            finish = () => resolve({ carrierMessageId: 'c_slow', status: 'sent' })
          }),
      }
      let clock = now
      const first = dispatcher(slow, { now: () => clock, claimMs: 1_000 })
      const draining = first.drain()
      const claimed = async () =>
        (await storage.db.selectFrom('outbox').select('claimed_until').executeTakeFirstOrThrow())
          .claimed_until
      while ((await claimed()) === null) await new Promise((resolve) => setTimeout(resolve, 5))
      expect(await claimed()).toBe(now + 1_000)
      // Real time passes (renewals run every claimMs/3, at least 250 ms) while the clock moves
      // past the first claim's end: the renewals must have moved it on.
      clock += 900
      await new Promise((resolve) => setTimeout(resolve, 700))
      clock += 900
      const { carrier, sent } = recordingCarrier()
      await dispatcher(carrier, { now: () => clock }).drain()
      expect(sent).toHaveLength(0)
      finish()
      await draining
      const row = await storage.db.selectFrom('messages').selectAll().executeTakeFirstOrThrow()
      expect(row).toMatchObject({ status: 'sent', carrier_message_id: 'c_slow' })
    })

    it('records a commit of mixed answers as each text alone would be recorded', async () => {
      const ids = await enqueue(8)
      const endpoint = await createEndpoint(
        storage.db,
        encryptionKey,
        { projectId, mode: 'test' },
        { url: 'https://93.184.215.14/hooks', events: ['message.delivered', 'message.failed'] },
      )
      // Every text is with the carrier before any answer comes back, so one commit records all.
      let release!: () => void
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      let waiting = 0
      const mixed: CarrierAdapter = {
        id: 'mixed',
        capabilities: { unicode: true, deliveryReports: true, maxParts: 2 },
        async send(message) {
          const i = ids.indexOf(message.id)
          if (++waiting === ids.length) release()
          await gate
          if (i % 4 === 0) return { carrierMessageId: `d_${i}`, status: 'delivered' }
          if (i % 4 === 1) {
            return {
              carrierMessageId: `p_${i}_1`,
              status: 'sent',
              cost: { amount: '0.0421', currency: 'EUR' },
              parts: 2,
              sentParts: [{ carrierMessageId: `p_${i}_1` }, { carrierMessageId: `p_${i}_2` }],
            }
          }
          if (i % 4 === 2) return { carrierMessageId: `s_${i}`, status: 'sent' }
          throw new CarrierError('mixed', 'absent subscriber', { permanent: true, code: '27' })
        },
      }
      await dispatcher(mixed, { window: 8 }).drain()
      const rows = await storage.db.selectFrom('messages').selectAll().orderBy('id').execute()
      const row = (i: number) => rows.find((r) => r.id === ids[i])
      for (const i of [0, 4]) {
        expect(row(i)).toMatchObject({
          status: 'delivered',
          carrier: 'mixed',
          carrier_message_id: `d_${i}`,
          body_encrypted: null,
          sent_at: now,
          delivered_at: now,
          status_at: now,
          cost_amount: null,
          segments: 1,
        })
      }
      for (const i of [1, 5]) {
        expect(row(i)).toMatchObject({
          status: 'sent',
          carrier_message_id: `p_${i}_1`,
          delivered_at: null,
          cost_amount: '0.0421',
          cost_currency: 'EUR',
          segments: 2,
        })
      }
      for (const i of [2, 6]) {
        expect(row(i)).toMatchObject({ status: 'sent', carrier_message_id: `s_${i}`, segments: 1 })
        expect(row(i)?.cost_amount).toBeNull()
      }
      for (const i of [3, 7]) {
        expect(row(i)).toMatchObject({
          status: 'failed',
          error_code: '27',
          carrier_message_id: null,
        })
      }
      const parts = await storage.db.selectFrom('message_parts').selectAll().execute()
      expect(parts.map((p) => p.carrier_message_id).sort()).toEqual([
        'p_1_1',
        'p_1_2',
        'p_5_1',
        'p_5_2',
      ])
      const outbox = await storage.db.selectFrom('outbox').select('state').execute()
      expect(outbox.map((o) => o.state).sort()).toEqual(['dead', 'dead', ...Array(6).fill('done')])
      const events = await storage.db
        .selectFrom('webhook_messages')
        .innerJoin('webhook_deliveries', 'webhook_deliveries.message_id', 'webhook_messages.id')
        .select(['type', 'payload', 'endpoint_id'])
        .execute()
      expect(events.every((e) => e.endpoint_id === endpoint.id)).toBe(true)
      const delivered = events.filter((e) => e.type === 'message.delivered')
      expect(delivered.map((e) => JSON.parse(e.payload).data.messageId).sort()).toEqual(
        [ids[0], ids[4]].sort(),
      )
      expect(JSON.parse(delivered[0]?.payload ?? '{}').data).toMatchObject({
        carrier: 'mixed',
        status: 'delivered',
        segments: 1,
        errorCode: null,
      })
      expect(events.filter((e) => e.type === 'message.failed')).toHaveLength(2)
    })

    it('takes over rows whose claim expired (a process died mid-send)', async () => {
      await enqueue(1)
      const hanging: CarrierAdapter = {
        id: 'hanging',
        capabilities: { unicode: true, deliveryReports: false, maxParts: 1 },
        send: () => new Promise(() => {}),
      }
      const dead = dispatcher(hanging, { claimMs: 10_000 })
      void dead.drain()
      await new Promise((resolve) => setTimeout(resolve, 50))
      await expectTakenOverOnceExpired(10_000)
    })

    describe('texts handed over after their commit', () => {
      /** Enqueues text `i` claimed by `d` for a hand-over, as a start does. */
      async function enqueueClaimed(d: Dispatcher, i: number, template?: TemplateData) {
        const to = `+4477009002${String(i).padStart(2, '0')}`
        const claim = d.claimForHandoff(now)
        expect(claim).toBeDefined()
        return storage.db.transaction().execute(async (trx) => {
          await insertTestVerification(trx, {
            id: `ver_${i}`,
            projectId,
            mode: 'test',
            phone: to,
            now,
          })
          return enqueueMessage(trx, encryptionKey, {
            verificationId: `ver_${i}`,
            projectId,
            mode: 'test',
            to,
            body: `code ${i}`,
            now,
            claim,
            ...(template ? { template } : {}),
          })
        })
      }

      /** Enqueues texts claimed by `d` and hands each over after its commit, as a start does. */
      async function handOver(
        d: Dispatcher,
        from: number,
        count: number,
        give = true,
        template?: TemplateData,
      ) {
        const ids: string[] = []
        for (let i = from; i < from + count; i++) {
          const text = await enqueueClaimed(d, i, template)
          if (give) d.handOff(text, now + 600_000)
          ids.push(text.message.id)
        }
        return ids
      }

      async function until(done: () => boolean | Promise<boolean>) {
        const deadline = Date.now() + 5_000
        while (!(await done())) {
          if (Date.now() > deadline) throw new Error('timed out')
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
      }

      /** A carrier whose sends wait until `release` is called. */
      function gatedCarrier() {
        const sent: string[] = []
        const gates: (() => void)[] = []
        const carrier: CarrierAdapter = {
          id: 'gated',
          capabilities: { unicode: true, deliveryReports: false, maxParts: 1 },
          async send(message) {
            sent.push(message.id)
            await new Promise<void>((resolve) => gates.push(resolve))
            return { carrierMessageId: `c_${message.id}`, status: 'sent' }
          },
        }
        return { carrier, sent, release: () => gates.shift()?.() }
      }

      it('sends them without claiming them back, and no other process takes them', async () => {
        const seen: { status: string; claimedBy: string | null }[] = []
        const { carrier, sent } = recordingCarrier()
        const checking: CarrierAdapter = {
          ...carrier,
          async send(message) {
            // What the database says as the carrier is handed the text.
            const row = await storage.db
              .selectFrom('messages')
              .innerJoin('outbox', 'outbox.message_id', 'messages.id')
              .select(['messages.status', 'outbox.claimed_by'])
              .where('messages.id', '=', message.id)
              .executeTakeFirstOrThrow()
            seen.push({ status: row.status, claimedBy: row.claimed_by })
            return carrier.send(message)
          },
        }
        const a = dispatcher(checking, { window: 4 })
        a.start()
        const ids = await handOver(a, 0, 3)
        const other = recordingCarrier()
        await dispatcher(other.carrier).drain()
        await until(() => sent.length === 3)
        await a.stop()
        expect(other.sent).toHaveLength(0)
        expect(sent.map((m) => m.id).sort()).toEqual([...ids].sort())
        expect(sent.map((m) => m.expiresAt)).toEqual(Array(3).fill(now + 600_000))
        // Written claimed by this dispatcher, and never through a claim (which marks `sending`).
        const claimedBy = seen[0]?.claimedBy
        expect(claimedBy).toMatch(/^w_/)
        expect(seen).toEqual(Array(3).fill({ status: 'queued', claimedBy }))
        const rows = await storage.db
          .selectFrom('messages')
          .innerJoin('outbox', 'outbox.message_id', 'messages.id')
          .select(['status', 'state', 'body_encrypted', 'carrier'])
          .execute()
        expect(rows).toEqual(
          Array(3).fill({
            status: 'sent',
            state: 'done',
            body_encrypted: null,
            carrier: 'recording',
          }),
        )
      })

      it('gives the carrier the same body and template as a claim from the database would', async () => {
        const template: TemplateData = {
          values: { code: '482913', minutes: '10', brand: 'Shop' },
          locale: 'zh-CN',
          signName: '示例商店',
        }
        const handedOver = recordingCarrier()
        const a = dispatcher(handedOver.carrier)
        a.start()
        await handOver(a, 0, 1, true, template)
        await until(() => handedOver.sent.length === 1)
        await a.stop()
        // The same text left to a claim (its hand-over never came): read back and decrypted.
        const dead = dispatcher(recordingCarrier().carrier, { claimMs: 10_000 })
        dead.start()
        await handOver(dead, 1, 1, false, template)
        await dead.stop()
        now += 10_001
        const claimedBack = recordingCarrier()
        await dispatcher(claimedBack.carrier).drain()
        expect(claimedBack.sent).toHaveLength(1)
        const [fromMemory] = handedOver.sent
        const [fromDatabase] = claimedBack.sent
        expect(fromMemory?.body).toBe('code 0')
        expect(fromDatabase?.body).toBe('code 1')
        expect(fromMemory?.template).toEqual(template)
        expect(fromDatabase?.template).toEqual(fromMemory?.template)
      })

      it('leaves a text committed but never handed over (a crash) to a claim once its claim expires', async () => {
        // A crashed process polls no more: this one's loop must not claim the text itself once the
        // test's clock passes its claim (its poll, on a busy machine, raced the survivor's).
        const dead = dispatcher(recordingCarrier().carrier, {
          claimMs: 10_000,
          pollIntervalMs: 3_600_000,
        })
        dead.start()
        await handOver(dead, 0, 1, false)
        await expectTakenOverOnceExpired(10_000)
        await dead.stop()
      })

      it('releases a text that waited too long to a claim, which checks its code again', async () => {
        const gated = gatedCarrier()
        const d = dispatcher(gated.carrier, { window: 1, handoffMaxAgeMs: 2_000 })
        d.start()
        const [first, second, third] = await handOver(d, 0, 3)
        await until(() => gated.sent.length === 1)
        // While the first text is with the carrier, the shopper of the second verifies anyway.
        await storage.db
          .updateTable('verifications')
          .set({ status: 'approved' })
          .where('id', '=', 'ver_1')
          .execute()
        now += 2_001
        gated.release()
        await until(() => gated.sent.length === 2)
        gated.release()
        await d.drain()
        await d.stop()
        expect(gated.sent).toEqual([first, third])
        const row = await storage.db
          .selectFrom('messages')
          .innerJoin('outbox', 'outbox.message_id', 'messages.id')
          .select(['status', 'error_code', 'state'])
          .where('messages.id', '=', second!)
          .executeTakeFirstOrThrow()
        expect(row).toEqual({ status: 'failed', error_code: 'not_sent', state: 'dead' })
      })

      it('claims a due text first, so a steady stream of texts handed over does not starve it', async () => {
        const sent: string[] = []
        // After the stream's first two texts, its sends wait until the due text is written: on a
        // busy machine, handing the 30 over (a commit each) or writing the due text can take
        // longer than sending all of them, and what is tested is the order of the claims after
        // the due text, with texts of the stream still in memory.
        let release = () => {}
        let held: Promise<void> | undefined = new Promise<void>((resolve) => {
          release = resolve
        })
        const carrier: CarrierAdapter = {
          id: 'steady',
          capabilities: { unicode: true, deliveryReports: false, maxParts: 1 },
          async send(message) {
            if (held && sent.length >= 2) await held
            await new Promise((resolve) => setTimeout(resolve, 2))
            sent.push(message.id)
            return { carrierMessageId: `c_${message.id}`, status: 'sent' }
          },
        }
        const d = dispatcher(carrier, { window: 1, pollIntervalMs: 1_000 })
        d.start()
        const stream = await handOver(d, 0, 30)
        await until(() => sent.length >= 2)
        // A text written unclaimed (a retry coming due, a row released elsewhere)…
        const due = await storage.db.transaction().execute(async (trx) => {
          await insertTestVerification(trx, {
            id: 'ver_due',
            projectId,
            mode: 'test',
            phone: '+447700900999',
            now,
          })
          return enqueueMessage(trx, encryptionKey, {
            verificationId: 'ver_due',
            projectId,
            mode: 'test',
            to: '+447700900999',
            body: 'due',
            now,
          })
        })
        // …is claimed once a poll interval has passed, ahead of the texts still in memory (not
        // yet too old to send from there).
        now += 1_000
        held = undefined
        release()
        await until(() => sent.length === 31)
        await d.stop()
        // Right after the send that was waiting, ahead of the 27 texts still in memory.
        expect(sent.indexOf(due.message.id)).toBeLessThan(sent.indexOf(stream[4]!))
      })

      it('stopping releases the texts still waiting, for the next process at once', async () => {
        const gated = gatedCarrier()
        const d = dispatcher(gated.carrier, { window: 1 })
        d.start()
        const [, second] = await handOver(d, 0, 2)
        await until(() => gated.sent.length === 1)
        const stopped = d.stop()
        gated.release()
        await stopped
        const row = await storage.db
          .selectFrom('outbox')
          .select(['claimed_by', 'claimed_until', 'state'])
          .where('message_id', '=', second!)
          .executeTakeFirstOrThrow()
        expect(row).toEqual({ claimed_by: null, claimed_until: null, state: 'pending' })
        const { carrier, sent } = recordingCarrier()
        await dispatcher(carrier).drain()
        expect(sent.map((m) => m.id)).toEqual([second])
      })

      /**
       * Hands `count` texts to a started dispatcher whose carrier answers `delivered`, counting
       * the transactions opened while they are recorded; resolves once all are written.
       */
      async function recordHanded(count: number, carrier?: CarrierAdapter) {
        const delivering: CarrierAdapter = carrier ?? {
          id: 'delivering',
          capabilities: { unicode: true, deliveryReports: false, maxParts: 1 },
          async send(message) {
            return { carrierMessageId: `d_${message.id}`, status: 'delivered' }
          },
        }
        const d = dispatcher(delivering, { window: 4 })
        d.start()
        // The first round's claim (a transaction) is over before the texts come.
        await d.drain()
        const texts: Awaited<ReturnType<typeof enqueueClaimed>>[] = []
        for (let i = 0; i < count; i++) texts.push(await enqueueClaimed(d, i))
        const db = storage.db
        const { transactions } = await countingTransactions(db, async () => {
          try {
            for (const text of texts) d.handOff(text, now + 600_000)
            await until(
              async () =>
                (await db.selectFrom('outbox').select('id').where('state', '=', 'done').execute())
                  .length === count,
            )
          } finally {
            await d.stop()
          }
        })
        const messages = await db
          .selectFrom('messages')
          .select(['status', 'body_encrypted'])
          .execute()
        expect(messages).toEqual(Array(count).fill({ status: 'delivered', body_encrypted: null }))
        const events = await db.selectFrom('webhook_messages').select('type').execute()
        return { transactions, events: events.map((e) => e.type) }
      }

      it('records texts handed over with no transaction here while no endpoint wants their events (PostgreSQL, SQLite with a writer thread)', async () => {
        const { transactions, events } = await recordHanded(9)
        expect(events).toEqual([])
        // On PostgreSQL each batch of answers is one statement (outbox rows done in it); on
        // SQLite with a writer thread, one transaction there; on SQLite without one, they
        // share the commits of the moment instead.
        if (dialect === 'postgres' || writerThread) expect(transactions).toBe(0)
        else expect(transactions).toBeGreaterThan(0)
      })

      it('records sandbox texts handed over, their inbox rows in the same statement, with no transaction here (PostgreSQL, SQLite with a writer thread)', async () => {
        const sandbox = sandboxCarrier({ db: storage.db, encryptionKey, now: () => now })
        const { transactions, events } = await recordHanded(9, sandbox)
        expect(events).toEqual([])
        const inbox = await storage.db.selectFrom('sandbox_messages').select('id').execute()
        const sent = await storage.db.selectFrom('messages').select('carrier_message_id').execute()
        expect(inbox.map((r) => r.id).sort()).toEqual(sent.map((m) => m.carrier_message_id).sort())
        expect(inbox).toHaveLength(9)
        if (dialect === 'postgres' || writerThread) expect(transactions).toBe(0)
        else expect(transactions).toBeGreaterThan(0)
      })

      it('still writes each event, in the same commit, when an endpoint wants them', async () => {
        await createEndpoint(
          storage.db,
          encryptionKey,
          { projectId, mode: 'test' },
          { url: 'https://93.184.215.14/hooks', events: ['message.delivered'] },
        )
        const { transactions, events } = await recordHanded(9)
        expect(events).toEqual(Array(9).fill('message.delivered'))
        expect(transactions).toBeGreaterThan(0)
      })

      it('gives no claim while stopped or while its queue is full', async () => {
        const d = dispatcher(recordingCarrier().carrier, { handoffCapacity: 1 })
        expect(d.claimForHandoff(now)).toBeUndefined()
        d.start()
        expect(d.claimForHandoff(now)).toEqual({
          by: expect.stringMatching(/^w_/),
          until: now + 30_000,
        })
        await handOver(d, 0, 1)
        // Handed over and not yet taken (the dispatcher takes it on the next turn).
        expect(d.claimForHandoff(now)).toBeUndefined()
        await d.stop()
        expect(d.claimForHandoff(now)).toBeUndefined()
      })

      it('records answers at once when alone, and in a busy moment waits for the texts behind them without sending meanwhile', async () => {
        // A wait far longer than any scheduling jitter, so the test reads it from the clock.
        const wait = 300
        const { carrier, sent } = recordingCarrier()
        const d = dispatcher(carrier, { window: 8, answerWaitMs: wait })
        d.start()
        await d.drain()
        const recorded = async (count: number) =>
          (await storage.db.selectFrom('outbox').select('id').where('state', '=', 'done').execute())
            .length === count
        try {
          // Alone (no answers recorded lately): recorded without the wait.
          let from = performance.now()
          await handOver(d, 0, 1)
          await until(() => recorded(1))
          expect(performance.now() - from).toBeLessThan(wait * 0.8)
          // Busy (the clock has not moved since): the next answer waits…
          from = performance.now()
          await handOver(d, 1, 1)
          await until(() => sent.length === 2)
          // …and the texts handed over meanwhile do not go to the carrier during the wait.
          await handOver(d, 2, 2)
          await new Promise((resolve) => setTimeout(resolve, wait / 3))
          expect(sent).toHaveLength(2)
          expect(await recorded(1)).toBe(true)
          await until(() => recorded(4))
          expect(performance.now() - from).toBeGreaterThanOrEqual(wait * 0.9)
          expect(sent).toHaveLength(4)
          // A moment later (the clock moved on), alone again: at once.
          now += 60_000
          from = performance.now()
          await handOver(d, 4, 1)
          await until(() => recorded(5))
          expect(performance.now() - from).toBeLessThan(wait * 0.8)
        } finally {
          await d.stop()
        }
      })
    })
  })
}
