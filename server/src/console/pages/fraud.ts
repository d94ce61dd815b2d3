import { Hono } from 'hono'
import * as v from 'valibot'
import { addListEntry, listEntries, removeListEntry } from '../../fraud/list-entries'
import { recentEvents } from '../../fraud/routes'
import { FraudSettingsError, parseFraudSettings } from '../../fraud/settings'
import { readJson } from '../../http/body'
import { ApiError } from '../../http/errors'
import { can } from '../../operators'
import { maskPhone } from '../../outbox/status'
import { setFraudSettings } from '../../projects'
import { withFields } from '../../with-fields'
import type { ProjectRoutesDeps } from '../project-routes'
import { auditNote, need } from '../security'
import { maskIp } from './verifications'

type Mode = 'enforce' | 'shadow' | 'off'
const ModeSchema = v.picklist(['enforce', 'shadow', 'off'])
const Modes = v.strictObject({ modes: v.record(v.pipe(v.string(), v.maxLength(40)), ModeSchema) })
const ListAdd = v.strictObject({
  list: v.picklist(['allow', 'block']),
  kind: v.picklist(['phone', 'prefix', 'ip', 'country']),
  value: v.pipe(v.string(), v.maxLength(64)),
  note: v.optional(v.pipe(v.string(), v.maxLength(200))),
  /** ISO 8601; absent or null: never. */
  expiresAt: v.optional(v.nullable(v.pipe(v.string(), v.isoTimestamp()))),
})

/** The settings key of the check a reason code comes from (`velocity.ip.1h` → `velocity`). */
const CHECK_OF_REASON: Record<string, string> = {
  list: 'lists',
  number_type: 'numberType',
  velocity: 'velocity',
  conversion: 'conversion',
  spend: 'spend',
  destination: 'destinations',
  caller: 'callers',
}
/** A logged reason is `decision:check.detail` (`block:list.block.prefix`), maybe `shadow:`-prefixed. */
function parseReason(reason: string): { decision: string | undefined; check: string | undefined } {
  const bare = reason.replace(/^shadow:/, '')
  const match = /^(allow|challenge|block):(.*)$/.exec(bare)
  const code = match ? (match[2] ?? '') : bare
  return { decision: match?.[1], check: CHECK_OF_REASON[code.split('.')[0] ?? ''] }
}

export function checkOfReason(reason: string): string | undefined {
  return parseReason(reason).check
}

const SEVERITY: Record<string, number> = { allow: 0, challenge: 1, block: 2 }

/** Every check of the settings that has a mode, read generically from the settings module. */
function checkModes(stored: string | null): Record<string, Mode> {
  const settings = parseFraudSettings(stored ? JSON.parse(stored) : {}) as Record<string, unknown>
  return Object.fromEntries(
    Object.entries(settings)
      .filter(([, value]) => typeof value === 'object' && value !== null && 'mode' in value)
      .map(([key, value]) => [key, (value as { mode: Mode }).mode]),
  )
}

export interface WhatIfEvent {
  decision: string
  reasons: string[]
  shadowReasons: string[]
}

/**
 * The decision a logged start would have had under the proposed modes: reasons of checks turned
 * off or to shadow stop counting; shadow reasons of checks turned to enforce start counting; the
 * worst remaining reason decides (each logged reason carries its own decision).
 */
export function whatIf(event: WhatIfEvent, modes: Record<string, Mode>): string {
  const counted = [
    ...event.reasons.filter((r) => {
      const { check } = parseReason(r)
      return !check || !modes[check] || modes[check] === 'enforce'
    }),
    ...event.shadowReasons.filter((r) => {
      const { check } = parseReason(r)
      return check !== undefined && modes[check] === 'enforce'
    }),
  ]
  // Reasons without a decision of their own keep the logged decision.
  let decision = 'allow'
  for (const reason of counted) {
    const own = parseReason(reason).decision ?? event.decision
    if ((SEVERITY[own] ?? 0) > (SEVERITY[decision] ?? 0)) decision = own
  }
  return decision
}

export function fraudRoutes({ db, now }: ProjectRoutesDeps) {
  return new Hono()
    .get('/events', need('fraud.read'), async (c) => {
      const decision = c.req.query('decision') || undefined
      if (decision && !['allow', 'challenge', 'block'].includes(decision)) {
        throw new ApiError('invalid_request', {
          issues: [{ path: 'decision', message: 'allow, challenge or block' }],
        })
      }
      const full = can(c.get('role'), 'pii.read')
      const events = await recentEvents(db, c.get('project').id, { limit: 100, decision })
      return c.json({
        events: events.map((e) => {
          const phone = full ? e.phone : maskPhone(e.phone)
          return withFields(e, {
            phone,
            // A range keeps its open digits (its width) and is masked as its prefix is.
            range: e.range === undefined ? undefined : `${phone}${e.range.slice(e.phone.length)}`,
            ip: full ? e.ip : maskIp(e.ip),
          })
        }),
      })
    })
    .get('/lists', need('fraud.read'), async (c) => {
      const entries = await listEntries(db, c.get('project').id, now())
      // A listed number is a person's number: in full only for roles that read numbers in full.
      const full = can(c.get('role'), 'pii.read')
      return c.json({
        entries: entries.map((e) =>
          full || e.kind !== 'phone' ? e : withFields(e, { value: maskPhone(e.value) }),
        ),
      })
    })
    .post('/lists', need('fraud.write'), async (c) => {
      const input = await readJson(c, ListAdd)
      const entry = await addListEntry(db, c.get('project').id, input, now())
      auditNote(c, { action: 'fraud.list.add', target: entry.id, after: entry })
      return c.json(entry, 201)
    })
    .delete('/lists/:entryId', need('fraud.write'), async (c) => {
      const projectId = c.get('project').id
      const before = (await listEntries(db, projectId, now())).find(
        (e) => e.id === c.req.param('entryId'),
      )
      // Entries for every project ('*') are the CLI's to change, not one project's owner's.
      if (!before || before.projectId !== projectId) throw new ApiError('not_found')
      await removeListEntry(db, projectId, before.id)
      auditNote(c, { action: 'fraud.list.remove', target: before.id, before, after: null })
      return c.json({ ok: true })
    })
    .get('/settings', need('fraud.read'), (c) =>
      c.json({ modes: checkModes(c.get('project').fraud_settings) }),
    )
    .put('/settings', need('fraud.write'), async (c) => {
      const { modes } = await readJson(c, Modes)
      const project = c.get('project')
      const before = checkModes(project.fraud_settings)
      const stored = (project.fraud_settings ? JSON.parse(project.fraud_settings) : {}) as Record<
        string,
        Record<string, unknown>
      >
      for (const [check, mode] of Object.entries(modes)) {
        if (!(check in before)) {
          throw new ApiError('invalid_request', {
            issues: [{ path: `modes.${check}`, message: 'no such check' }],
          })
        }
        stored[check] = withFields(stored[check] ?? {}, { mode })
      }
      try {
        await setFraudSettings(db, project.id, stored)
      } catch (error) {
        if (error instanceof FraudSettingsError)
          throw new ApiError('invalid_request', { message: error.message })
        throw error
      }
      const after = checkModes(JSON.stringify(stored))
      auditNote(c, { action: 'fraud.settings', target: project.id, before, after })
      return c.json({ modes: after })
    })
    .post('/what-if', need('fraud.read'), async (c) => {
      const { modes } = await readJson(c, Modes)
      const since = now() - 24 * 3600_000
      const rows = await db
        .selectFrom('fraud_events')
        .select(['id', 'phone', 'decision', 'outcome', 'reasons', 'shadow_reasons', 'created_at'])
        .where('project_id', '=', c.get('project').id)
        .where('created_at', '>=', since)
        .orderBy('created_at', 'desc')
        .limit(5000)
        .execute()
      const full = can(c.get('role'), 'pii.read')
      const changed = []
      for (const row of rows) {
        const event = {
          decision: row.decision,
          reasons: JSON.parse(row.reasons),
          shadowReasons: JSON.parse(row.shadow_reasons),
        }
        const wouldBe = whatIf(event, modes)
        if (wouldBe !== row.decision) {
          changed.push({
            id: row.id,
            phone: full ? row.phone : maskPhone(row.phone),
            at: row.created_at,
            was: row.decision,
            wouldBe,
            ...event,
          })
        }
      }
      return c.json({ decisions: rows.length, changed })
    })
}
