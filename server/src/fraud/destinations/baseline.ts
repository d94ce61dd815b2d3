/**
 * The store's own history: an EWMA of verified shoppers per hour, per destination (country and
 * number prefix), kept twice — over every hour (the level, about two days of memory) and per hour
 * of the week (the weekly rhythm, about three weeks of memory). Written when a code is entered,
 * read (through a short cache) when a start is judged.
 *
 * Each row holds the EWMA through the period before `period` and the count of `period` itself;
 * a hit in a later period folds the count in (decaying over the empty periods between) with a
 * conditional update, so concurrent processes never double-fold or lose a hit.
 * @module
 */
import type { Kysely } from 'kysely'
import type { Database, DatabaseWriter } from '../../storage'
import { sharedBatchedTransactions } from '../../storage/batched-transactions'

const HOUR_MS = 3_600_000
/** 1970-01-01 was a Thursday: 72 hours later is a Monday 00:00 UTC. */
const MONDAY_OFFSET_H = 72
export const ANY_HOUR = 168
/** Smoothing per hour for the level: about two days of memory. */
const ALPHA_HOUR = 1 - Math.exp(-1 / 48)
/** Smoothing per week for one hour of the week. */
const ALPHA_WEEK = 0.3
const CACHE_MS = 60_000

export interface Baseline {
  /** Expected verified shoppers in this hour: the larger of the level and this hour of the week. */
  perHour: number
  /** Expected verified shoppers per day, from the level. */
  perDay: number
}

const hourIndex = (at: number) => Math.floor(at / HOUR_MS)
export const hourOfWeek = (at: number) => (hourIndex(at) + MONDAY_OFFSET_H) % 168
const weekIndex = (at: number) => Math.floor((hourIndex(at) + MONDAY_OFFSET_H) / 168)

interface Row {
  ewma: number
  period: number
  count: number
}

/** The EWMA through the period before `period`, from a row of an earlier (or the same) period. */
function ewmaBefore(row: Row, period: number, alpha: number): number {
  if (row.period >= period) return row.ewma
  const folded = (1 - alpha) * row.ewma + alpha * row.count
  return folded * (1 - alpha) ** (period - row.period - 1)
}

const slotsAt = (at: number) => [
  { slot: ANY_HOUR, period: hourIndex(at), alpha: ALPHA_HOUR },
  { slot: hourOfWeek(at), period: weekIndex(at), alpha: ALPHA_WEEK },
]

export function createBaselines(db: Kysely<Database>) {
  const cache = new Map<string, { at: number; value: Baseline }>()

  async function hitSlot(db: DatabaseWriter, projectId: string, subject: string, at: number) {
    for (const { slot, period, alpha } of slotsAt(at)) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const bumped = await db
          .updateTable('fraud_baselines')
          .set((eb) => ({ count: eb('count', '+', 1) }))
          .where('project_id', '=', projectId)
          .where('subject', '=', subject)
          .where('slot', '=', slot)
          .where('period', '=', period)
          .executeTakeFirst()
        if (Number(bumped.numUpdatedRows) > 0) break
        const row = await db
          .selectFrom('fraud_baselines')
          .select(['ewma', 'period', 'count'])
          .where('project_id', '=', projectId)
          .where('subject', '=', subject)
          .where('slot', '=', slot)
          .executeTakeFirst()
        if (!row) {
          const inserted = await db
            .insertInto('fraud_baselines')
            .values({ project_id: projectId, subject, slot, ewma: 0, period, count: 1 })
            .onConflict((oc) => oc.columns(['project_id', 'subject', 'slot']).doNothing())
            .executeTakeFirst()
          if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) break
          continue
        }
        const current = {
          ewma: Number(row.ewma),
          period: Number(row.period),
          count: Number(row.count),
        }
        // A clock behind the row's period (another process ahead of ours) counts in its period.
        if (current.period > period) break
        const folded = await db
          .updateTable('fraud_baselines')
          .set({ ewma: ewmaBefore(current, period, alpha), period, count: 1 })
          .where('project_id', '=', projectId)
          .where('subject', '=', subject)
          .where('slot', '=', slot)
          .where('period', '=', current.period)
          .where('count', '=', current.count)
          .executeTakeFirst()
        if (Number(folded.numUpdatedRows) > 0) break
      }
    }
  }

  return {
    /** Counts a verified shopper for each destination (`country:NG`, `prefix:+234803`). */
    async countVerified(projectId: string, subjects: string[], at: number): Promise<void> {
      // One commit for all of them, shared with the other writes of the moment (on SQLite a
      // commit is the dearest part of a small write).
      await sharedBatchedTransactions(db)(async (trx) => {
        for (const subject of subjects) await hitSlot(trx, projectId, subject, at)
      })
      for (const subject of subjects) cache.delete(`${projectId}|${subject}`)
    },

    /** Expected verified shoppers for a destination now (cached for a minute per process). */
    async of(projectId: string, subject: string, at: number): Promise<Baseline> {
      const key = `${projectId}|${subject}`
      const cached = cache.get(key)
      if (cached && at - cached.at < CACHE_MS && at >= cached.at) return cached.value
      const [level, weekly] = slotsAt(at)
      const rows = await db
        .selectFrom('fraud_baselines')
        .select(['slot', 'ewma', 'period', 'count'])
        .where('project_id', '=', projectId)
        .where('subject', '=', subject)
        .where('slot', 'in', [ANY_HOUR, weekly!.slot])
        .execute()
      let perHourLevel = 0
      let perHourWeekly = 0
      for (const r of rows) {
        const row = { ewma: Number(r.ewma), period: Number(r.period), count: Number(r.count) }
        if (Number(r.slot) === ANY_HOUR) perHourLevel = ewmaBefore(row, level!.period, level!.alpha)
        else perHourWeekly = ewmaBefore(row, weekly!.period, weekly!.alpha)
      }
      const value = { perHour: Math.max(perHourLevel, perHourWeekly), perDay: perHourLevel * 24 }
      if (cache.size > 10_000) cache.clear()
      cache.set(key, { at, value })
      return value
    },
  }
}

export type Baselines = ReturnType<typeof createBaselines>
