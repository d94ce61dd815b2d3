/**
 * A verification's states and the only writes that move it: pending → approved, failed,
 * expired or canceled, and a pending code renewed by a resend. Every move is a conditional UPDATE, so a
 * limit holds across server processes and a row moves once.
 * @module
 */
import type { WebhookEventData } from '@textgate/shared'
import { type Kysely, sql, type Transaction } from 'kysely'
import { ApiError } from '../http/errors'
import { verificationsTotal } from '../metrics'
import type { Database, DatabaseWriter, KeyMode, NewVerification, Verification } from '../storage'
import { runTemplate } from '../storage/query-templates'
import { insertRow, isPostgres, type RowWriter } from '../storage/row-insert'
import { anyEndpointWants, type EndpointsRead, emitWebhookEvent } from '../webhooks/emit'
import { withFields } from '../with-fields'

export const CODE_TTL_MS = 10 * 60_000
export const MAX_CHECKS = 5
export const MAX_SENDS = 5

/** Wait before the next send, after `sends` sends: 30 s, 60 s, 2 min, 4 min. */
export function resendDelayMs(sends: number): number {
  return 30_000 * 2 ** Math.max(0, sends - 1)
}

export const iso = (ms: number) => new Date(ms).toISOString()

/** Writes a new pending verification; call inside the start's transaction. */
export async function insertPending(
  trx: RowWriter,
  row: NewVerification & { status: 'pending' },
): Promise<void> {
  await insertRow(trx, 'verifications', row)
}

/** The verification `id` of the project; throws `verification_not_found`. */
export async function loadVerification(
  db: Kysely<Database>,
  projectId: string,
  id: string,
  /**
   * The asking key's mode: test keys go to every developer of the store, so a live
   * verification is not found to them (live keys see both).
   */
  keyMode?: KeyMode,
): Promise<Verification> {
  const row = await db
    .selectFrom('verifications')
    .selectAll()
    .where('id', '=', id)
    .where('project_id', '=', projectId)
    .executeTakeFirst()
  if (!row || (keyMode === 'test' && row.mode === 'live')) {
    throw new ApiError('verification_not_found')
  }
  return row
}

/**
 * This verification's five checks are spent: no wait makes it take another, so the answer says
 * to start a new verification (which may be done at once), and its Retry-After is the time
 * until this one's code would have expired anyway, so that a client that repeats requests on
 * 429 after Retry-After does not repeat this one every second (it is at least 1 s).
 */
export function maxAttemptsError(
  row: Pick<Verification, 'expires_at'>,
  at: number,
  details: { attemptsLeft?: 0 } = {},
): ApiError {
  return new ApiError('max_attempts_reached', withFields(details, { retry: 'new_verification' }), {
    retryAfterSeconds: Math.max(0, row.expires_at - at) / 1000,
  })
}

/** The error that says why `row` can take no check or resend. */
export function notPendingError(row: Verification, at: number): ApiError {
  if (row.status === 'failed' || row.attempts >= MAX_CHECKS) return maxAttemptsError(row, at)
  if (row.status === 'expired' || (row.status === 'pending' && row.expires_at <= at)) {
    return new ApiError('verification_expired')
  }
  return new ApiError('verification_not_pending', { status: row.status })
}

/**
 * Why `row` takes no resend at `at` (no longer pending, out of sends, or too soon), or undefined
 * when it does. A pending verification found expired is marked so.
 */
export async function resendRefusal(
  db: Kysely<Database>,
  row: Verification,
  at: number,
): Promise<ApiError | undefined> {
  if (row.status !== 'pending' || row.expires_at <= at || row.attempts >= MAX_CHECKS) {
    if (row.status === 'pending' && row.expires_at <= at) await expireVerifications(db, at, row.id)
    return notPendingError(row, at)
  }
  if (row.sends >= MAX_SENDS) {
    return new ApiError(
      'max_sends_reached',
      {},
      { retryAfterSeconds: (row.expires_at - at) / 1000 },
    )
  }
  if (row.resend_after > at) {
    return new ApiError(
      'rate_limited',
      { resendAfter: iso(row.resend_after) },
      { retryAfterSeconds: (row.resend_after - at) / 1000 },
    )
  }
  return undefined
}

/**
 * Reserves one check before the code is compared: parallel guesses can never exceed
 * MAX_CHECKS. Undefined when the verification takes no check.
 */
export async function reserveAttempt(
  db: DatabaseWriter,
  projectId: string,
  id: string,
  at: number,
  /** The checking key's mode: a test key reserves only on test verifications. */
  keyMode?: KeyMode,
  /** The length of the code given: one of another length than the verification's is no guess. */
  codeLength?: number,
) {
  // Every check runs this: compiled once per shape (see runTemplate).
  const testOnly = keyMode === 'test'
  const byLength = codeLength !== undefined
  const values: unknown[] = [id, projectId, at]
  if (byLength) values.push(codeLength)
  const [reserved] = await runTemplate(
    db,
    `verifications.reserve:${testOnly}:${byLength}`,
    values,
    (v) => {
      let reserve = db
        .updateTable('verifications')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', v(0))
        .where('project_id', '=', v(1))
      if (testOnly) reserve = reserve.where('mode', '=', 'test')
      if (byLength) reserve = reserve.where('code_length', '=', v(3))
      return reserve
        .where('status', '=', 'pending')
        .where('attempts', '<', MAX_CHECKS)
        .where('expires_at', '>', v(2))
        .returning(['code_hmac', 'attempts', 'phone', 'country', 'mode', 'signals', 'expires_at'])
    },
  )
  return reserved
}

/**
 * Gives back a check `reserveAttempt` took for a code that was never judged (the fraud guard
 * could not answer). Only while the verification is still pending.
 */
export async function releaseAttempt(db: DatabaseWriter, projectId: string, id: string) {
  await db
    .updateTable('verifications')
    .set((eb) => ({ attempts: eb('attempts', '-', 1) }))
    .where('id', '=', id)
    .where('project_id', '=', projectId)
    .where('status', '=', 'pending')
    .where('attempts', '>', 0)
    .execute()
}

/** pending → failed (too many wrong codes), with `verification.failed`; once. */
export async function markFailed(db: Kysely<Database>, projectId: string, id: string, at: number) {
  const failed = await db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('verifications')
      .set({ status: 'failed' })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returning(['mode', 'phone', 'country'])
      .executeTakeFirst()
    if (!row) return undefined
    await emitFailed(trx, { id, project_id: projectId, ...row }, 'max_attempts', at)
    return row
  })
  if (failed) verificationsTotal.inc({ status: 'failed', country: failed.country })
  return failed
}

/**
 * pending → approved, with `verification.approved` (and `consent.marketing` when opted in);
 * once. Undefined when another check approved it first.
 */
export async function markApproved(
  db: Kysely<Database>,
  projectId: string,
  id: string,
  at: number,
  inTransaction: <T>(body: (trx: Transaction<Database>) => Promise<T>) => Promise<T> = (body) =>
    db.transaction().execute(body),
  /** The verification's key mode, when the caller knows it (see below). */
  mode?: KeyMode,
) {
  // Every approval runs this: compiled once (see runTemplate).
  const approve = async (writer: DatabaseWriter) => {
    const [row] = await runTemplate(writer, 'verifications.approve', [at, id], (v) =>
      writer
        .updateTable('verifications')
        .set({ status: 'approved', approved_at: v(0) })
        .where('id', '=', v(1))
        .where('status', '=', 'pending')
        .returning([
          'phone',
          'country',
          'mode',
          'consent_version',
          'consent_at',
          'consent_marketing',
        ]),
    )
    return row
  }
  // On PostgreSQL, while no webhook endpoint of the project wants these events, the update is
  // one statement with no transaction around it (its endpoints are read first, as under READ
  // COMMITTED a transaction's own read would be: an endpoint added in between misses this one).
  const endpoints: EndpointsRead = new Map()
  if (mode && isPostgres(db)) {
    const types = ['verification.approved', 'consent.marketing']
    const wanted = await anyEndpointWants(db, projectId, mode, types, endpoints)
    if (!wanted) {
      const row = await approve(db)
      if (row) verificationsTotal.inc({ status: 'approved', country: row.country })
      return row
    }
  }
  const approved = await inTransaction(async (trx) => {
    const row = await approve(trx)
    if (!row) return undefined
    await emitWebhookEvent(
      trx,
      {
        projectId,
        mode: row.mode,
        type: 'verification.approved',
        data: { verificationId: id, phone: row.phone, country: row.country, approvedAt: iso(at) },
        orderKey: id,
        at,
      },
      endpoints,
    )
    // The opt-in counts once the number is proven to be the shopper's.
    if (Number(row.consent_marketing) === 1) {
      await emitWebhookEvent(
        trx,
        {
          projectId,
          mode: row.mode,
          type: 'consent.marketing',
          data: {
            verificationId: id,
            phone: row.phone,
            consentVersion: row.consent_version,
            at: iso(at),
          },
          orderKey: id,
          at,
        },
        endpoints,
      )
    }
    return row
  })
  if (approved) verificationsTotal.inc({ status: 'approved', country: approved.country })
  return approved
}

/**
 * A resend's new code, conditional on the row read before: two racing resends cannot both
 * send. False when another one won.
 */
export async function renewCode(
  trx: Transaction<Database>,
  row: Pick<Verification, 'id' | 'sends'>,
  next: {
    codeHmac: string
    expiresAt: number
    resendAfter: number
    at: number
    /** The language the new code is worded in, when the resend named one: later ones keep it. */
    locale?: string | undefined
  },
): Promise<boolean> {
  const result = await trx
    .updateTable('verifications')
    .set({
      sends: row.sends + 1,
      code_hmac: next.codeHmac,
      expires_at: next.expiresAt,
      resend_after: next.resendAfter,
      ...(next.locale === undefined ? {} : { locale: next.locale }),
    })
    .where('id', '=', row.id)
    .where('status', '=', 'pending')
    .where('sends', '=', row.sends)
    .where('resend_after', '<=', next.at)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/**
 * pending → canceled by the store (`POST /v1/verifications/{id}/cancel`), with
 * `verification.failed` (canceled); once, and only while the code is still valid. Undefined
 * when the verification was not pending (or had expired).
 */
export async function markCanceled(
  db: Kysely<Database>,
  projectId: string,
  id: string,
  at: number,
) {
  const canceled = await db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('verifications')
      .set({ status: 'canceled' })
      .where('id', '=', id)
      .where('project_id', '=', projectId)
      .where('status', '=', 'pending')
      .where('expires_at', '>', at)
      .returning(['id', 'project_id', 'mode', 'phone', 'country'])
      .executeTakeFirst()
    if (row) await emitFailed(trx, row, 'canceled', at)
    return row
  })
  if (canceled) verificationsTotal.inc({ status: 'canceled', country: canceled.country })
  return canceled
}

/**
 * Marks pending verifications whose code ran out as expired (one by id, or every one due) and
 * raises `verification.failed` for each, in the same transaction. Safe to run in several
 * processes: a row is expired once.
 */
/** Verifications one expiry transaction moves at most (a SQLite transaction blocks the loop). */
export const EXPIRE_BATCH = 100

export async function expireVerifications(
  db: Kysely<Database>,
  at: number,
  id?: string,
): Promise<number> {
  const expired = await db.transaction().execute(async (trx) => {
    let update = trx
      .updateTable('verifications')
      .set({ status: 'expired' })
      .where('status', '=', 'pending')
      .where('expires_at', '<=', at)
    if (id !== undefined) update = update.where('id', '=', id)
    else {
      // `'pending'` written into the SQL, not bound: only then may SQLite and PostgreSQL use the
      // partial index on pending rows' expiry (a bound value could be anything).
      update = update.where('id', 'in', (eb) =>
        eb
          .selectFrom('verifications')
          .select('id')
          .where('status', '=', sql.lit('pending'))
          .where('expires_at', '<=', at)
          .limit(EXPIRE_BATCH),
      )
    }
    const rows = await update
      .returning(['id', 'project_id', 'mode', 'phone', 'country', 'expires_at'])
      .execute()
    for (const row of rows) await emitFailed(trx, row, 'expired', at, row.expires_at)
    return rows
  })
  for (const row of expired) verificationsTotal.inc({ status: 'expired', country: row.country })
  return expired.length
}

/**
 * Expires every pending verification whose code ran out by `at`, EXPIRE_BATCH per transaction
 * with the event loop free between them, so a sweep over a backlog never holds the loop (or, on
 * SQLite, the connection) for long. Returns how many it expired.
 */
export async function expireAllPending(db: Kysely<Database>, at: number): Promise<number> {
  let total = 0
  for (;;) {
    const expired = await expireVerifications(db, at)
    total += expired
    if (expired < EXPIRE_BATCH) return total
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** `verification.failed` for a row that just left `pending`, in the transaction that moved it. */
function emitFailed(
  trx: Transaction<Database>,
  row: Pick<Verification, 'id' | 'project_id' | 'mode' | 'phone' | 'country'>,
  reason: WebhookEventData<'verification.failed'>['reason'],
  at: number,
  failedAt = at,
) {
  return emitWebhookEvent(trx, {
    type: 'verification.failed',
    projectId: row.project_id,
    mode: row.mode,
    orderKey: row.id,
    at,
    data: {
      verificationId: row.id,
      phone: row.phone,
      country: row.country,
      reason,
      failedAt: iso(failedAt),
    },
  })
}
