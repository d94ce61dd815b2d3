/**
 * The hash chain of the audit log: each row's hash covers the previous row's hash and every
 * field of its own, so editing, removing or reordering a row breaks the chain from there on.
 * @module
 */
import { createHash } from 'node:crypto'
import type { AuditRow } from '../storage'

export const GENESIS_HASH = '0'.repeat(64)

export type ChainedFields = Omit<AuditRow, 'id' | 'hash'> & { id: string }

/** SHA-256 over the previous hash and the row's fields, in a fixed order. */
export function rowHash(row: ChainedFields): string {
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
  return createHash('sha256')
    .update(row.prev_hash)
    .update('\n')
    .update(JSON.stringify(fields))
    .digest('hex')
}
