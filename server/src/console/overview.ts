/**
 * The overview's figures, computed in SQL on SQLite and PostgreSQL alike (no dialect-specific
 * function: percentiles by window functions and nearest rank, hourly buckets by integer
 * division of epoch milliseconds) from the tables the service already writes.
 * @module
 */
import { type Kysely, sql } from 'kysely'
import type { Database, KeyMode } from '../storage'

export interface OverviewQuery {
  projectId: string
  from: number
  to: number
  /** Only live or only test traffic; both when absent. */
  mode?: KeyMode
}

export interface Funnel {
  started: number
  sent: number
  delivered: number
  verified: number
  redeemed: number
}

export interface Overview {
  from: number
  to: number
  funnel: Funnel
  byCountry: { country: string; started: number; verified: number; conversion: number }[]
  byCarrier: {
    carrier: string
    texts: number
    delivered: number
    verifications: number
    verified: number
    conversion: number
  }[]
  timings: {
    deliverMs: { median: number | null; p95: number | null; count: number }
    verifyMs: { median: number | null; p95: number | null; count: number }
  }
  spend: { currency: string; amount: number; texts: number }[]
  costPerVerified: { currency: string; amount: number }[]
  fraud: {
    blocked: number
    challenged: number
    decoyed: number
    /** (blocked + decoyed) × the average cost of a text in the range, per currency. */
    estimatedSaved: { currency: string; amount: number }[]
  }
  /** Started and verified per UTC hour (the browser groups them by its own days). */
  hourly: { hour: number; started: number; verified: number }[]
}

const n = (value: unknown): number => Number(value ?? 0)

export interface Percentiles {
  median: number | null
  p95: number | null
  count: number
}

/**
 * Median and 95th percentile (nearest rank) of a query's `ms` column, on either dialect.
 * @example await percentiles(db, sql`select delivered_at - sent_at as ms from messages ...`)
 */
export async function percentiles(
  db: Kysely<Database>,
  durations: ReturnType<typeof sql<number>>,
): Promise<Percentiles> {
  const row = await sql<{ median: number | null; p95: number | null; count: number }>`
    with ranked as (
      select x.ms, row_number() over (order by x.ms) as rn, count(*) over () as total
      from (${durations}) x
    )
    select
      min(case when rn = (50 * total + 99) / 100 then ms end) as median,
      min(case when rn = (95 * total + 99) / 100 then ms end) as p95,
      max(total) as count
    from ranked`.execute(db)
  const first = row.rows[0]
  return {
    median: first?.median === null || first?.median === undefined ? null : n(first.median),
    p95: first?.p95 === null || first?.p95 === undefined ? null : n(first.p95),
    count: n(first?.count),
  }
}

export async function overview(db: Kysely<Database>, query: OverviewQuery): Promise<Overview> {
  const { projectId, from, to, mode } = query
  let verifications = db
    .selectFrom('verifications as v')
    .where('v.project_id', '=', projectId)
    .where('v.created_at', '>=', from)
    .where('v.created_at', '<', to)
  if (mode) verifications = verifications.where('v.mode', '=', mode)

  const funnelRow = await verifications
    .select((eb) => [
      eb.fn.countAll<number>().as('started'),
      sql<number>`sum(case when exists (select 1 from messages m where m.verification_id = v.id and m.sent_at is not null) then 1 else 0 end)`.as(
        'sent',
      ),
      sql<number>`sum(case when exists (select 1 from messages m where m.verification_id = v.id and m.delivered_at is not null) then 1 else 0 end)`.as(
        'delivered',
      ),
      sql<number>`sum(case when v.status = 'approved' then 1 else 0 end)`.as('verified'),
      sql<number>`sum(case when v.token_redeemed_at is not null then 1 else 0 end)`.as('redeemed'),
    ])
    .executeTakeFirstOrThrow()
  const funnel: Funnel = {
    started: n(funnelRow.started),
    sent: n(funnelRow.sent),
    delivered: n(funnelRow.delivered),
    verified: n(funnelRow.verified),
    redeemed: n(funnelRow.redeemed),
  }

  const countries = await verifications
    .select((eb) => [
      'v.country',
      eb.fn.countAll<number>().as('started'),
      sql<number>`sum(case when v.status = 'approved' then 1 else 0 end)`.as('verified'),
    ])
    .groupBy('v.country')
    .orderBy('started', 'desc')
    .execute()

  let messages = db
    .selectFrom('messages as m')
    .innerJoin('verifications as v', 'v.id', 'm.verification_id')
    .where('m.project_id', '=', projectId)
    .where('m.created_at', '>=', from)
    .where('m.created_at', '<', to)
  if (mode) messages = messages.where('m.mode', '=', mode)

  const carriers = await messages
    .where('m.carrier', 'is not', null)
    .select((eb) => [
      'm.carrier',
      eb.fn.countAll<number>().as('texts'),
      sql<number>`sum(case when m.delivered_at is not null then 1 else 0 end)`.as('delivered'),
      sql<number>`count(distinct v.id)`.as('verifications'),
      sql<number>`count(distinct case when v.status = 'approved' then v.id end)`.as('verified'),
    ])
    .groupBy('m.carrier')
    .orderBy('texts', 'desc')
    .execute()

  const modeFilter = (alias: string) =>
    mode ? sql`and ${sql.ref(`${alias}.mode`)} = ${mode}` : sql``
  const deliverMs = await percentiles(
    db,
    sql<number>`select m.delivered_at - m.created_at as ms from messages m
      where m.project_id = ${projectId} and m.created_at >= ${from} and m.created_at < ${to}
      and m.delivered_at is not null ${modeFilter('m')}`,
  )
  const verifyMs = await percentiles(
    db,
    sql<number>`select v.approved_at - v.created_at as ms from verifications v
      where v.project_id = ${projectId} and v.created_at >= ${from} and v.created_at < ${to}
      and v.approved_at is not null ${modeFilter('v')}`,
  )

  const spendRows = await messages
    .where('m.cost_amount', 'is not', null)
    .select((eb) => [
      'm.cost_currency',
      sql<number>`sum(cast(m.cost_amount as double precision))`.as('amount'),
      eb.fn.countAll<number>().as('texts'),
    ])
    .groupBy('m.cost_currency')
    .execute()
  const spend = spendRows.map((r) => ({
    currency: r.cost_currency ?? '',
    amount: round(n(r.amount)),
    texts: n(r.texts),
  }))

  const fraudRow = await db
    .selectFrom('fraud_events')
    .where('project_id', '=', projectId)
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .select([
      sql<number>`sum(case when decision = 'block' and outcome <> 'decoy' then 1 else 0 end)`.as(
        'blocked',
      ),
      sql<number>`sum(case when decision = 'challenge' then 1 else 0 end)`.as('challenged'),
      sql<number>`sum(case when outcome = 'decoy' then 1 else 0 end)`.as('decoyed'),
    ])
    .executeTakeFirstOrThrow()
  const blocked = n(fraudRow.blocked)
  const decoyed = n(fraudRow.decoyed)

  const hourly = await verifications
    .select((eb) => [
      sql<number>`v.created_at / 3600000`.as('hour'),
      eb.fn.countAll<number>().as('started'),
      sql<number>`sum(case when v.status = 'approved' then 1 else 0 end)`.as('verified'),
    ])
    .groupBy(sql`v.created_at / 3600000`)
    .orderBy(sql`v.created_at / 3600000`)
    .execute()

  return {
    from,
    to,
    funnel,
    byCountry: countries.map((r) => ({
      country: r.country,
      started: n(r.started),
      verified: n(r.verified),
      conversion: ratio(n(r.verified), n(r.started)),
    })),
    byCarrier: carriers.map((r) => ({
      carrier: r.carrier ?? '',
      texts: n(r.texts),
      delivered: n(r.delivered),
      verifications: n(r.verifications),
      verified: n(r.verified),
      conversion: ratio(n(r.verified), n(r.verifications)),
    })),
    timings: { deliverMs, verifyMs },
    spend,
    costPerVerified: spend.map((s) => ({
      currency: s.currency,
      amount: funnel.verified ? round(s.amount / funnel.verified) : 0,
    })),
    fraud: {
      blocked,
      challenged: n(fraudRow.challenged),
      decoyed,
      estimatedSaved: spend.map((s) => ({
        currency: s.currency,
        amount: s.texts ? round((s.amount / s.texts) * (blocked + decoyed)) : 0,
      })),
    },
    hourly: hourly.map((r) => ({
      hour: Math.floor(n(r.hour)),
      started: n(r.started),
      verified: n(r.verified),
    })),
  }
}

function ratio(part: number, whole: number): number {
  return whole ? Math.round((part / whole) * 10_000) / 10_000 : 0
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6
}
