import { CountryCode } from '@textgate/shared'
import { Hono } from 'hono'
import ipaddr from 'ipaddr.js'
import type { Kysely } from 'kysely'
import * as v from 'valibot'
import { readJson, validate } from '../../http/body'
import { ApiError } from '../../http/errors'
import { can } from '../../operators'
import { maskPhone } from '../../outbox/status'
import { parsePhoneAnyType } from '../../phone'
import type { Database, Verification } from '../../storage'
import type { ProjectRoutesDeps } from '../project-routes'
import { auditNote, need } from '../security'

const ListQuery = v.object({
  status: v.optional(v.picklist(['pending', 'approved', 'expired', 'failed', 'canceled'])),
  country: v.optional(CountryCode),
  decision: v.optional(v.picklist(['allow', 'challenge', 'block'])),
  carrier: v.optional(v.pipe(v.string(), v.maxLength(64))),
  before: v.optional(v.pipe(v.string(), v.toNumber(), v.integer())),
  limit: v.optional(v.pipe(v.string(), v.toNumber(), v.integer(), v.minValue(1), v.maxValue(200))),
})
const Lookup = v.strictObject({ phone: v.pipe(v.string(), v.maxLength(40)) })

/**
 * An address with its last part hidden (the network stays readable): an IPv4 address without
 * its last byte, an IPv6 address as its /64 network. IPv6 is expanded first: the written form
 * drops zero groups (`2001:db8::1234`), so its first four groups can be the whole address.
 */
export function maskIp(ip: string | null): string | null {
  if (!ip) return ip
  if (ip.includes('.')) return ip.replace(/\.\d+$/, '.x')
  if (!ipaddr.IPv6.isValid(ip)) return '…'
  const network = ipaddr.IPv6.parse(ip).parts.slice(0, 4)
  return `${network.map((part) => part.toString(16)).join(':')}:…`
}

const json = (text: string | null) => (text ? JSON.parse(text) : null)

/** Everything the detail page shows, masked unless the role reads personal data in full. */
export async function verificationTimeline(db: Kysely<Database>, row: Verification, full: boolean) {
  const messages = await db
    .selectFrom('messages')
    .selectAll()
    .where('verification_id', '=', row.id)
    .orderBy('created_at')
    .execute()
  const parts = messages.length
    ? await db
        .selectFrom('message_parts')
        .selectAll()
        .where(
          'message_id',
          'in',
          messages.map((m) => m.id),
        )
        .orderBy('part')
        .execute()
    : []
  const events = await db
    .selectFrom('fraud_events')
    .select(['decision', 'outcome', 'reasons', 'shadow_reasons', 'created_at'])
    .where('verification_id', '=', row.id)
    .orderBy('created_at')
    .execute()
  const phone = full ? row.phone : maskPhone(row.phone)
  return {
    id: row.id,
    mode: row.mode,
    phone,
    country: row.country,
    status: row.status,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    start: {
      origin: row.origin,
      ip: full ? row.ip : maskIp(row.ip),
      locale: row.locale,
      consentVersion: row.consent_version,
      signals: json((row as { signals?: string | null }).signals ?? null),
    },
    risk: {
      decision: row.risk_decision,
      reasons: json(row.risk_reasons) ?? [],
      events: events.map((e) => ({
        decision: e.decision,
        outcome: e.outcome,
        reasons: JSON.parse(e.reasons),
        shadowReasons: JSON.parse(e.shadow_reasons),
        at: e.created_at,
      })),
    },
    texts: messages.map((m) => ({
      id: m.id,
      to: full ? m.to : maskPhone(m.to),
      carrier: m.carrier,
      status: m.status,
      encoding: m.encoding,
      segments: m.segments,
      cost: m.cost_amount === null ? null : { amount: m.cost_amount, currency: m.cost_currency },
      error: m.error_code ?? m.error,
      // Each status change the delivery reports brought, in order.
      changes: [
        { status: 'queued', at: m.created_at },
        ...(m.sent_at ? [{ status: 'sent', at: m.sent_at }] : []),
        ...(m.delivered_at ? [{ status: 'delivered', at: m.delivered_at }] : []),
        ...(m.failed_at ? [{ status: m.status, at: m.failed_at }] : []),
      ],
      parts: parts
        .filter((p) => p.message_id === m.id)
        .map((p) => ({ part: p.part, status: p.status, at: p.status_at, error: p.error_code })),
    })),
    // Counts only: codes are never stored, let alone shown.
    checks: { attempts: row.attempts, sends: row.sends },
    token: { issuedAt: row.approved_at, redeemedAt: row.token_redeemed_at },
  }
}

export function verificationRoutes({ db }: ProjectRoutesDeps) {
  return new Hono()
    .get('/', need('verifications.list'), async (c) => {
      const read = (name: string) => c.req.query(name) || undefined
      const q = validate(ListQuery, {
        status: read('status'),
        country: read('country')?.toUpperCase(),
        decision: read('decision'),
        carrier: read('carrier'),
        before: read('before'),
        limit: read('limit'),
      })
      let query = db
        .selectFrom('verifications as v')
        .select([
          'v.id',
          'v.phone',
          'v.country',
          'v.status',
          'v.mode',
          'v.risk_decision',
          'v.created_at',
          (eb) =>
            eb
              .selectFrom('messages as m')
              .select('m.carrier')
              .whereRef('m.verification_id', '=', 'v.id')
              .orderBy('m.created_at', 'desc')
              .limit(1)
              .as('carrier'),
        ])
        .where('v.project_id', '=', c.get('project').id)
        .orderBy('v.created_at', 'desc')
        .orderBy('v.id', 'desc')
        .limit(q.limit ?? 50)
      if (q.status) query = query.where('v.status', '=', q.status)
      if (q.country) query = query.where('v.country', '=', q.country)
      if (q.decision) query = query.where('v.risk_decision', '=', q.decision)
      if (q.before !== undefined) query = query.where('v.created_at', '<', q.before)
      if (q.carrier) {
        const carrier = q.carrier
        query = query.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('messages as m')
              .select('m.id')
              .whereRef('m.verification_id', '=', 'v.id')
              .where('m.carrier', '=', carrier),
          ),
        )
      }
      const full = can(c.get('role'), 'pii.read')
      const rows = await query.execute()
      return c.json({
        verifications: rows.map((r) => ({
          id: r.id,
          phone: full ? r.phone : maskPhone(r.phone),
          country: r.country,
          status: r.status,
          mode: r.mode,
          decision: r.risk_decision,
          carrier: r.carrier ?? null,
          createdAt: r.created_at,
        })),
      })
    })
    .post('/lookup', need('verifications.lookup'), async (c) => {
      const { phone: raw } = await readJson(c, Lookup)
      // Refused as the start refuses it (invalid_phone, its reason; an extension says so).
      const phone = parsePhoneAnyType(raw).e164
      const rows = await db
        .selectFrom('verifications')
        .selectAll()
        .where('project_id', '=', c.get('project').id)
        .where('phone', '=', phone)
        .orderBy('created_at', 'desc')
        .limit(10)
        .execute()
      // Every lookup by full number is recorded, found or not (the number itself is not).
      auditNote(c, {
        action: 'verifications.lookup',
        target: maskPhone(phone),
        force: true,
        after: { found: rows.map((r) => r.id) },
      })
      return c.json({
        phone,
        verifications: await Promise.all(rows.map((r) => verificationTimeline(db, r, true))),
      })
    })
    .get('/:id', need('verifications.list'), async (c) => {
      const row = await db
        .selectFrom('verifications')
        .selectAll()
        .where('project_id', '=', c.get('project').id)
        .where('id', '=', c.req.param('id'))
        .executeTakeFirst()
      if (!row) throw new ApiError('verification_not_found')
      return c.json(await verificationTimeline(db, row, can(c.get('role'), 'pii.read')))
    })
}
