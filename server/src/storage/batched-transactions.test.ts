import type { Transaction } from 'kysely'
import { describe, expect, it, vi } from 'vitest'
import { createTestStorage, DIALECTS } from '../../testing/storage'
import { batchedTransactions } from './batched-transactions'
import type { Database } from './index'

const row = (id: string) => ({
  id,
  project_id: 'prj_batch',
  to: '+447700900123',
  body_encrypted: 'x',
  status: 'delivered' as const,
  created_at: 1,
})

for (const dialect of DIALECTS) {
  describe(`batched transactions (${dialect})`, () => {
    it('commits transactions queued together once, and a failing one alone fails', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const inTransaction = batchedTransactions(storage.db)
        const seen: Transaction<Database>[] = []
        const insert = (id: string) =>
          inTransaction(async (trx) => {
            seen.push(trx)
            await trx.insertInto('sandbox_messages').values(row(id)).execute()
            return id
          })
        // Queued in one turn: one database transaction for all three.
        expect(await Promise.all([insert('a'), insert('b'), insert('c')])).toEqual(['a', 'b', 'c'])
        expect(new Set(seen).size).toBe(1)

        // One body fails: the others still commit, and only it sees its error.
        const results = await Promise.allSettled([
          insert('d'),
          inTransaction(async (trx) => {
            await trx.insertInto('sandbox_messages').values(row('e')).execute()
            throw new Error('refused')
          }),
          insert('a'), // a duplicate key: fails on its own too
          insert('f'),
        ])
        expect(results.map((r) => r.status)).toEqual([
          'fulfilled',
          'rejected',
          'rejected',
          'fulfilled',
        ])
        expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('refused'))
        const ids = await storage.db
          .selectFrom('sandbox_messages')
          .select('id')
          .orderBy('id')
          .execute()
        expect(ids.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'f'])
      } finally {
        await storage.dispose()
      }
    })
    it('runs a lone one-statement body without a transaction, and batches it with others', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const { db } = storage
        const inTransaction = batchedTransactions(db)
        const transactions = vi.spyOn(db, 'transaction')
        const insert = (id: string) =>
          inTransaction.oneStatement(async (writer) => {
            await writer.insertInto('sandbox_messages').values(row(id)).execute()
            return id
          })
        expect(await insert('a')).toBe('a')
        expect(transactions).not.toHaveBeenCalled()
        // Queued with others: one transaction for all, as any body.
        expect(
          await Promise.all([
            insert('b'),
            inTransaction((trx) => trx.insertInto('sandbox_messages').values(row('c')).execute()),
          ]),
        ).toHaveLength(2)
        expect(transactions).toHaveBeenCalledTimes(1)
        // A failing one alone fails alone.
        await expect(insert('a')).rejects.toThrow()
        const ids = await db.selectFrom('sandbox_messages').select('id').orderBy('id').execute()
        expect(ids.map((r) => r.id)).toEqual(['a', 'b', 'c'])
      } finally {
        await storage.dispose()
      }
    })
  })
}
