/**
 * A webhook event raised straight into the outbox, for tests that need one without going through
 * the API (an endpoint's hold, the dispatcher's shares, signing).
 * @module
 */
import type { Kysely } from 'kysely'
import type { Database } from '../src/storage'
import { emitWebhookEvent } from '../src/webhooks/emit'

/**
 * Raises a test-mode `key.revoked` for `projectId` at `at` (its key revoked at `revokedAt`);
 * what emitWebhookEvent answers.
 */
export function raiseKeyRevoked(
  db: Kysely<Database>,
  projectId: string,
  at: number,
  revokedAt = at,
): Promise<string | null> {
  return db.transaction().execute((trx) =>
    emitWebhookEvent(trx, {
      type: 'key.revoked',
      projectId,
      mode: 'test',
      at,
      data: {
        keyId: 'key_1',
        kind: 'secret',
        hint: 'sk_test_…',
        revokedAt: new Date(revokedAt).toISOString(),
      },
    }),
  )
}
