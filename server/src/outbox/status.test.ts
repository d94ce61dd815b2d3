import { describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS, insertTestVerification } from '../../testing/storage'
import { createProject } from '../projects'
import { formatOutboxStatus, maskPhone, outboxStatus } from './status'

const NOW = 1_800_000_000_000

for (const dialect of DIALECTS) {
  describe(`outbox status (${dialect})`, () => {
    it('counts what waits, what gave up, and how each carrier did', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const { db } = storage
        const { project } = await createProject(db, { name: 'P', origins: ['https://a.example'] })
        let n = 0
        async function text(
          message: { status: string; carrier?: string; sentAt?: number },
          outbox: { state: string; availableAt?: number; claimedUntil?: number; error?: string },
        ) {
          n++
          await insertTestVerification(db, {
            id: `ver_${n}`,
            projectId: project.id,
            phone: `+4474001234${String(n).padStart(2, '0')}`,
            now: NOW,
          })
          await db
            .insertInto('messages')
            .values({
              id: `msg_${n}`,
              verification_id: `ver_${n}`,
              project_id: project.id,
              mode: 'live',
              to: `+4474001234${String(n).padStart(2, '0')}`,
              body_encrypted: null,
              status: message.status as 'queued',
              carrier: message.carrier ?? null,
              carrier_message_id: null,
              error: null,
              created_at: NOW - 60_000,
              sent_at: message.sentAt ?? null,
              delivered_at: null,
              updated_at: NOW - n,
            })
            .execute()
          await db
            .insertInto('outbox')
            .values({
              id: `obx_${n}`,
              message_id: `msg_${n}`,
              state: outbox.state as 'pending',
              available_at: outbox.availableAt ?? NOW - 60_000,
              claimed_by: outbox.claimedUntil ? 'w_x' : null,
              claimed_until: outbox.claimedUntil ?? null,
              last_error: outbox.error ?? null,
              created_at: NOW - 60_000,
            })
            .execute()
        }
        // Due: two (one never claimed, one whose claim expired), the older 60 s old.
        await text({ status: 'queued' }, { state: 'pending' })
        await text({ status: 'sending' }, { state: 'pending', claimedUntil: NOW - 1 })
        // Being sent, and waiting for a retry.
        await text({ status: 'sending' }, { state: 'pending', claimedUntil: NOW + 5_000 })
        await text({ status: 'queued' }, { state: 'pending', availableAt: NOW + 30_000 })
        // Given up.
        await text(
          { status: 'failed', carrier: 'smsc-a' },
          { state: 'dead', error: 'unknown subscriber' },
        )
        // Handed over lately: smsc-a 3 (2 delivered, 1 undelivered), twilio 1 sent; one old.
        for (const status of ['delivered', 'delivered', 'undelivered']) {
          await text({ status, carrier: 'smsc-a', sentAt: NOW - 1_000 }, { state: 'done' })
        }
        await text({ status: 'sent', carrier: 'twilio', sentAt: NOW - 1_000 }, { state: 'done' })
        await text(
          { status: 'delivered', carrier: 'twilio', sentAt: NOW - 7_200_000 },
          { state: 'done' },
        )

        const status = await outboxStatus(db, NOW, { hours: 1 })
        expect(status.pending).toEqual({ due: 2, claimed: 1, retrying: 1 })
        expect(status.oldestDueMs).toBe(60_000)
        expect(status.dead).toBe(1)
        expect(status.latestDead).toEqual([
          expect.objectContaining({
            messageId: 'msg_5',
            to: '+4474•••••405',
            carrier: 'smsc-a',
            error: 'unknown subscriber',
          }),
        ])
        expect(status.carriers).toEqual([
          { carrier: 'smsc-a', sent: 3, delivered: 2, failed: 1, deliveryRate: 2 / 3 },
          { carrier: 'twilio', sent: 1, delivered: 0, failed: 0, deliveryRate: null },
        ])
        const text1 = formatOutboxStatus(status)
        expect(text1).toContain(
          'pending: 2 due, 1 being sent, 1 waiting to retry; oldest due 60.0 s',
        )
        expect(text1).toContain('66.7 % delivered')
        expect(text1).not.toContain('+447400123405')

        // Nothing due: no age to report.
        await db.deleteFrom('outbox').where('state', '=', 'pending').execute()
        expect((await outboxStatus(db, NOW)).oldestDueMs).toBeNull()
      } finally {
        await storage.dispose()
      }
    })
  })
}

describe('maskPhone', () => {
  it('keeps the country and the last digits only', () => {
    expect(maskPhone('+447400123456')).toBe('+4474•••••456')
    expect(maskPhone('+1555')).toBe('+1555')
  })
})
