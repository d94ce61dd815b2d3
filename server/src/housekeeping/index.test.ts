import { CompiledQuery } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS, insertTestVerification } from '../../testing/storage'
import { DEVICE_TTL_MS } from '../operators/devices'
import { createProject } from '../projects'
import { cleanUp } from './index'

for (const dialect of DIALECTS) {
  describe(`housekeeping (${dialect})`, () => {
    it('removes only what has outlived its use', async () => {
      const storage = await createTestStorage(dialect)
      const at = Date.parse('2026-11-25T12:00:00Z')
      await storage.db
        .insertInto('redeemed_tokens')
        .values([
          { jti: 'old', project_id: 'p', redeemed_at: at - 900_000, expires_at: at - 120_000 },
          { jti: 'live', project_id: 'p', redeemed_at: at, expires_at: at + 600_000 },
        ])
        .execute()
      await storage.db
        .insertInto('idempotency_keys')
        .values([
          {
            project_id: 'p',
            key: 'a',
            request_hash: 'h',
            response_status: 201,
            response_body: '{}',
            created_at: 0,
            expires_at: at - 1,
          },
          {
            project_id: 'p',
            key: 'b',
            request_hash: 'h',
            response_status: 201,
            response_body: '{}',
            created_at: at,
            expires_at: at + 1,
          },
        ])
        .execute()
      await storage.db
        .insertInto('fraud_counters')
        .values([
          { key: 'start:old', bucket: at - 7_200_000, count: 3, expires_at: at - 1 },
          { key: 'start:now', bucket: at - 60_000, count: 1, expires_at: at + 3_600_000 },
        ])
        .execute()
      await storage.db
        .insertInto('fraud_spent_challenges')
        .values({ signature: 'spent', expires_at: at - 1 })
        .execute()
      const entry = {
        project_id: 'p',
        list: 'block' as const,
        kind: 'prefix' as const,
        note: null,
        created_at: 0,
      }
      await storage.db
        .insertInto('fraud_list_entries')
        .values([
          { ...entry, id: 'fle_expired', value: '+4474', expires_at: at - 1 },
          { ...entry, id: 'fle_later', value: '+4475', expires_at: at + 60_000 },
          { ...entry, id: 'fle_never', value: '+4476', expires_at: null },
        ])
        .execute()
      await storage.db
        .insertInto('operators')
        .values({
          id: 'op_a',
          email: 'a@shop.example',
          password_hash: null,
          totp_secret_encrypted: null,
          totp_last_step: null,
          locked_until: null,
          created_at: 0,
          disabled_at: null,
        })
        .execute()
      const device = { operator_id: 'op_a', created_at: 0, locked_until: null }
      await storage.db
        .insertInto('operator_devices')
        .values([
          { ...device, id: 'unused-90-days', last_used_at: at - DEVICE_TTL_MS },
          { ...device, id: 'used-since', last_used_at: at - DEVICE_TTL_MS + 60_000 },
        ])
        .execute()
      const session = {
        operator_id: 'op_a',
        created_at: at - 3_600_000,
        ip: null,
        user_agent: null,
        challenge: null,
      }
      await storage.db
        .insertInto('operator_sessions')
        .values([
          // Past its absolute end; idle past the timeout; a second factor never given; in use.
          { ...session, id_hash: 'ended', stage: 'full', last_seen_at: at, expires_at: at - 1 },
          {
            ...session,
            id_hash: 'idle',
            stage: 'full',
            last_seen_at: at - 24 * 3_600_000,
            expires_at: at + 3_600_000,
          },
          { ...session, id_hash: 'mfa-gone', stage: 'mfa', last_seen_at: at, expires_at: at - 1 },
          { ...session, id_hash: 'in-use', stage: 'full', last_seen_at: at, expires_at: at + 1 },
        ])
        .execute()
      expect(await cleanUp(storage.db, at)).toEqual({
        earlyReports: 0,
        redeemedTokens: 1,
        idempotencyKeys: 1,
        sandboxMessages: 0,
        fraudCounters: 1,
        spentChallenges: 1,
        fraudEvents: 0,
        callbackReplays: 0,
        operatorDevices: 1,
        operatorSessions: 3,
        expiredListEntries: 1,
        masked: { verifications: 0, messages: 0, fraudEvents: 0, signals: 0, figures: 0 },
      })
      const left = await storage.db.selectFrom('redeemed_tokens').select('jti').execute()
      expect(left).toEqual([{ jti: 'live' }])
      const entries = await storage.db
        .selectFrom('fraud_list_entries')
        .select('id')
        .orderBy('id')
        .execute()
      expect(entries.map((e) => e.id)).toEqual(['fle_later', 'fle_never'])
      const devices = await storage.db.selectFrom('operator_devices').select('id').execute()
      expect(devices).toEqual([{ id: 'used-since' }])
      const sessions = await storage.db.selectFrom('operator_sessions').select('id_hash').execute()
      expect(sessions).toEqual([{ id_hash: 'in-use' }])
      await storage.dispose()
    })

    it('masks each row once it crosses the retention line, pass after pass', async () => {
      const storage = await createTestStorage(dialect)
      const projectId = (
        await createProject(storage.db, { name: 'P', origins: ['https://a.example'] })
      ).project.id
      const DAY = 86_400_000
      const at = Date.parse('2026-11-25T12:00:00Z')
      const add = (id: string, createdAt: number) =>
        insertTestVerification(storage.db, {
          id,
          projectId,
          phone: '+447400123456',
          now: createdAt,
        })
      const phoneOf = async (id: string) =>
        (
          await storage.db
            .selectFrom('verifications')
            .select('phone')
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
        ).phone
      await add('ver_old', at - 31 * DAY)
      await add('ver_young', at - 29.9 * DAY)
      const retentionMs = 30 * DAY
      expect((await cleanUp(storage.db, at, { retentionMs })).masked.verifications).toBe(1)
      expect(await phoneOf('ver_old')).toBe('+44…56')
      // A later pass: the row that crossed the line since, and one committed late, older than
      // the last pass's line.
      await add('ver_late', at - 30 * DAY - 30 * 60_000)
      const later = at + 0.2 * DAY
      expect((await cleanUp(storage.db, later, { retentionMs })).masked.verifications).toBe(2)
      expect([await phoneOf('ver_young'), await phoneOf('ver_late')]).toEqual(['+44…56', '+44…56'])
      expect((await cleanUp(storage.db, later + 600_000, { retentionMs })).masked).toEqual({
        verifications: 0,
        messages: 0,
        fraudEvents: 0,
        signals: 0,
        figures: 0,
      })
      await storage.dispose()
    })

    if (dialect === 'sqlite') {
      it('reads no table whole (each clean-up goes through an index)', async () => {
        const storage = await createTestStorage(dialect)
        const at = Date.parse('2026-11-25T12:00:00Z')
        const seen: CompiledQuery[] = []
        const watched = storage.db.withPlugin({
          transformQuery({ node, queryId }) {
            seen.push(storage.db.getExecutor().compileQuery(node, queryId))
            return node
          },
          transformResult: async ({ result }) => result,
        })
        await cleanUp(watched, at)
        // Twice: the second pass is the incremental one.
        await cleanUp(watched, at + 600_000)
        // (Small tables may be read whole: the projects, list entries, early reports and the
        // operators' console sessions.)
        const scans: string[] = []
        for (const query of seen) {
          const plan = await storage.db.executeQuery<{ detail: string }>(
            CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
          )
          for (const { detail } of plan.rows) {
            if (
              /^SCAN /.test(detail) &&
              !/^SCAN (early_reports|fraud_list_entries|operator_sessions|projects)\b/.test(detail)
            ) {
              scans.push(`${detail}: ${query.sql.slice(0, 80)}`)
            }
          }
        }
        expect(seen.length).toBeGreaterThan(10)
        expect(scans).toEqual([])
        await storage.dispose()
      })
    }
  })
}
