/**
 * Restrictions of a destination (a country or a number prefix) and their lifting, as operators
 * see them: one function opens or lifts one, and it alone writes the decision-log entry with the
 * reason and the figures and raises the `fraud.restricted|lifted` webhook event (live mode: the
 * guard weighs destinations for live keys only), in the same transaction as the restriction row,
 * then writes the structured log line. One row per restricted destination makes it happen once
 * across processes: the insert that wins emits `restricted`, the delete that wins `lifted`.
 *
 * A restricted destination is half-open: {@link takeProbe} lets a caller through at growing
 * intervals (1 h, 2 h, 4 h, … by default) so it can show the destination recovered.
 * @module
 */
import type { Kysely, Transaction } from 'kysely'
import type { Logger } from 'pino'
import { newId } from '../ids'
import { type RequestLogContext, requestLogger } from '../logger'
import type { Database } from '../storage'
import { emitWebhookEvent } from '../webhooks/emit'

export interface RestrictionEvent {
  type: 'fraud.restricted' | 'fraud.lifted'
  projectId: string
  /** `country:NG` or `prefix:+2348031` (its length in `figures.prefixDigits`). */
  subject: string
  reasons: string[]
  figures: Record<string, unknown>
  at: number
}

type Listener = (event: RestrictionEvent) => void | Promise<void>
const listeners = new Set<Listener>()

/** Subscribes to restricted/lifted events (webhooks); returns the unsubscribe function. */
export function onRestrictionEvent(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

const STATE_CACHE_MS = 10_000
const NONE: ReadonlySet<string> = new Set()

export function createRestrictions(db: Kysely<Database>, logger?: Logger) {
  /** What this process last saw per destination, to skip the database while nothing changes. */
  const known = new Map<string, { restricted: boolean; at: number; nextProbeAt: number }>()
  /**
   * The restricted prefixes (and countries) per project, as this process last read them: a start
   * to a prefix not in the set needs no look at the database to know there is nothing to lift.
   */
  const prefixes = new Map<string, { at: number; subjects: Set<string>; countries: Set<string> }>()
  const notePrefix = (projectId: string, subject: string, restricted: boolean) => {
    const cached = prefixes.get(projectId)
    const set = subject.startsWith('prefix:') ? cached?.subjects : cached?.countries
    if (restricted) set?.add(subject)
    else set?.delete(subject)
  }
  async function readRestricted(projectId: string, at: number) {
    const cached = prefixes.get(projectId)
    if (cached && at - cached.at < STATE_CACHE_MS && at >= cached.at) return cached
    const rows = await db
      .selectFrom('fraud_restrictions')
      .select('subject')
      .where('project_id', '=', projectId)
      .execute()
    const read = { at, subjects: new Set<string>(), countries: new Set<string>() }
    for (const { subject } of rows) {
      ;(subject.startsWith('prefix:') ? read.subjects : read.countries).add(subject)
    }
    if (prefixes.size > 10_000) prefixes.clear()
    prefixes.set(projectId, read)
    return read
  }

  /**
   * The decision-log entry and the webhook event, in the transaction that opened or lifted the
   * restriction: either all of them are there, or none.
   */
  async function record(trx: Transaction<Database>, event: RestrictionEvent) {
    const [kind, value] = event.subject.split(':') as [string, string]
    // A prefix's length: its figures say how many trailing digits it drops.
    const digits = kind === 'prefix' ? event.figures.prefixDigits : undefined
    await trx
      .insertInto('fraud_events')
      .values({
        id: newId('fev'),
        project_id: event.projectId,
        verification_id: null,
        phone: kind === 'prefix' ? value : '',
        country: kind === 'country' ? value : '',
        ip: null,
        decision: event.type === 'fraud.restricted' ? 'block' : 'allow',
        outcome: event.type === 'fraud.restricted' ? 'restricted' : 'lifted',
        reasons: JSON.stringify(event.reasons),
        shadow_reasons: '[]',
        figures: JSON.stringify(event.figures),
        created_at: event.at,
      })
      .execute()
    await emitWebhookEvent(trx, {
      type: event.type,
      projectId: event.projectId,
      mode: 'live',
      data: {
        subject: {
          kind: kind === 'prefix' ? 'prefix' : 'country',
          value,
          ...(typeof digits === 'number' ? { digits } : {}),
        },
        reasons: event.reasons,
        until: null,
        at: new Date(event.at).toISOString(),
      },
      orderKey: event.subject,
      at: event.at,
    })
  }

  /**
   * After the commit: the operator's log line (with the id of the request that made the change)
   * and the in-process listeners.
   */
  async function announce(event: RestrictionEvent, request: RequestLogContext | undefined) {
    const log = requestLogger(logger, request)
    log?.warn(
      {
        event: event.type,
        projectId: event.projectId,
        subject: event.subject,
        reasons: event.reasons,
        figures: event.figures,
      },
      `fraud guard: ${event.subject} ${event.type === 'fraud.restricted' ? 'restricted' : 'lifted'}`,
    )
    for (const listener of listeners) {
      try {
        await listener(event)
      } catch (error) {
        log?.error({ err: error, event: event.type }, 'fraud guard: event listener failed')
      }
    }
  }

  return {
    /** Opens a restriction unless one is open; emits `fraud.restricted` when this call opened it. */
    async restrict(
      projectId: string,
      subject: string,
      reasons: string[],
      figures: Record<string, unknown>,
      at: number,
      firstProbeAfterMs: number,
      request?: RequestLogContext,
    ) {
      const key = `${projectId}|${subject}`
      const seen = known.get(key)
      if (seen?.restricted && at - seen.at < STATE_CACHE_MS && at >= seen.at) return
      const event: RestrictionEvent = {
        type: 'fraud.restricted',
        projectId,
        subject,
        reasons,
        figures,
        at,
      }
      const opened = await db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('fraud_restrictions')
          .values({
            project_id: projectId,
            subject,
            reason: reasons.join(','),
            figures: JSON.stringify(figures),
            since: at,
            probes: 0,
            next_probe_at: at + firstProbeAfterMs,
          })
          .onConflict((oc) => oc.columns(['project_id', 'subject']).doNothing())
          .executeTakeFirst()
        const won = Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0
        if (won) await record(trx, event)
        return won
      })
      // An older restriction keeps its probe schedule (0: read it when a probe is asked for).
      known.set(key, {
        restricted: true,
        at,
        nextProbeAt: opened ? at + firstProbeAfterMs : (seen?.nextProbeAt ?? 0),
      })
      notePrefix(projectId, subject, true)
      if (opened) await announce(event, request)
    },

    /** Lifts an open restriction held at least `minMs`; emits `fraud.lifted` when this call did. */
    async lift(
      projectId: string,
      subject: string,
      figures: Record<string, unknown>,
      at: number,
      minMs: number,
      request?: RequestLogContext,
    ) {
      const key = `${projectId}|${subject}`
      const seen = known.get(key)
      if (seen && !seen.restricted && at - seen.at < STATE_CACHE_MS && at >= seen.at) return
      const lifted = await db.transaction().execute(async (trx) => {
        const rows = await trx
          .deleteFrom('fraud_restrictions')
          .where('project_id', '=', projectId)
          .where('subject', '=', subject)
          .where('since', '<=', at - minMs)
          .returning(['reason'])
          .execute()
        const row = rows[0]
        if (!row) return undefined
        const event: RestrictionEvent = {
          type: 'fraud.lifted',
          projectId,
          subject,
          reasons: [`lifted:${row.reason}`],
          figures,
          at,
        }
        await record(trx, event)
        return event
      })
      const stillOpen =
        lifted === undefined &&
        (await db
          .selectFrom('fraud_restrictions')
          .select('subject')
          .where('project_id', '=', projectId)
          .where('subject', '=', subject)
          .executeTakeFirst()) !== undefined
      if (!stillOpen) known.set(key, { restricted: false, at, nextProbeAt: 0 })
      notePrefix(projectId, subject, stillOpen)
      if (lifted) await announce(lifted, request)
      return stillOpen
    },

    /**
     * The project's restricted prefixes (`prefix:+4474001`), read at most every ten seconds per
     * process (with its restricted countries); what this process restricts or lifts meanwhile is
     * in it at once.
     */
    async restrictedPrefixes(projectId: string, at: number): Promise<ReadonlySet<string>> {
      return (await readRestricted(projectId, at)).subjects
    },

    /**
     * Whether any of `subjects` (`country:NG`, `prefix:+4474001`) is restricted, from the same
     * read as {@link restrictedPrefixes}: a look at the database every ten seconds at most.
     */
    async anyRestricted(projectId: string, subjects: string[], at: number): Promise<boolean> {
      const read = await readRestricted(projectId, at)
      return subjects.some((s) => read.subjects.has(s) || read.countries.has(s))
    },

    /**
     * The restricted prefixes as this process knows them now, without a look at the database
     * (empty before the first {@link restrictedPrefixes} of the project).
     */
    knownRestrictedPrefixes(projectId: string): ReadonlySet<string> {
      return prefixes.get(projectId)?.subjects ?? NONE
    },

    /** Is a half-open probe due for this destination (without taking it)? */
    async probeDue(projectId: string, subject: string, at: number): Promise<boolean> {
      const seen = known.get(`${projectId}|${subject}`)
      if (seen?.restricted && seen.nextProbeAt > at) return false
      const row = await db
        .selectFrom('fraud_restrictions')
        .select('next_probe_at')
        .where('project_id', '=', projectId)
        .where('subject', '=', subject)
        .executeTakeFirst()
      if (!row) return false
      if (seen) seen.nextProbeAt = Number(row.next_probe_at)
      return Number(row.next_probe_at) <= at
    },

    /**
     * A half-open probe: true for the one caller that takes the probe due now; the next one is
     * due twice as late. False while none is due.
     */
    async takeProbe(projectId: string, subject: string, at: number, firstProbeAfterMs: number) {
      const key = `${projectId}|${subject}`
      const seen = known.get(key)
      if (seen?.restricted && seen.nextProbeAt > at) return false
      const row = await db
        .selectFrom('fraud_restrictions')
        .select(['probes', 'next_probe_at'])
        .where('project_id', '=', projectId)
        .where('subject', '=', subject)
        .executeTakeFirst()
      if (!row) return false
      const probes = Number(row.probes)
      const dueAt = Number(row.next_probe_at)
      const next = at + firstProbeAfterMs * 2 ** (probes + 1)
      if (dueAt > at) {
        if (seen) seen.nextProbeAt = dueAt
        return false
      }
      const taken = await db
        .updateTable('fraud_restrictions')
        .set({ probes: probes + 1, next_probe_at: next })
        .where('project_id', '=', projectId)
        .where('subject', '=', subject)
        .where('probes', '=', probes)
        .executeTakeFirst()
      if (seen) seen.nextProbeAt = next
      return Number(taken.numUpdatedRows) > 0
    },
  }
}

export type Restrictions = ReturnType<typeof createRestrictions>
