/**
 * `Idempotency-Key` on starts: the first answer is kept for a day and replayed to a repeat of the
 * same request; the same key with a different request is a conflict.
 * @module
 */
import { createHash } from 'node:crypto'
import type { StartVerificationResponse } from '@textgate/shared'
import type { Kysely, Transaction } from 'kysely'
import { ApiError } from '../http/errors'
import type { Database } from '../storage'

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000

/** A kept answer, replayed. */
export interface Replay {
  status: number
  body: StartVerificationResponse
  replayed: true
}

/** Another request with the same key committed first. */
export class IdempotencyRace extends Error {}

/** What makes two starts "the same request". */
export function startRequestHash(input: {
  e164: string
  consentVersion?: string | undefined
  locale?: string | undefined
  channel?: string | undefined
  marketing?: boolean | undefined
  /** The starting key's mode: a test start and a live one are never the same request. */
  mode: 'test' | 'live'
}): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        input.e164,
        input.consentVersion ?? null,
        input.locale ?? null,
        input.channel ?? 'sms',
        // Only when given: hashes of starts without the opt-in stay as they were.
        ...(input.marketing ? ['marketing'] : []),
        // Only for test mode: live starts' hashes stay as they were.
        ...(input.mode === 'test' ? ['test'] : []),
      ]),
    )
    .digest('hex')
}

/** The kept answer for `key`, if any; throws `idempotency_conflict` for another request. */
export async function readIdempotent(
  db: Kysely<Database>,
  projectId: string,
  key: string,
  requestHash: string,
  at: number,
): Promise<Replay | undefined> {
  const row = await db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('key', '=', key)
    .executeTakeFirst()
  if (!row) return undefined
  if (row.expires_at <= at) {
    await db
      .deleteFrom('idempotency_keys')
      .where('project_id', '=', projectId)
      .where('key', '=', key)
      .where('expires_at', '<=', at)
      .execute()
    return undefined
  }
  if (row.request_hash !== requestHash) throw new ApiError('idempotency_conflict')
  return {
    status: row.response_status,
    body: JSON.parse(row.response_body) as StartVerificationResponse,
    replayed: true,
  }
}

/**
 * Keeps the answer under `key` in the start's transaction. Inserted first: a concurrent request
 * with the same key waits here, then finds it. Throws IdempotencyRace when that one won.
 */
export async function keepIdempotent(
  trx: Transaction<Database>,
  input: {
    projectId: string
    key: string
    requestHash: string
    body: StartVerificationResponse
    at: number
  },
): Promise<void> {
  const inserted = await trx
    .insertInto('idempotency_keys')
    .values({
      project_id: input.projectId,
      key: input.key,
      request_hash: input.requestHash,
      response_status: 201,
      response_body: JSON.stringify(input.body),
      created_at: input.at,
      expires_at: input.at + IDEMPOTENCY_TTL_MS,
    })
    .onConflict((oc) => oc.columns(['project_id', 'key']).doNothing())
    .executeTakeFirst()
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) throw new IdempotencyRace()
}
