/**
 * Delivery-report intake: `POST` (or `GET`, for carriers that call back with a query string)
 * `/v1/carriers/{carrier}/reports`. The carrier's adapter proves the callback is genuine
 * (signature or URL token) and parses it; each report then moves its message's status forward
 * only: queued < sending < sent < delivered | failed | undelivered. A report may name any part
 * of a long text: the message then follows the aggregate rule of ./parts (delivered once every
 * part is, failed as soon as one part fails). Duplicates and reports that arrive out of order
 * change nothing; reports for ids not stored yet are held for an hour (the carrier can beat
 * our own commit); all are acknowledged, so carriers stop retrying them.
 * @module
 */
import { Hono } from 'hono'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { CALLBACK_MAX_SKEW_MS } from '../carriers/callback-time'
import type { CallbackRequest, CarrierAdapter, DeliveryReport } from '../carriers/types'
import { bodyLimit } from '../http/body-limit'
import { ApiError } from '../http/errors'
import { requestLog } from '../http/request-id'
import { newId } from '../ids'
import type { Database, DatabaseWriter } from '../storage'
import { sharedBatchedTransactions, withinTransaction } from '../storage/batched-transactions'
import { compileTemplate, runTemplate } from '../storage/query-templates'
import { messageStatusMoved } from '../webhooks/message-status'
import { withFields } from '../with-fields'
import { applyPartReport, findPart } from './parts'
import { statusesBefore } from './status-order'

/** Reports can come in batches (Infobip sends up to 100 per post). */
const MAX_REPORT_BYTES = 512 * 1024

export { statusesBefore }

export interface ApplyResult {
  received: number
  /** Reports that moved a message, or a part of one, forward. */
  applied: number
  /** Reports for message ids not stored yet, kept until the dispatcher stores them. */
  held?: number
}

/** How long a report for a message id we do not know yet is kept. */
export const EARLY_REPORT_TTL_MS = 60 * 60_000

type Outcome = 'applied' | 'stale' | 'unknown'

const REPORT_STATUSES: ReadonlySet<unknown> = new Set([
  'sent',
  'delivered',
  'failed',
  'undelivered',
])
/** Longer than any carrier's message id (Twilio's are 34 characters, Infobip's 36). */
const MAX_CARRIER_ID_LENGTH = 256

/**
 * A report as the adapters' parsers return it, checked before it touches the database: they read
 * carrier bodies loosely, so an id that is an object, a status looked up by a word such as
 * "constructor" (an Object method, not a status) or a time of 1e303 came through and failed the
 * statement (a 500, retried by the carrier). Such a report is left out; an unusable time becomes
 * the receive time.
 */
function wellFormed(report: DeliveryReport, receivedAt: number): DeliveryReport | undefined {
  const id: unknown = report?.carrierMessageId
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_CARRIER_ID_LENGTH) return
  if (!REPORT_STATUSES.has(report.status)) return
  const checked: DeliveryReport = {
    carrierMessageId: id,
    status: report.status,
    at:
      Number.isSafeInteger(Math.trunc(report.at)) && report.at >= 0
        ? Math.trunc(report.at)
        : receivedAt,
  }
  if (typeof report.carrierStatus === 'string') checked.carrierStatus = report.carrierStatus
  if (typeof report.errorCode === 'string' && report.errorCode.length > 0) {
    checked.errorCode = report.errorCode
  }
  const cost = report.cost
  if (typeof cost?.amount === 'string' && typeof cost.currency === 'string') checked.cost = cost
  return checked
}

/** The database, or a transaction a report's writes join (see {@link reportIntake}). */

/**
 * The UPDATE that moves a message to a report's status, forward only: compiled once per
 * status and per which of the error code and the cost the report carries.
 */
function statusUpdate(
  db: DatabaseWriter,
  carrier: string,
  messageId: string,
  report: DeliveryReport,
  now: number,
) {
  const final = report.status !== 'sent'
  const failed = report.status === 'failed' || report.status === 'undelivered'
  const error = failed
    ? `${carrier} reported ${report.status}${report.errorCode ? ` (error ${report.errorCode})` : ''}`
    : null
  const { errorCode, cost } = report
  const values = [
    messageId,
    report.status,
    report.at,
    now,
    error,
    errorCode ?? null,
    cost?.amount ?? null,
    cost?.currency ?? null,
  ]
  const shape = `reports.update:${report.status}:${errorCode ? 1 : 0}:${cost ? 1 : 0}`
  return compileTemplate(db, shape, values, (v) =>
    db
      .updateTable('messages')
      .set({
        status: v(1),
        status_at: v(2),
        updated_at: v(3),
        ...(report.status === 'delivered' ? { delivered_at: v(2) } : {}),
        ...(failed ? { failed_at: v(2), error: v(4) } : {}),
        ...(errorCode ? { error_code: v(5) } : {}),
        ...(cost ? { cost_amount: v(6), cost_currency: v(7) } : {}),
        // A final status means the text is out of our hands: never keep its body.
        ...(final ? { body_encrypted: null, template_encrypted: null } : {}),
      })
      .where('id', '=', v(0))
      .where('status', 'in', statusesBefore(report.status)),
  )
}

/**
 * Applies one report: to its part when the id is one part of a long text (see ./parts),
 * else to the message with that carrier id, forward only.
 */
async function applyReport(
  db: DatabaseWriter,
  carrier: string,
  report: DeliveryReport,
  now: number,
): Promise<Outcome> {
  // The message first, then the part: both are committed together, so a message seen here
  // means its parts are visible too, and a first part's id is never taken for a whole text.
  // Each statement is compiled once per shape (see runTemplate): a busy SMPP bind sends one
  // report for every text.
  const [message] = await runTemplate(
    db,
    'reports.message',
    [carrier, report.carrierMessageId],
    (v) =>
      db
        .selectFrom('messages')
        .select('id')
        .where('carrier', '=', v(0))
        .where('carrier_message_id', '=', v(1)),
  )
  if (await findPart(db, carrier, report.carrierMessageId)) {
    return (await applyPartReport(db, carrier, report, now)) ? 'applied' : 'stale'
  }
  if (!message) return 'unknown'
  return withinTransaction(db, async (trx) => {
    const result = await trx.executeQuery(statusUpdate(trx, carrier, message.id, report, now))
    if (Number(result.numAffectedRows ?? 0) === 0) return 'stale'
    await messageStatusMoved(trx, message.id, report.at)
    return 'applied'
  })
}

/**
 * Applies reports of `carrier` to the messages table, forward only. A report may name a whole
 * message or any part of a long text (the message then follows the aggregate rule of
 * ./parts). Each is a conditional UPDATE, so concurrent reports for the same message (several
 * server processes) cannot move it backwards either.
 */
export async function applyReports(
  db: DatabaseWriter,
  carrier: string,
  reports: DeliveryReport[],
  now: number,
  { hold = true }: { hold?: boolean } = {},
): Promise<ApplyResult> {
  let applied = 0
  let held = 0
  for (const received of reports) {
    const report = wellFormed(received, now)
    if (!report) continue
    const outcome = await applyReport(db, carrier, report, now)
    if (outcome === 'applied') applied++
    if (outcome === 'unknown' && hold) {
      // Faster than our own commit: keep it until the dispatcher stores the carrier's id. One
      // report per id and status is enough (status only moves forward): a replay or a carrier's
      // retry of one already held keeps nothing more.
      held++
      if (await alreadyHeld(db, carrier, report)) continue
      await db
        .insertInto('early_reports')
        .values({
          id: newId('erp'),
          carrier,
          carrier_message_id: report.carrierMessageId,
          report: JSON.stringify(report),
          received_at: now,
          expires_at: now + EARLY_REPORT_TTL_MS,
        })
        .execute()
    }
  }
  return { received: reports.length, applied, ...(held ? { held } : {}) }
}

/** Whether a report of the same status is held for the same message id already. */
async function alreadyHeld(
  db: DatabaseWriter,
  carrier: string,
  report: DeliveryReport,
): Promise<boolean> {
  const rows = await db
    .selectFrom('early_reports')
    .select('report')
    .where('carrier', '=', carrier)
    .where('carrier_message_id', '=', report.carrierMessageId)
    .execute()
  return rows.some((row) => (JSON.parse(row.report) as DeliveryReport).status === report.status)
}

/**
 * Reports that arrive one at a time on a carrier's own connection (SMPP `deliver_sm`): each is
 * applied inside the shared batched transaction, so those of one turn of the event loop share
 * one commit with each other and with the other writes of that moment (starts, the
 * dispatcher's answers) rather than taking one each. Each report is still applied on its own
 * terms (forward only, held when its message is not stored yet); a failed batch is applied again
 * alone, as every batched write. The returned function resolves when its report is stored.
 */
export function reportIntake(
  db: Kysely<Database>,
  now: () => number = Date.now,
): (carrier: string, report: DeliveryReport) => Promise<void> {
  const inTransaction = sharedBatchedTransactions(db)
  return async (carrier, report) => {
    await inTransaction((trx) => applyReports(trx, carrier, [report], now()))
  }
}

/**
 * Applies held reports whose message is now known: for one message right after the dispatcher
 * stored its carrier ids (every part's, for a long text), or for all (housekeeping sweep).
 * Expired ones are dropped.
 */
export async function applyEarlyReports(
  db: Kysely<Database>,
  now: number,
  only?: { carrier: string; carrierMessageIds: string[] },
): Promise<number> {
  if (only?.carrierMessageIds.length === 0) return 0
  const all = () => db.selectFrom('early_reports').selectAll().orderBy('received_at').limit(1000)
  // After every batch of texts sent: compiled once per number of ids (see runTemplate).
  const rows = only
    ? await runTemplate(
        db,
        `earlyReports:${only.carrierMessageIds.length}`,
        [only.carrier, ...only.carrierMessageIds],
        (v) =>
          all()
            .where('carrier', '=', v(0))
            .where(
              'carrier_message_id',
              'in',
              only.carrierMessageIds.map((_, i) => v(i + 1)),
            ),
      )
    : await all().execute()
  let applied = 0
  for (const row of rows) {
    const report = JSON.parse(row.report) as DeliveryReport
    const outcome = await applyReport(db, row.carrier, report, now)
    if (outcome === 'applied') applied++
    if (outcome !== 'unknown' || Number(row.expires_at) <= now) {
      await db.deleteFrom('early_reports').where('id', '=', row.id).execute()
    }
  }
  return applied
}

const BAD_SIGNATURE_WARN_EVERY_MS = 60_000

export interface ReportRoutesOptions {
  db: Kysely<Database>
  /** The adapters whose reports are accepted, by id. */
  carriers: () => Iterable<CarrierAdapter>
  logger: Logger
  /**
   * The server's public URL: carriers that sign the URL (Twilio) sign the one they called, which
   * behind a proxy is not the one this process sees.
   */
  publicUrl?: string
  now?: () => number
}

/**
 * @example
 * app.route('/v1/carriers', carrierReportRoutes({ db, carriers: () => [twilio], logger }))
 */
export function carrierReportRoutes({
  db,
  carriers,
  logger,
  publicUrl,
  now = Date.now,
}: ReportRoutesOptions) {
  const routes = new Hono()
  // One warning a minute per carrier at most, with the count since: bad callbacks cannot flood.
  const badSignatures = new Map<string, { warnedAt: number; since: number }>()
  function warnBadSignature(carrier: string, log: Logger): void {
    const at = Date.now()
    const seen = badSignatures.get(carrier)
    if (seen && at - seen.warnedAt < BAD_SIGNATURE_WARN_EVERY_MS) {
      seen.since++
      return
    }
    badSignatures.set(carrier, { warnedAt: at, since: 0 })
    // Neither the body nor the URL is logged: both can hold numbers and tokens.
    log.warn(
      { carrier, suppressedSinceLastWarning: seen?.since ?? 0 },
      'delivery report with a wrong, stale or missing signature',
    )
  }
  routes.use(
    '*',
    bodyLimit({
      maxSize: MAX_REPORT_BYTES,
      onError: () => {
        throw new ApiError('payload_too_large', { limitBytes: MAX_REPORT_BYTES })
      },
    }),
  )
  routes.on(['GET', 'POST'], '/:carrier/reports', async (c) => {
    const id = c.req.param('carrier')
    const adapter = [...carriers()].find((a) => a.id === id)
    if (!adapter?.parseReports || !adapter.verifyCallback) throw new ApiError('not_found')
    const requestUrl = new URL(c.req.url)
    const url = publicUrl
      ? `${publicUrl.replace(/\/$/, '')}${requestUrl.pathname}${requestUrl.search}`
      : requestUrl.toString()
    const headers: Record<string, string> = {}
    c.req.raw.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value
    })
    const request: CallbackRequest = {
      method: c.req.method,
      url,
      headers,
      body: c.req.method === 'POST' ? await c.req.text() : '',
    }
    if (!adapter.verifyCallback(request)) {
      warnBadSignature(id, requestLog(c, logger))
      throw new ApiError('invalid_signature')
    }
    const at = now()
    const replayKey = adapter.callbackReplayKey?.(request)
    if (replayKey) {
      const fresh = await db
        .insertInto('callback_replays')
        .values({
          carrier: adapter.id,
          signature: replayKey.slice(0, 512),
          expires_at: at + 2 * CALLBACK_MAX_SKEW_MS,
        })
        .onConflict((oc) => oc.columns(['carrier', 'signature']).doNothing())
        .executeTakeFirst()
      if (Number(fresh.numInsertedOrUpdatedRows ?? 0) === 0) {
        // A copy of a callback already applied: acknowledged (so the carrier stops), not applied.
        requestLog(c, logger).debug({ carrier: id }, 'replayed delivery report ignored')
        return c.json(withFields(adapter.callbackAcknowledgement ?? {}, { replayed: true }))
      }
    }
    let reports: DeliveryReport[]
    try {
      reports = adapter.parseReports(request, at)
    } catch {
      // A body of the wrong shape (null, a number where a list belongs): no report in it,
      // acknowledged like unreadable JSON, so the carrier does not send it again and again.
      reports = []
    }
    const result = await applyReports(db, adapter.id, reports, at)
    requestLog(c, logger).debug({ carrier: id, ...result }, 'delivery reports')
    return c.json(withFields(adapter.callbackAcknowledgement ?? {}, result))
  })
  return routes
}
