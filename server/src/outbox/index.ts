/**
 * The outbox: a message to send is written in the same transaction as the verification that
 * needs it, so nothing accepted is lost; the dispatcher then claims rows and hands them to a
 * carrier. Claims expire, so rows held by a process that crashed are picked up again.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Kysely, Selectable, Transaction } from 'kysely'
import type { Logger } from 'pino'
import { segmentInfo } from '../carriers/segments'
import {
  type CarrierAdapter,
  CarrierError,
  type SendResult,
  type TemplateData,
} from '../carriers/types'
import {
  recordNotSent,
  recordQueued,
  recordSendFailure,
  recordSending,
  recordSent,
} from '../delivery/messages'
import { applyEarlyReports } from '../delivery/reports'
import { newId } from '../ids'
import { decrypt, encrypt } from '../secrets'
import type { Database, KeyMode, OutboxRow, Storage } from '../storage'

export interface EnqueueInput {
  verificationId: string
  projectId: string
  mode: KeyMode
  to: string
  body: string
  /** The values and registrations template-only carriers need (stored encrypted). */
  template?: TemplateData
  now: number
  /**
   * A fraud-guard decoy: the message is written (status `suppressed`, no body kept) with the
   * same statements and work as a real one, so the answer takes the same time, but its outbox
   * row is born done and no carrier ever sees it.
   */
  suppressed?: boolean
}

/** Writes the message and its outbox row; call inside the verification's transaction. */
export async function enqueueMessage(
  trx: Transaction<Database> | Kysely<Database>,
  encryptionKey: Buffer,
  input: EnqueueInput,
): Promise<string> {
  const messageId = newId('msg')
  const { encoding, segments } = segmentInfo(input.body)
  const bodyEncrypted = encrypt(encryptionKey, input.body)
  await recordQueued(trx, {
    id: messageId,
    verificationId: input.verificationId,
    projectId: input.projectId,
    mode: input.mode,
    to: input.to,
    bodyEncrypted: input.suppressed ? null : bodyEncrypted,
    templateEncrypted:
      input.suppressed || !input.template
        ? null
        : encrypt(encryptionKey, JSON.stringify(input.template)),
    encoding,
    segments,
    suppressed: Boolean(input.suppressed),
    now: input.now,
  })
  await trx
    .insertInto('outbox')
    .values({
      id: newId('obx'),
      message_id: messageId,
      state: input.suppressed ? 'done' : 'pending',
      available_at: input.now,
      claimed_by: null,
      claimed_until: null,
      last_error: null,
      created_at: input.now,
    })
    .execute()
  return messageId
}

export interface DispatcherOptions {
  storage: Storage
  encryptionKey: Buffer
  /** The adapter for a message; throws CarrierError when none can take it. */
  carrierFor: (mode: KeyMode, to: string) => CarrierAdapter
  logger: Logger
  now?: () => number
  pollIntervalMs?: number
  /**
   * Texts this process may have handed to carriers without having recorded the answer yet: the
   * number of sends under way at once, and so the most texts a crash can cause to be sent twice
   * (the carrier took them, the process died before writing that down, another claim resends).
   * 1 (the default) keeps "at most one duplicate per crash"; raise it for throughput on slow
   * carriers and accept up to that many duplicates per crash.
   */
  window?: number
  /**
   * How long a claim holds before another process may take the row. A send under way renews
   * its claim, so a slow carrier does not let a second process send the same text.
   */
  claimMs?: number
  /** Failed sends after which a text is given up (`dead`); crashes are not counted. */
  maxAttempts?: number
}

export interface Dispatcher {
  start(): void
  /** Stops claiming and waits for sends under way. */
  stop(): Promise<void>
  /** Polls now instead of at the next tick (called after a message is enqueued). */
  nudge(): void
  /** Runs claim-and-send rounds until nothing is due; for tests and scripts. */
  drain(): Promise<number>
}

/** What a worker writes about a text it handled, and what it does once that is committed. */
interface Outcome {
  write: (trx: Transaction<Database>) => Promise<void>
  after?: () => Promise<void>
}

interface Claimed {
  row: OutboxRow
  message: Selectable<Database['messages']>
  /** The adapter for the text; absent for a decoy (no body) or when none can take it. */
  carrier?: CarrierAdapter
  /** Why no adapter can take the text (carrierFor threw). */
  noCarrier?: unknown
  /** Why the text is not worth sending any more. */
  stale?: string
  /** When the code in the text stops working. */
  expiresAt?: number
}

const BACKOFF_BASE_MS = 1_000
const BACKOFF_CAP_MS = 5 * 60_000

/** Full-jitter exponential backoff: uniform in [0, min(cap, base·2^attempt)]. */
export function backoffMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt))
}

/**
 * @example
 * const dispatcher = createDispatcher({ storage, encryptionKey, carrierFor, logger })
 * dispatcher.start()
 */
export function createDispatcher({
  storage,
  encryptionKey,
  carrierFor,
  logger,
  now = Date.now,
  pollIntervalMs = 500,
  window = 1,
  claimMs = 30_000,
  maxAttempts = 8,
}: DispatcherOptions): Dispatcher {
  const { db } = storage
  const workerId = `w_${randomBytes(6).toString('hex')}`
  let timer: NodeJS.Timeout | undefined
  let running = false
  let round: Promise<number> | undefined
  let again = false

  /**
   * Claims the next due row and marks its text as being sent, inside `trx`. Undefined when
   * nothing is due.
   */
  async function claimIn(trx: Transaction<Database>, at: number): Promise<Claimed | undefined> {
    let due = trx
      .selectFrom('outbox')
      .select('id')
      .where('state', '=', 'pending')
      .where('available_at', '<=', at)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', at)]))
      .orderBy('available_at')
      .limit(1)
    // Several processes share one PostgreSQL: each takes rows the others have not locked.
    if (storage.dialect === 'postgres') due = due.forUpdate().skipLocked()
    const row = await trx
      .updateTable('outbox')
      .set({ claimed_by: workerId, claimed_until: at + claimMs })
      .where('id', 'in', due)
      .returningAll()
      .executeTakeFirst()
    if (!row) return undefined
    // The text and the state of its code, in one read.
    const { verification_status, verification_expires_at, ...message } = await trx
      .selectFrom('messages')
      .leftJoin('verifications', 'verifications.id', 'messages.verification_id')
      .selectAll('messages')
      .select([
        'verifications.status as verification_status',
        'verifications.expires_at as verification_expires_at',
      ])
      .where('messages.id', '=', row.message_id)
      .executeTakeFirstOrThrow()
    if (!message.body_encrypted) return { row, message }
    // A code that can no longer be used is not worth a text (a long outage, or a resend
    // still queued when the shopper already verified with the earlier code).
    if (verification_expires_at === null || verification_expires_at <= at) {
      return { row, message, stale: 'the code expired before it could be sent' }
    }
    if (verification_status !== 'pending') {
      return { row, message, stale: `the verification is already ${verification_status}` }
    }
    let carrier: CarrierAdapter | undefined
    try {
      carrier = carrierFor(message.mode, message.to)
    } catch (error) {
      return { row, message, noCarrier: error }
    }
    await recordSending(trx, message.id, carrier.id, at)
    return { row, message, carrier, expiresAt: verification_expires_at }
  }

  function claim(): Promise<Claimed | undefined> {
    return db.transaction().execute((trx) => claimIn(trx, now()))
  }

  /** Keeps the claim on `row` alive while its send is under way (a slow carrier, failovers). */
  function holdClaim(row: OutboxRow): () => void {
    const timer = setInterval(
      () => {
        db.updateTable('outbox')
          .set({ claimed_until: now() + claimMs })
          .where('id', '=', row.id)
          .where('claimed_by', '=', workerId)
          .where('state', '=', 'pending')
          .execute()
          .catch((error: unknown) => logger.warn({ err: error, row: row.id }, 'claim renewal'))
      },
      Math.max(250, Math.floor(claimMs / 3)),
    )
    timer.unref()
    return () => clearInterval(timer)
  }

  /**
   * Sends a claimed text (or decides not to) and says what to write about it; nothing is
   * written here, so the worker can record it in the same commit as its next claim.
   */
  async function deliver(claimed: Claimed): Promise<Outcome> {
    const { row, message, carrier, noCarrier, stale, expiresAt } = claimed
    if (!message.body_encrypted) {
      return {
        write: async (trx) => {
          await trx.updateTable('outbox').set({ state: 'done' }).where('id', '=', row.id).execute()
        },
      }
    }
    if (stale) return { write: drop(row, message.id, stale) }
    if (!carrier) return { write: fail(row, message.id, null, noCarrier) }
    if (message.status === 'sending') {
      // Claimed before by a process that died (or lost its claim) mid-send: the carrier may
      // already have this text. Sending again is the price of losing nothing.
      logger.warn({ messageId: message.id, carrier: message.carrier }, 'resending after a crash')
    }
    const release = holdClaim(row)
    let result: SendResult
    try {
      result = await carrier.send({
        id: message.id,
        to: message.to,
        body: decrypt(encryptionKey, message.body_encrypted),
        projectId: message.project_id,
        mode: message.mode,
        ...(expiresAt ? { expiresAt } : {}),
        ...(message.template_encrypted
          ? {
              template: JSON.parse(
                decrypt(encryptionKey, message.template_encrypted),
              ) as TemplateData,
            }
          : {}),
      })
    } catch (error) {
      return { write: fail(row, message.id, carrier.id, error) }
    } finally {
      release()
    }
    const at = now()
    // A router names the adapter that actually took the message.
    const carrierId = result.carrier ?? carrier.id
    const sentIds = [
      ...new Set([
        result.carrierMessageId,
        ...(result.sentParts ?? []).map((p) => p.carrierMessageId),
      ]),
    ]
    return {
      write: async (trx) => {
        await recordSent(trx, { messageId: message.id, carrier: carrierId, result, at })
        await trx
          .updateTable('outbox')
          .set({ state: 'done', claimed_until: null, last_error: null })
          .where('id', '=', row.id)
          .execute()
      },
      // A fast carrier may have reported before our commit: apply what it said. (The
      // housekeeping sweep catches a report that raced this very moment.)
      after: async () => {
        await applyEarlyReports(db, now(), {
          carrier: carrierId,
          carrierMessageIds: sentIds,
        }).catch((error: unknown) =>
          logger.warn({ err: error, messageId: message.id }, 'early reports'),
        )
      },
    }
  }

  /** Gives up a text that is no use any more, without a carrier seeing it. */
  function drop(row: OutboxRow, messageId: string, reason: string): Outcome['write'] {
    const at = now()
    logger.info({ messageId, reason }, 'text not sent')
    return async (trx) => {
      await trx
        .updateTable('outbox')
        .set({ state: 'dead', claimed_until: null, last_error: reason })
        .where('id', '=', row.id)
        .execute()
      await recordNotSent(trx, messageId, reason, at)
    }
  }

  function fail(
    row: OutboxRow,
    messageId: string,
    carrierId: string | null,
    error: unknown,
  ): Outcome['write'] {
    const permanent = error instanceof CarrierError && error.permanent
    const reason = error instanceof Error ? error.message : String(error)
    const attempts = row.attempts + 1
    const giveUp = permanent || attempts >= maxAttempts
    const at = now()
    logger.warn(
      { messageId, carrier: carrierId, attempt: attempts, permanent, giveUp, err: reason },
      'carrier send failed',
    )
    const retryAfter = error instanceof CarrierError ? (error.retryAfterMs ?? 0) : 0
    return async (trx) => {
      await trx
        .updateTable('outbox')
        .set({
          state: giveUp ? 'dead' : 'pending',
          attempts,
          available_at: at + Math.max(retryAfter, backoffMs(attempts)),
          claimed_until: null,
          last_error: reason.slice(0, 500),
        })
        .where('id', '=', row.id)
        .execute()
      await recordSendFailure(trx, {
        messageId,
        giveUp,
        reason,
        errorCode: error instanceof CarrierError ? (error.code ?? null) : null,
        at,
      })
    }
  }

  /**
   * One of `window` workers: claims a row, sends it, then records the answer and claims the next
   * row in one commit — so the answer is always written before the next text goes out, at one
   * commit per text.
   */
  async function work(): Promise<number> {
    let sent = 0
    if (!running && !draining) return sent
    let claimed = await claim()
    while (claimed) {
      const outcome = await deliver(claimed)
      const goOn = running || draining
      try {
        claimed = await db.transaction().execute(async (trx) => {
          await outcome.write(trx)
          return goOn ? claimIn(trx, now()) : undefined
        })
      } catch (error) {
        // Whatever failed, the answer must not be lost with the claim: write it on its own.
        logger.warn({ err: error }, 'outbox claim failed; recording the last answer alone')
        await db.transaction().execute((trx) => outcome.write(trx))
        claimed = undefined
      }
      sent++
      await outcome.after?.()
    }
    return sent
  }

  async function runRound(): Promise<number> {
    const counts = await Promise.all(Array.from({ length: window }, work))
    return counts.reduce((sum, n) => sum + n, 0)
  }

  let draining = false

  function tick(): void {
    if (round) {
      again = true
      return
    }
    round = runRound()
      .catch((error: unknown) => {
        logger.error({ err: error }, 'outbox round failed')
        return 0
      })
      .finally(() => {
        round = undefined
        if (running && again) {
          again = false
          tick()
        }
      })
  }

  return {
    start() {
      if (running) return
      running = true
      timer = setInterval(tick, pollIntervalMs)
      timer.unref()
      tick()
    },
    async stop() {
      running = false
      if (timer) clearInterval(timer)
      await round
    },
    nudge() {
      if (running) tick()
    },
    async drain() {
      draining = true
      try {
        await round
        return await runRound()
      } finally {
        draining = false
      }
    },
  }
}
