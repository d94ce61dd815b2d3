import { ReadinessResponse } from '@textgate/shared'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { newId } from '../ids'

for (const dialect of DIALECTS) {
  describe(`health probes (${dialect})`, () => {
    let h: Harness
    beforeAll(async () => {
      h = await createHarness(dialect)
    })
    afterAll(() => h.dispose())

    it('/healthz says alive without touching the database', async () => {
      const alive = await h.call('GET', '/healthz')
      expect(alive.status).toBe(200)
      expect(alive.json).toEqual({ status: 'ok' })
    })

    it('/readyz is ready with a reachable, migrated database and moving queues', async () => {
      const ready = await h.call('GET', '/readyz')
      expect(ready.status).toBe(200)
      expect(v.parse(ReadinessResponse, ready.json)).toMatchObject({
        status: 'ready',
        checks: { database: 'ok', migrations: 'current', outbox: 'ok', webhooks: 'ok' },
      })
      expect(ready.headers.get('Cache-Control')).toBe('no-store')
    })

    it('/readyz fails when a text is due for minutes and nobody claims it, and recovers', async () => {
      const { project } = await h.project()
      const verificationId = newId('ver')
      await h.db
        .insertInto('verifications')
        .values({
          id: verificationId,
          project_id: project.id,
          mode: 'test',
          phone: '+447400123000',
          country: 'GB',
          channel: 'sms',
          locale: null,
          status: 'pending',
          code_hmac: 'x',
          code_length: 6,
          consent_version: 'v1',
          consent_at: h.now(),
          origin: null,
          ip: null,
          created_at: h.now(),
          expires_at: h.now() + 600_000,
          resend_after: h.now(),
          approved_at: null,
          risk_decision: null,
          risk_reasons: null,
        })
        .execute()
      const messageId = newId('msg')
      await h.db
        .insertInto('messages')
        .values({
          id: messageId,
          verification_id: verificationId,
          project_id: project.id,
          mode: 'test',
          to: '+447400123000',
          body_encrypted: null,
          template_encrypted: null,
          status: 'queued',
          carrier: null,
          carrier_message_id: null,
          error: null,
          created_at: h.now(),
          sent_at: null,
          delivered_at: null,
          updated_at: h.now(),
        })
        .execute()
      await h.db
        .insertInto('outbox')
        .values({
          id: newId('obx'),
          message_id: messageId,
          state: 'pending',
          available_at: h.now() - 6 * 60_000,
          claimed_by: null,
          claimed_until: null,
          last_error: null,
          created_at: h.now() - 6 * 60_000,
        })
        .execute()
      const stuck = await h.call('GET', '/readyz')
      expect(stuck.status).toBe(503)
      expect(stuck.json.checks.outbox).toBe('stuck')
      expect(stuck.json.oldestDueSeconds.outbox).toBeGreaterThanOrEqual(360)
      // Still alive: a stuck queue is no reason to restart the process.
      expect((await h.call('GET', '/healthz')).status).toBe(200)
      await h.db.updateTable('outbox').set({ state: 'done' }).execute()
      expect((await h.call('GET', '/readyz')).status).toBe(200)
    })

    it('/readyz fails while a migration this build knows is not applied', async () => {
      const last = await h.db
        .selectFrom('kysely_migration' as never)
        .select('name' as never)
        .orderBy('name' as never, 'desc')
        .executeTakeFirstOrThrow()
      const name = (last as { name: string }).name
      await h.db
        .deleteFrom('kysely_migration' as never)
        .where('name' as never, '=', name as never)
        .execute()
      const pending = await h.call('GET', '/readyz')
      expect(pending.status).toBe(503)
      expect(pending.json.checks.migrations).toBe('pending')
      await h.db
        .insertInto('kysely_migration' as never)
        .values({ name, timestamp: new Date().toISOString() } as never)
        .execute()
      expect((await h.call('GET', '/readyz')).status).toBe(200)
    })
  })
}
