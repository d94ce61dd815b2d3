import { describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS } from '../../testing/storage'
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
      expect(await cleanUp(storage.db, at)).toEqual({
        earlyReports: 0,
        redeemedTokens: 1,
        idempotencyKeys: 1,
        sandboxMessages: 0,
        fraudCounters: 1,
        spentChallenges: 1,
        fraudEvents: 0,
        callbackReplays: 0,
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
      await storage.dispose()
    })
  })
}
