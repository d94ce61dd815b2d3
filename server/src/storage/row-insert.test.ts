import { describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS } from '../../testing/storage'
import { insertRow } from './row-insert'

const event = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  project_id: 'prj_rows',
  verification_id: null,
  phone: '+447700900123',
  country: 'GB',
  ip: `ip of ${id}`,
  decision: 'allow',
  outcome: 'sent',
  reasons: '[]',
  shadow_reasons: '[]',
  figures: null,
  created_at: 1,
  ...extra,
})

for (const dialect of DIALECTS) {
  describe(`insertRow (${dialect})`, () => {
    it('writes what Kysely writes, for a new shape and for one seen before', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const { db } = storage
        await insertRow(db, 'fraud_events', event('a'))
        // The same shape again (values differ) and in a transaction.
        await insertRow(db, 'fraud_events', event('b', { created_at: 2 }))
        await db.transaction().execute((trx) => insertRow(trx, 'fraud_events', event('c')))
        // An undefined column is left out, as Kysely leaves it: another shape.
        await insertRow(db, 'fraud_events', event('d', { ip: undefined }))
        await db.insertInto('fraud_events').values(event('k')).execute()
        const rows = await db.selectFrom('fraud_events').selectAll().orderBy('id').execute()
        expect(rows.map((r) => [r.id, r.ip, Number(r.created_at)])).toEqual([
          ['a', 'ip of a', 1],
          ['b', 'ip of b', 2],
          ['c', 'ip of c', 1],
          ['d', null, 1],
          ['k', 'ip of k', 1],
        ])
        // Every column as Kysely's own insert stored it.
        const { id: _a, ip: _b, ...mine } = rows[0] as Record<string, unknown>
        const { id: _c, ip: _d, ...theirs } = rows[4] as Record<string, unknown>
        expect(mine).toEqual(theirs)
      } finally {
        await storage.dispose()
      }
    })

    it('fails like Kysely on a constraint, and the next insert of that shape still works', async () => {
      const storage = await createTestStorage(dialect)
      try {
        await insertRow(storage.db, 'fraud_events', event('a'))
        await expect(insertRow(storage.db, 'fraud_events', event('a'))).rejects.toThrow()
        await insertRow(storage.db, 'fraud_events', event('b'))
        const count = await storage.db
          .selectFrom('fraud_events')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
        expect(Number(count.n)).toBe(2)
      } finally {
        await storage.dispose()
      }
    })
  })
}
