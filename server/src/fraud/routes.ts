/**
 * The operator's side of the fraud guard (secret key): allow and block lists, and the log of
 * decisions with their reasons.
 * @module
 */
import { FraudEventsQuery, FraudListEntryRequest, FraudSummaryQuery } from '@textgate/shared'
import { Hono } from 'hono'
import type { Kysely } from 'kysely'
import { apiKeyAuth } from '../auth'
import { readJson, validate } from '../http/body'
import { ApiError } from '../http/errors'
import { isId } from '../ids'
import type { Database } from '../storage'
import { addListEntry, listEntries, removeListEntry } from './list-entries'

export async function recentEvents(
  db: Kysely<Database>,
  projectId: string,
  { limit = 50, decision }: { limit?: number; decision?: string | undefined } = {},
) {
  let query = db
    .selectFrom('fraud_events')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
  if (decision) query = query.where('decision', '=', decision)
  const rows = await query.execute()
  return rows.map((row) => {
    const range = rangeOf(row)
    return {
      id: row.id,
      verificationId: row.verification_id,
      phone: row.phone,
      country: row.country,
      ip: row.ip,
      decision: row.decision as 'allow' | 'challenge' | 'block',
      outcome: row.outcome,
      reasons: JSON.parse(row.reasons) as string[],
      shadowReasons: JSON.parse(row.shadow_reasons) as string[],
      ...(range !== undefined ? { range } : {}),
      createdAt: new Date(Number(row.created_at)).toISOString(),
    }
  })
}

/**
 * A range restriction's numbers, its open digits as `x`: `+447400xxxxxx`. Its row keeps the
 * prefix as `phone` and the prefix's length in its figures (`prefixDigits`); rows written before
 * the guard judged several lengths have none.
 */
function rangeOf(row: { outcome: string; phone: string; figures: string | null }) {
  if (row.outcome !== 'restricted' && row.outcome !== 'lifted') return undefined
  if (!row.phone || !row.figures) return undefined
  const digits = (JSON.parse(row.figures) as { prefixDigits?: unknown }).prefixDigits
  if (typeof digits !== 'number' || !Number.isInteger(digits) || digits < 1 || digits > 15) {
    return undefined
  }
  return `${row.phone}${'x'.repeat(digits)}`
}

/**
 * What the guard did lately, at a glance: decisions by outcome, the most frequent reasons,
 * and the number ranges (last 4 digits dropped) and countries it stopped most.
 */
export async function summary(db: Kysely<Database>, projectId: string, since: number) {
  const rows = await db
    .selectFrom('fraud_events')
    .select(['outcome', 'reasons', 'phone', 'country'])
    .where('project_id', '=', projectId)
    .where('created_at', '>=', since)
    .execute()
  const outcomes: Record<string, number> = {}
  const reasons = new Map<string, number>()
  const ranges = new Map<string, number>()
  const countries = new Map<string, number>()
  for (const row of rows) {
    outcomes[row.outcome] = (outcomes[row.outcome] ?? 0) + 1
    for (const reason of JSON.parse(row.reasons) as string[]) {
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
    }
    if (row.outcome === 'decoy' || row.outcome === 'refused') {
      const range = `${row.phone.slice(0, -4)}xxxx`
      ranges.set(range, (ranges.get(range) ?? 0) + 1)
      countries.set(row.country, (countries.get(row.country) ?? 0) + 1)
    }
  }
  const top = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([key, count]) => ({ key, count }))
  return {
    since: new Date(since).toISOString(),
    starts: rows.length,
    outcomes,
    topReasons: top(reasons),
    topStoppedRanges: top(ranges),
    topStoppedCountries: top(countries),
  }
}

export function fraudRoutes(db: Kysely<Database>, now: () => number = Date.now) {
  const secret = apiKeyAuth({ db, kinds: ['secret'] })
  return new Hono()
    .get('/lists', secret, async (c) =>
      c.json(await listEntries(db, c.get('auth').project.id, now())),
    )
    .post('/lists', secret, async (c) => {
      const input = await readJson(c, FraudListEntryRequest)
      return c.json(await addListEntry(db, c.get('auth').project.id, input, now()), 201)
    })
    .delete('/lists/:id', secret, async (c) => {
      const id = c.req.param('id')
      if (!isId('fle', id)) throw new ApiError('not_found')
      const removed = await removeListEntry(db, c.get('auth').project.id, id)
      if (!removed) throw new ApiError('not_found')
      return c.body(null, 204)
    })
    .get('/summary', secret, async (c) => {
      const { hours } = validate(FraudSummaryQuery, c.req.query())
      // Whole milliseconds: times are integer columns, and PostgreSQL refuses 1.5 for a bigint.
      const since = Math.floor(now() - hours * 3_600_000)
      return c.json(await summary(db, c.get('auth').project.id, since))
    })
    .get('/events', secret, async (c) => {
      const { limit, decision } = validate(FraudEventsQuery, c.req.query())
      return c.json(await recentEvents(db, c.get('auth').project.id, { limit, decision }))
    })
}
