/**
 * The sandbox carrier: every test-mode key sends through it. It "delivers" each text to the
 * sandbox inbox of the destination number (readable through GET /v1/sandbox/messages), and
 * never reaches a real network.
 * @module
 */
import type { Kysely } from 'kysely'
import { newId } from '../../ids'
import { encrypt } from '../../secrets'
import type { Database } from '../../storage'
import { sharedBatchedTransactions } from '../../storage/batched-transactions'
import { RowBatch } from '../../storage/row-insert'
import type { CarrierAdapter, OutgoingMessage, SendResult } from '../types'

export interface SandboxCarrierOptions {
  db: Kysely<Database>
  encryptionKey: Buffer
  now?: () => number
}

/**
 * @example
 * const carrier = sandboxCarrier({ db, encryptionKey })
 * await carrier.send({ id, to: '+12015550123', body: 'Your code is 123456', projectId, mode: 'test' })
 */
export function sandboxCarrier({ db, encryptionKey, now = Date.now }: SandboxCarrierOptions) {
  const inTransaction = sharedBatchedTransactions(db)
  return {
    id: 'sandbox',
    capabilities: { unicode: true, deliveryReports: true, maxParts: 10 },
    async send(message: OutgoingMessage): Promise<SendResult> {
      const carrierMessageId = newId('sbx')
      const row = {
        id: carrierMessageId,
        project_id: message.projectId,
        to: message.to,
        // The outbox's sealed copy when the dispatcher has one: no second encryption.
        body_encrypted: message.sealedBody ?? encrypt(encryptionKey, message.body),
        status: 'delivered' as const,
        created_at: now(),
      }
      const rows = new RowBatch()
      rows.add('sandbox_messages', row)
      // The dispatcher writes the inbox row in the commit that records the send.
      if (message.rowsWithRecord) return { carrierMessageId, status: 'delivered', rows }
      // Else it shares a commit with the other writes of the moment (starts, other texts), and
      // on PostgreSQL one statement with the other texts of the moment.
      await inTransaction.insertRows(rows)
      return { carrierMessageId, status: 'delivered' }
    },
  } satisfies CarrierAdapter
}
