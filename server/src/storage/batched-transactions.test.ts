import type { Transaction } from 'kysely'
import { describe, expect, it, vi } from 'vitest'
import { createTestStorage, STORAGE_SETUPS } from '../../testing/storage'
import { batchedTransactions } from './batched-transactions'
import type { Database } from './index'
import { RowBatch } from './row-insert'
import { type WriterThread, type WriteStatement, writerThreadOf } from './writer-thread'

const row = (id: string) => ({
  id,
  project_id: 'prj_batch',
  to: '+447700900123',
  body_encrypted: 'x',
  status: 'delivered' as const,
  created_at: 1,
})

for (const setup of STORAGE_SETUPS) {
  const { dialect } = setup
  describe(`batched transactions (${setup.name})`, () => {
    it('commits transactions queued together once, and a failing one alone fails', async () => {
      const storage = await createTestStorage(dialect, { writerThread: setup.writerThread })
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
    it.runIf(setup.writerThread)(
      "runs statements queued with a turn's rows after them, in their one transaction on the writer thread",
      async () => {
        const storage = await createTestStorage(dialect, { writerThread: true })
        try {
          const { db } = storage
          const inTransaction = batchedTransactions(db)
          const writes = vi.spyOn(writerThreadOf(db) as WriterThread, 'write')
          const rowsOf = (id: string) => {
            const rows = new RowBatch()
            rows.add('sandbox_messages', row(id))
            return rows
          }
          const seal = (id: string): WriteStatement => [
            'update "sandbox_messages" set "body_encrypted" = ? where "id" = ?',
            ['sealed', id],
          ]
          // The statement updates a row queued before it in the same turn: it runs after it.
          await Promise.all([
            inTransaction.insertRows(rowsOf('a')),
            inTransaction.writeStatements([seal('a')]),
            inTransaction.insertRows(rowsOf('b')),
          ])
          expect(writes).toHaveBeenCalledTimes(1)
          // A failing statement fails alone; the rest of its turn is written.
          const results = await Promise.allSettled([
            inTransaction.insertRows(rowsOf('c')),
            inTransaction.writeStatements([
              ['insert into "sandbox_messages" ("id") values (?)', ['a']],
            ]),
            inTransaction.writeStatements([seal('b')]),
          ])
          expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
          const rows = await db
            .selectFrom('sandbox_messages')
            .select(['id', 'body_encrypted'])
            .orderBy('id')
            .execute()
          expect(rows).toEqual([
            { id: 'a', body_encrypted: 'sealed' },
            { id: 'b', body_encrypted: 'sealed' },
            { id: 'c', body_encrypted: 'x' },
          ])
        } finally {
          await storage.dispose()
        }
      },
    )

    it('writes row batches of one turn in one statement on PostgreSQL, without a transaction', async () => {
      const storage = await createTestStorage(dialect, { writerThread: setup.writerThread })
      try {
        const { db } = storage
        const inTransaction = batchedTransactions(db)
        const transactions = vi.spyOn(db, 'transaction')
        const statements = vi.spyOn(db, 'executeQuery')
        const rowsOf = (...ids: string[]) => {
          const rows = new RowBatch()
          for (const id of ids) rows.add('sandbox_messages', row(id))
          return rows
        }
        const postgres = dialect === 'postgres'
        // Rows that take no transaction here: one statement on PostgreSQL, or on SQLite one
        // transaction on the writer thread.
        const none = postgres || setup.writerThread
        // Alone.
        await inTransaction.insertRows(rowsOf('a', 'b'))
        expect(transactions).toHaveBeenCalledTimes(none ? 0 : 1)
        // Three batches of one turn: one statement on PostgreSQL, one transaction on SQLite.
        await Promise.all([
          inTransaction.insertRows(rowsOf('c')),
          inTransaction.insertRows(rowsOf('d', 'e')),
          inTransaction.insertRows(rowsOf('f')),
        ])
        expect(transactions).toHaveBeenCalledTimes(none ? 0 : 2)
        if (postgres) expect(statements).toHaveBeenCalledTimes(2)
        if (setup.writerThread) expect(statements).toHaveBeenCalledTimes(0)
        // With another body: in its transaction, which answers as ever.
        const [, other] = await Promise.all([
          inTransaction.insertRows(rowsOf('g')),
          inTransaction(async (trx) => {
            await trx.insertInto('sandbox_messages').values(row('h')).execute()
            return 'h'
          }),
        ])
        expect(other).toBe('h')
        expect(transactions).toHaveBeenCalledTimes(none ? 1 : 3)
        // A failing batch fails alone; the others of its turn are written.
        const results = await Promise.allSettled([
          inTransaction.insertRows(rowsOf('i')),
          inTransaction.insertRows(rowsOf('j', 'a')),
          inTransaction.insertRows(rowsOf('k')),
        ])
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
        const ids = await db.selectFrom('sandbox_messages').select('id').orderBy('id').execute()
        expect(ids.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'k'])
      } finally {
        await storage.dispose()
      }
    })
  })
}
