/**
 * Periodic clean-up of rows that only matter for a while: redeemed-token records past their
 * token's expiry, replayable Idempotency-Key answers after 24 h, sandbox inboxes after a
 * week, the fraud guard's expired counters, spent challenges and list entries, and its decisions after 30 days, and console operators' browsers not signed in on for 90 days. Each statement is idempotent, so several processes may run it.
 * @module
 */
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { applyEarlyReports } from '../delivery/reports'
import { deleteExpiredListEntries } from '../fraud/list-entries'
import { dropExpiredDevices } from '../operators/devices'
import { dropExpiredSessions } from '../operators/sessions'
import { applyRetention, DAY_MS, DEFAULT_RETENTION_DAYS } from '../privacy/retention'
import type { Database } from '../storage'

const SANDBOX_RETENTION_MS = 7 * 24 * 60 * 60_000
const REDEEMED_LEEWAY_MS = 60_000
const FRAUD_EVENT_RETENTION_MS = 30 * 24 * 60 * 60_000
const RETENTION_SLACK_MS = 60 * 60_000
/** Per database: the cutoff of this process's last retention pass. */
const maskedBefore = new WeakMap<Kysely<Database>, number>()

export async function cleanUp(
  db: Kysely<Database>,
  at = Date.now(),
  { retentionMs = DEFAULT_RETENTION_DAYS * DAY_MS }: { retentionMs?: number } = {},
) {
  const [redeemed, idempotency, sandbox, counters, challenges, events] = await Promise.all([
    db
      .deleteFrom('redeemed_tokens')
      .where('expires_at', '<', at - REDEEMED_LEEWAY_MS)
      .executeTakeFirst(),
    db.deleteFrom('idempotency_keys').where('expires_at', '<', at).executeTakeFirst(),
    db
      .deleteFrom('sandbox_messages')
      .where('created_at', '<', at - SANDBOX_RETENTION_MS)
      .executeTakeFirst(),
    db.deleteFrom('fraud_counters').where('expires_at', '<', at).executeTakeFirst(),
    db.deleteFrom('fraud_spent_challenges').where('expires_at', '<', at).executeTakeFirst(),
    db
      .deleteFrom('fraud_events')
      // Through (project_id, created_at): one range per project, not the whole table.
      .where('project_id', 'in', db.selectFrom('projects').select('id'))
      .where('created_at', '<', at - FRAUD_EVENT_RETENTION_MS)
      .executeTakeFirst(),
  ])
  const listEntries = await deleteExpiredListEntries(db, at)
  const replays = await db
    .deleteFrom('callback_replays')
    .where('expires_at', '<', at)
    .executeTakeFirst()
  const operatorDevices = await dropExpiredDevices(db, at)
  // Console sessions past their lifetime or idle timeout (each is refused when read anyway).
  const operatorSessions = await dropExpiredSessions(db, at)
  // After a first pass over everything, each pass masks only what crossed the line since the
  // last one (with an hour's slack for rows committed late or clocks that differ).
  const last = maskedBefore.get(db)
  const since =
    last === undefined || last > at - retentionMs ? undefined : last - RETENTION_SLACK_MS
  const retention = await applyRetention(db, at, retentionMs, since)
  maskedBefore.set(db, at - retentionMs)
  // Reports held for a message id that was stored meanwhile, or expired.
  const earlyReports = await applyEarlyReports(db, at)
  return {
    earlyReports,
    redeemedTokens: Number(redeemed.numDeletedRows),
    idempotencyKeys: Number(idempotency.numDeletedRows),
    sandboxMessages: Number(sandbox.numDeletedRows),
    fraudCounters: Number(counters.numDeletedRows),
    spentChallenges: Number(challenges.numDeletedRows),
    fraudEvents: Number(events.numDeletedRows),
    callbackReplays: Number(replays.numDeletedRows),
    operatorDevices,
    operatorSessions,
    expiredListEntries: listEntries,
    masked: retention,
  }
}

/** Runs {@link cleanUp} every `intervalMs`; returns a function that stops it. */
export function scheduleCleanUp(
  db: Kysely<Database>,
  logger: Logger,
  intervalMs = 10 * 60_000,
  retentionMs = DEFAULT_RETENTION_DAYS * DAY_MS,
) {
  const timer = setInterval(() => {
    cleanUp(db, Date.now(), { retentionMs }).then(
      (removed) => logger.debug({ removed }, 'housekeeping'),
      (error: unknown) => logger.warn({ err: error }, 'housekeeping failed'),
    )
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
