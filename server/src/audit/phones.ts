/**
 * Phone numbers in audit rows. Rows are append-only and chained, so an erasure by number
 * (privacy/erasure.ts) cannot remove a number from one: a row never holds one in full. A fraud
 * list entry for a number (`kind: 'phone'`, whatever wrote it: the console, the command line)
 * is recorded with its number masked (`+44 ••••••••56`) and its keyed digest (`valueHmac`),
 * HMAC-SHA256 under a key derived from the audit chain's (and so from TEXTGATE_SECRET), as
 * counter keys are kept (fraud/counters/keyed.ts): an owner who has the number finds its rows
 * (the Audit page's `phone` filter), and nobody reads a number off the table.
 * @module
 */
import { createHmac } from 'node:crypto'
import { maskPhone } from '../phone'

/** What a digest in an audit row starts with. */
export const PHONE_DIGEST_PREFIX = 'hmac-sha256:'

/** The key of phone digests, derived from the audit chain's key. */
function digestKey(auditKey: Buffer): Buffer {
  return createHmac('sha256', auditKey).update('textgate/audit-phone/v1').digest()
}

/**
 * The keyed digest an audit row keeps of an E.164 number.
 * @example
 * phoneDigest(secrets.auditKey, '+447400123456') // 'hmac-sha256:3f…'
 */
export function phoneDigest(auditKey: Buffer, e164: string): string {
  return `${PHONE_DIGEST_PREFIX}${createHmac('sha256', digestKey(auditKey)).update(e164).digest('hex')}`
}

const E164 = /^\+[1-9]\d{6,14}$/

/**
 * `value` (an audit row's before or after) with every phone list entry's number masked and
 * digested, at any depth; anything else as it is.
 */
export function withoutPhoneNumbers(auditKey: Buffer, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutPhoneNumbers(auditKey, item))
  if (value === null || typeof value !== 'object') return value
  const record = value as Record<string, unknown>
  const phoneEntry =
    record.kind === 'phone' && typeof record.value === 'string' && E164.test(record.value)
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(record)) {
    if (phoneEntry && key === 'value') {
      out.value = maskPhone(item as string)
      out.valueHmac = phoneDigest(auditKey, item as string)
    } else {
      out[key] = withoutPhoneNumbers(auditKey, item)
    }
  }
  return out
}
