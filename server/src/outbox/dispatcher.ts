/**
 * The outbox dispatcher: `window` workers claim due rows and hand their texts to a carrier.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { CarrierAdapter } from '../carriers/types'
import { createPollingLoop, type PollingLoop } from '../polling'
import type { KeyMode, Storage } from '../storage'
import { sharedBatchedTransactions } from '../storage/batched-transactions'
import { claimNext } from './claim'
import type { DispatchContext } from './context'
import { deliver } from './send'

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

/**
 * `stop` stops claiming and waits for sends under way; `nudge` polls now instead of at the next
 * tick (called after a message is enqueued); `drain` runs claim-and-send rounds until nothing is
 * due (for tests and scripts).
 */
export type Dispatcher = PollingLoop

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
  const ctx: DispatchContext = {
    db,
    dialect: storage.dialect,
    workerId: `w_${randomBytes(6).toString('hex')}`,
    encryptionKey,
    carrierFor,
    logger,
    now,
    claimMs,
    maxAttempts,
  }

  // The workers' claims and answers share commits with each other and with starts.
  const inTransaction = sharedBatchedTransactions(db)

  /**
   * One of `window` workers: claims a row, sends it, then records the answer and claims the next
   * row in one commit — so the answer is always written before the next text goes out, at one
   * commit per text.
   */
  async function work(active: () => boolean): Promise<number> {
    let sent = 0
    if (!active()) return sent
    let claimed = await inTransaction((trx) => claimNext(ctx, trx, now()))
    while (claimed) {
      const outcome = await deliver(ctx, claimed)
      const goOn = active()
      try {
        claimed = await inTransaction(async (trx) => {
          await outcome.write(trx)
          return goOn ? claimNext(ctx, trx, now()) : undefined
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

  return createPollingLoop({ window, pollIntervalMs, logger, label: 'outbox round failed', work })
}
