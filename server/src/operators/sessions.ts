/**
 * Console sessions: a random id in an HttpOnly cookie, only its SHA-256 in the database; an idle
 * timeout and an absolute one; a short-lived first stage between the password and the second
 * factor; a new id once both factors passed (no fixation); logout here or everywhere.
 * @module
 */
import { createHmac, randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../storage'
import { hashToken } from './index'

export const IDLE_TIMEOUT_MS = 30 * 60_000
export const ABSOLUTE_TIMEOUT_MS = 12 * 3600_000
/** Time between the password and the second factor. */
export const MFA_STAGE_MS = 5 * 60_000
/** last_seen_at is written at most this often (every request would be a write otherwise). */
const TOUCH_EVERY_MS = 30_000

export interface Session {
  idHash: string
  operatorId: string
  stage: 'mfa' | 'full'
  createdAt: number
  expiresAt: number
}

export async function createSession(
  db: Kysely<Database>,
  input: { operatorId: string; stage: 'mfa' | 'full'; ip: string | null; userAgent: string | null },
  now = Date.now(),
): Promise<string> {
  const id = randomBytes(32).toString('base64url')
  await db
    .insertInto('operator_sessions')
    .values({
      id_hash: hashToken(id),
      operator_id: input.operatorId,
      stage: input.stage,
      created_at: now,
      last_seen_at: now,
      expires_at: now + (input.stage === 'mfa' ? MFA_STAGE_MS : ABSOLUTE_TIMEOUT_MS),
      ip: input.ip,
      user_agent: input.userAgent?.slice(0, 300) ?? null,
    })
    .execute()
  return id
}

/** The live session for a cookie's value, or undefined (expired ones are deleted). */
export async function readSession(
  db: Kysely<Database>,
  id: string,
  now = Date.now(),
): Promise<Session | undefined> {
  const idHash = hashToken(id)
  const row = await db
    .selectFrom('operator_sessions')
    .innerJoin('operators', 'operators.id', 'operator_sessions.operator_id')
    .select([
      'operator_sessions.operator_id',
      'operator_sessions.stage',
      'operator_sessions.created_at',
      'operator_sessions.last_seen_at',
      'operator_sessions.expires_at',
      'operators.disabled_at',
    ])
    .where('operator_sessions.id_hash', '=', idHash)
    .executeTakeFirst()
  if (!row) return undefined
  const idle = row.stage === 'full' && now - row.last_seen_at > IDLE_TIMEOUT_MS
  if (row.expires_at <= now || idle || row.disabled_at !== null) {
    await db.deleteFrom('operator_sessions').where('id_hash', '=', idHash).execute()
    return undefined
  }
  if (now - row.last_seen_at > TOUCH_EVERY_MS) {
    await db
      .updateTable('operator_sessions')
      .set({ last_seen_at: now })
      .where('id_hash', '=', idHash)
      .execute()
  }
  return {
    idHash,
    operatorId: row.operator_id,
    stage: row.stage,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  }
}

export async function endSession(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('operator_sessions').where('id_hash', '=', hashToken(id)).execute()
}

/** Logout everywhere: every session of the operator, on every device. */
export async function endAllSessions(db: Kysely<Database>, operatorId: string): Promise<number> {
  const result = await db
    .deleteFrom('operator_sessions')
    .where('operator_id', '=', operatorId)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** Sessions past their lifetime or idle timeout (housekeeping); returns how many went. */
export async function dropExpiredSessions(db: Kysely<Database>, now = Date.now()): Promise<number> {
  const result = await db
    .deleteFrom('operator_sessions')
    .where((eb) =>
      eb.or([
        eb('expires_at', '<=', now),
        eb.and([eb('stage', '=', 'full'), eb('last_seen_at', '<', now - IDLE_TIMEOUT_MS)]),
      ]),
    )
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** The anti-CSRF token of a session: sent back in X-CSRF-Token on every change. */
export function csrfToken(key: Buffer, sessionId: string): string {
  return createHmac('sha256', key).update(`csrf:${sessionId}`).digest('base64url')
}
