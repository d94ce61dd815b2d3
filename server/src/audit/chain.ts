/**
 * The hash chain of the audit log: each row's hash covers the previous row's hash and every
 * field of its own, so editing, removing or reordering a row breaks the chain from there on.
 *
 * Two schemes, told apart by the stored hash itself:
 * - `hmac-sha256:<hex>` (every row written now): HMAC-SHA256 under a key derived from
 *   TEXTGATE_SECRET, so only a holder of the secret can compute a row's hash. Someone who can
 *   write to the database but has not the secret cannot recompute the rows after one they edit.
 * - `<hex>` alone (rows written before the chain was keyed): plain SHA-256, which anyone can
 *   recompute. Such rows are trusted only as the start of a chain that a keyed row follows (its
 *   HMAC covers their last hash, so it seals them); see {@link verifyAuditChain}.
 * @module
 */
import { createHash, createHmac } from 'node:crypto'
import type { AuditRow } from '../storage'

export const GENESIS_HASH = '0'.repeat(64)

export type ChainedFields = Omit<AuditRow, 'id' | 'hash'> & { id: string }

export type ChainScheme = 'hmac-sha256' | 'sha256'

const KEYED_PREFIX = 'hmac-sha256:'

function message(row: ChainedFields): string {
  const fields = [
    row.id,
    row.project_id,
    Number(row.seq),
    Number(row.at),
    row.actor_type,
    row.actor_id,
    row.actor_label,
    row.action,
    row.target,
    row.ip,
    row.user_agent,
    row.status,
    row.before,
    row.after,
  ]
  return `${row.prev_hash}\n${JSON.stringify(fields)}`
}

/** The scheme a stored hash was made with (by its form). */
export function schemeOf(hash: string): ChainScheme {
  return hash.startsWith(KEYED_PREFIX) ? 'hmac-sha256' : 'sha256'
}

/** The row's hash as rows are written now: HMAC-SHA256 under `key`, prefixed with its scheme. */
export function rowHash(key: Buffer, row: ChainedFields): string {
  return KEYED_PREFIX + createHmac('sha256', key).update(message(row)).digest('hex')
}

/** The unkeyed SHA-256 of rows written before the chain was keyed. */
export function legacyRowHash(row: ChainedFields): string {
  return createHash('sha256').update(message(row)).digest('hex')
}

/** The hash the row should have under the scheme its stored hash names. */
export function expectedHash(key: Buffer, row: ChainedFields & { hash: string }): string {
  return schemeOf(row.hash) === 'hmac-sha256' ? rowHash(key, row) : legacyRowHash(row)
}
