/**
 * What an operator asks of the outbox: is anything stuck, what gave up, and how each carrier
 * did lately. Read from the database, so it covers every process sharing it.
 * @module
 */
import type { Kysely, SelectQueryBuilder } from 'kysely'
import type { Database } from '../storage'

export interface OutboxStatus {
  /** Texts waiting to go: due now, held by a process sending them, or waiting for a retry. */
  pending: { due: number; claimed: number; retrying: number }
  /** Age of the oldest text that is due and not claimed (ms): a growing figure means stuck. */
  oldestDueMs: number | null
  /** Texts given up on (permanent refusal or too many failures). */
  dead: number
  /** The latest texts given up on, newest first. */
  latestDead: DeadText[]
  /** Per carrier, texts handed over since `since`, by their current status. */
  carriers: CarrierTally[]
  since: string
}

export interface DeadText {
  messageId: string
  /** The number with its middle digits hidden. */
  to: string
  carrier: string | null
  attempts: number
  error: string | null
  at: string
}

export interface CarrierTally {
  carrier: string
  sent: number
  delivered: number
  failed: number
  /** delivered / (delivered + failed), when any report came back. */
  deliveryRate: number | null
}

export interface QueueFigures {
  /** Pending rows (waiting or being retried). */
  depth: number
  /** Age of the oldest pending row in seconds; 0 when none. */
  oldestAgeSeconds: number
}

/**
 * The figures /metrics exports for a queue (`textgate_outbox_depth`, `…_oldest_age_seconds`);
 * the console shows the same ones from here.
 */
export async function queueFigures(
  db: Kysely<Database>,
  table: 'outbox' | 'webhook_deliveries',
  now: number,
): Promise<QueueFigures> {
  const row = await db
    .selectFrom(table)
    .select((eb) => [eb.fn.countAll<number>().as('depth'), eb.fn.min('created_at').as('oldest')])
    .where('state', '=', 'pending')
    .executeTakeFirst()
  const oldest = row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest)
  return {
    depth: Number(row?.depth ?? 0),
    oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000),
  }
}

/** The outbox as the console shows it: the queue's figures and where its texts stand. */
export interface OutboxFigures extends QueueFigures {
  /** Due now and not held by a process. */
  due: number
  /** Held by a process sending them. */
  sending: number
  /** Waiting for a retry. */
  retrying: number
  /** Given up on. */
  dead: number
}

/** The pending and given-up rows' counts, of the whole server or of one project's texts. */
interface QueueCounts {
  depth: number
  /** The oldest pending row's creation, ms. */
  oldest: number | null
  due: number
  claimed: number
  retrying: number
  /** The oldest due and unclaimed row's due time, ms. */
  oldestDue: number | null
  dead: number
}

/**
 * The outbox is shared by every project and names none, so with `projectId` a row's project is
 * told by its message (a lookup by key per pending or dead row: the rows read are those two
 * states', never the project's whole history).
 */
async function queueCounts(
  db: Kysely<Database>,
  now: number,
  projectId?: string,
): Promise<QueueCounts> {
  const ofProject = <QB extends SelectQueryBuilder<Database, 'outbox', object>>(qb: QB): QB =>
    projectId === undefined
      ? qb
      : (qb.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('messages')
              .select('messages.id')
              .whereRef('messages.id', '=', 'outbox.message_id')
              .where('messages.project_id', '=', projectId),
          ),
        ) as QB)
  const pending = await ofProject(
    db
      .selectFrom('outbox')
      .select((eb) => {
        const unclaimed = eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)])
        const due = eb.and([eb('available_at', '<=', now), unclaimed])
        const retrying = eb.and([eb('available_at', '>', now), unclaimed])
        const claimed = eb('claimed_until', '>=', now)
        const count = (when: typeof due) =>
          eb.fn.sum<number>(eb.case().when(when).then(1).else(0).end())
        return [
          eb.fn.countAll<number>().as('depth'),
          eb.fn.min<number>('outbox.created_at').as('oldest'),
          count(due).as('due'),
          count(claimed).as('claimed'),
          count(retrying).as('retrying'),
          eb.fn
            .min<number>(eb.case().when(due).then(eb.ref('available_at')).end())
            .as('oldest_due'),
        ]
      })
      .where('outbox.state', '=', 'pending'),
  ).executeTakeFirstOrThrow()
  const dead = await ofProject(
    db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('outbox.state', '=', 'dead'),
  ).executeTakeFirstOrThrow()
  const orNull = (value: unknown) => (value === null || value === undefined ? null : Number(value))
  return {
    depth: Number(pending.depth ?? 0),
    oldest: orNull(pending.oldest),
    due: Number(pending.due ?? 0),
    claimed: Number(pending.claimed ?? 0),
    retrying: Number(pending.retrying ?? 0),
    oldestDue: orNull(pending.oldest_due),
    dead: Number(dead.n),
  }
}

/**
 * The outbox's figures: the whole server's (the same depth and age as /metrics), or with
 * `projectId` only that project's texts.
 */
export async function outboxFigures(
  db: Kysely<Database>,
  now: number,
  projectId?: string,
): Promise<OutboxFigures> {
  const counts = await queueCounts(db, now, projectId)
  return {
    depth: counts.depth,
    oldestAgeSeconds: counts.oldest === null ? 0 : Math.max(0, (now - counts.oldest) / 1000),
    due: counts.due,
    sending: counts.claimed,
    retrying: counts.retrying,
    dead: counts.dead,
  }
}

/** "+447400123456" → "+4474•••••456": enough to tell texts apart, not to dial. */
export function maskPhone(phone: string): string {
  if (phone.length <= 7) return phone
  return `${phone.slice(0, 5)}${'•'.repeat(phone.length - 8)}${phone.slice(-3)}`
}

/**
 * @example
 * const status = await outboxStatus(db, Date.now(), { hours: 1 })
 * if (status.oldestDueMs && status.oldestDueMs > 60_000) alert('outbox stuck')
 */
export async function outboxStatus(
  db: Kysely<Database>,
  now: number,
  { hours = 1, deadLimit = 10 }: { hours?: number; deadLimit?: number } = {},
): Promise<OutboxStatus> {
  const since = now - hours * 3_600_000
  const counts = await queueCounts(db, now)
  const latestDead = await db
    .selectFrom('outbox')
    .innerJoin('messages', 'messages.id', 'outbox.message_id')
    .select([
      'messages.id',
      'messages.to',
      'messages.carrier',
      'messages.updated_at',
      'outbox.attempts',
      'outbox.last_error',
    ])
    .where('outbox.state', '=', 'dead')
    .orderBy('messages.updated_at', 'desc')
    .limit(deadLimit)
    .execute()
  const tallies = await db
    .selectFrom('messages')
    .select(['carrier', 'status'])
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('sent_at', '>=', since)
    .where('carrier', 'is not', null)
    .groupBy(['carrier', 'status'])
    .execute()
  const byCarrier = new Map<string, CarrierTally>()
  for (const row of tallies) {
    const carrier = row.carrier ?? '?'
    const tally = byCarrier.get(carrier) ?? {
      carrier,
      sent: 0,
      delivered: 0,
      failed: 0,
      deliveryRate: null,
    }
    const n = Number(row.n)
    tally.sent += n
    if (row.status === 'delivered') tally.delivered += n
    if (row.status === 'failed' || row.status === 'undelivered') tally.failed += n
    byCarrier.set(carrier, tally)
  }
  for (const tally of byCarrier.values()) {
    const reported = tally.delivered + tally.failed
    tally.deliveryRate = reported > 0 ? tally.delivered / reported : null
  }
  return {
    pending: { due: counts.due, claimed: counts.claimed, retrying: counts.retrying },
    oldestDueMs: counts.oldestDue === null ? null : Math.max(0, now - counts.oldestDue),
    dead: counts.dead,
    latestDead: latestDead.map((row) => ({
      messageId: row.id,
      to: maskPhone(row.to),
      carrier: row.carrier,
      attempts: row.attempts,
      error: row.last_error,
      at: new Date(row.updated_at).toISOString(),
    })),
    carriers: [...byCarrier.values()].sort((a, b) => b.sent - a.sent),
    since: new Date(since).toISOString(),
  }
}

/** The status as an operator reads it in a terminal. */
export function formatOutboxStatus(status: OutboxStatus): string {
  const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`)
  const lines = [
    `pending: ${status.pending.due} due, ${status.pending.claimed} being sent, ` +
      `${status.pending.retrying} waiting to retry; oldest due ${seconds(status.oldestDueMs)}`,
    `dead (given up): ${status.dead}`,
    ...status.latestDead.map(
      (d) =>
        `  ${d.at}  ${d.messageId}  ${d.to}  ${d.carrier ?? '-'}  after ${d.attempts} ` +
        `attempt(s): ${d.error ?? '-'}`,
    ),
    `carriers since ${status.since}:`,
    ...(status.carriers.length
      ? status.carriers.map(
          (c) =>
            `  ${c.carrier.padEnd(16)} ${String(c.sent).padStart(6)} sent, ${c.delivered} delivered, ` +
            `${c.failed} failed${c.deliveryRate === null ? '' : ` (${(c.deliveryRate * 100).toFixed(1)} % delivered)`}`,
        )
      : ['  -']),
  ]
  return lines.join('\n')
}
