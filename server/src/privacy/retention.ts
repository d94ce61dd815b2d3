/**
 * Retention: after `TEXTGATE_RETENTION_DAYS` (default 30), verifications, messages and fraud
 * decisions keep no full number, no client address, no device id or other signals of the caller
 * (`verifications.signals`) and no figures behind a decision (`fraud_events.figures`, which can
 * name a device's or an address's counts). The rows stay, masked (`+44…23`), so
 * funnels, delivery figures and baselines — counts by status, country, carrier and day — survive.
 * Each statement is idempotent and touches only rows not yet masked, so every process may run it
 * at the same time, on SQLite and PostgreSQL.
 * @module
 */
import { type Kysely, sql, type UpdateResult } from 'kysely'
import type { Database } from '../storage'

export const DEFAULT_RETENTION_DAYS = 30
export const DAY_MS = 24 * 60 * 60_000
/** What a masked number looks like: country code, an ellipsis, the last two digits. */
export const MASK_MARK = '…'

/** `+447400123456` → `+44…56`, in SQL (the same on SQLite and PostgreSQL). */
const masked = (column: string) =>
  sql<string>`substr(${sql.ref(column)}, 1, 3) || ${MASK_MARK} || substr(${sql.ref(column)}, length(${sql.ref(column)}) - 1)`

export interface RetentionResult {
  verifications: number
  messages: number
  fraudEvents: number
  /** Verifications whose caller signals (the device id among them) were cleared. */
  signals: number
  /** Decision-log rows whose figures were cleared. */
  figures: number
}

/** PostgreSQL's SQLSTATE for a deadlock: the statement was rolled back, and may run again. */
const DEADLOCK = '40P01'

/**
 * Runs an idempotent statement, again when PostgreSQL chose it to break a deadlock (processes
 * masking at once lock the same rows, and its victim is rolled back whole): a few tries.
 */
async function againOnDeadlock<T>(run: () => Promise<T>, tries = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run()
    } catch (error) {
      if ((error as { code?: unknown }).code !== DEADLOCK || attempt >= tries) throw error
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt))
    }
  }
}

/**
 * Masks what is older than `retentionMs` at `at`; with `since`, only rows created from then on
 * (what crossed the line since an earlier pass). Each statement goes through its table's
 * (project_id, created_at) index, one range per project, instead of reading the whole table.
 */
export async function applyRetention(
  db: Kysely<Database>,
  at: number,
  retentionMs: number,
  since?: number,
): Promise<RetentionResult> {
  const cutoff = at - retentionMs
  const from = since ?? Number.MIN_SAFE_INTEGER
  // The rows every statement touches: the window, one index range per project.
  const due = sql<boolean>`${sql.ref('project_id')} in (select ${sql.ref('id')} from ${sql.table('projects')})
    and ${sql.ref('created_at')} >= ${from} and ${sql.ref('created_at')} < ${cutoff}`
  // A number not masked yet: stored in full (E.164), without the mark.
  const unmasked = (column: string) =>
    sql<boolean>`${sql.ref(column)} like '+%' and ${sql.ref(column)} not like ${`%${MASK_MARK}%`}`
  const updated = async (query: { executeTakeFirst(): Promise<UpdateResult> }) =>
    Number((await againOnDeadlock(() => query.executeTakeFirst())).numUpdatedRows)
  const [verifications, messages, fraudEvents, signals, figures] = await Promise.all([
    updated(
      db
        .updateTable('verifications')
        .set({ phone: masked('phone'), ip: null })
        .where(due)
        .where(unmasked('phone')),
    ),
    updated(
      db
        .updateTable('messages')
        .set({ to: masked('to') })
        .where(due)
        .where(unmasked('to')),
    ),
    updated(
      db
        .updateTable('fraud_events')
        .set({ phone: masked('phone'), ip: null })
        .where(due)
        .where(unmasked('phone')),
    ),
    // Apart from the masking above, so rows masked before signals were kept are cleared too.
    updated(
      db
        .updateTable('verifications')
        .set({ signals: null })
        .where(due)
        .where('signals', 'is not', null),
    ),
    updated(
      db
        .updateTable('fraud_events')
        .set({ figures: null })
        .where(due)
        .where('figures', 'is not', null),
    ),
  ])
  return { verifications, messages, fraudEvents, signals, figures }
}
