/**
 * What `GET /v1/verifications/{id}` shows: the verification and its messages, as the store
 * server and the console read them.
 * @module
 */
import type { CallerSignals, VerificationDetails } from '@textgate/shared'
import type { Kysely } from 'kysely'
import type { Database } from '../storage'
import { iso, loadVerification, MAX_CHECKS } from './state'

/**
 * @example
 * const details = await readVerification(db, project.id, 'ver_...', Date.now())
 */
export async function readVerification(
  db: Kysely<Database>,
  projectId: string,
  id: string,
  at: number,
  /** The reading key's mode: a test key never sees a live verification (it is not found). */
  keyMode?: 'test' | 'live',
): Promise<VerificationDetails> {
  const row = await loadVerification(db, projectId, id, keyMode)
  const status = row.status === 'pending' && row.expires_at <= at ? 'expired' : row.status
  const messages = await db
    .selectFrom('messages')
    .select([
      'id',
      'status',
      'carrier',
      'carrier_message_id',
      'error',
      'created_at',
      'sent_at',
      'delivered_at',
      'error_code',
      'cost_amount',
      'cost_currency',
      'encoding',
      'segments',
      'failed_at',
      'status_at',
    ])
    .where('verification_id', '=', id)
    .orderBy('created_at')
    .execute()
  return {
    id: row.id,
    projectId: row.project_id,
    mode: row.mode,
    status,
    phone: row.phone,
    country: row.country,
    channel: row.channel,
    locale: row.locale,
    consent: {
      version: row.consent_version,
      at: iso(row.consent_at),
      marketing: Number(row.consent_marketing) === 1,
    },
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    approvedAt: row.approved_at === null ? null : iso(row.approved_at),
    attemptsLeft: Math.max(0, MAX_CHECKS - row.attempts),
    sends: row.sends,
    risk: {
      decision: (row.risk_decision ?? null) as VerificationDetails['risk']['decision'],
      reasons: row.risk_reasons ? (JSON.parse(row.risk_reasons) as string[]) : [],
      ...(row.signals ? { signals: JSON.parse(row.signals) as CallerSignals } : {}),
    },
    messages: messages.map((m) => ({
      id: m.id,
      status: m.status,
      carrier: m.carrier,
      carrierMessageId: m.carrier_message_id,
      error: m.error,
      createdAt: iso(m.created_at),
      sentAt: m.sent_at === null ? null : iso(m.sent_at),
      deliveredAt: m.delivered_at === null ? null : iso(m.delivered_at),
      failedAt: m.failed_at === null ? null : iso(m.failed_at),
      statusAt: m.status_at === null ? null : iso(m.status_at),
      errorCode: m.error_code,
      cost:
        m.cost_amount === null || m.cost_currency === null
          ? null
          : { amount: m.cost_amount, currency: m.cost_currency },
      encoding: m.encoding === 'GSM-7' || m.encoding === 'UCS-2' ? m.encoding : null,
      segments: m.segments,
    })),
  }
}
