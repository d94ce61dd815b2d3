import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS } from '../../testing/storage'
import { runTemplate } from './query-templates'

const counter = (key: string, bucket: number, count: number) => ({
  key,
  bucket,
  count,
  expires_at: bucket + 1000,
})

for (const dialect of DIALECTS) {
  describe(`runTemplate (${dialect})`, () => {
    it('answers as Kysely does, with new values in a shape seen before', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const { db } = storage
        await db
          .insertInto('fraud_counters')
          .values([
            counter('a', 1, 10),
            counter('b', 1, 20),
            counter('b', 2, 30),
            counter('c', 2, 40),
          ])
          .execute()
        const read = (keys: string[], from: number) =>
          runTemplate(db, `test.read:${keys.length}`, [from, ...keys], (v) =>
            db
              .selectFrom('fraud_counters')
              .select(['key', 'bucket', 'count'])
              // A constant of the query stays in place.
              .where('count', '>', 0)
              .where(
                'key',
                'in',
                keys.map((_, i) => v(1 + i)),
              )
              .where('bucket', '>=', v(0))
              .orderBy('key')
              .orderBy('bucket'),
          )
        const kysely = (keys: string[], from: number) =>
          db
            .selectFrom('fraud_counters')
            .select(['key', 'bucket', 'count'])
            .where('count', '>', 0)
            .where('key', 'in', keys)
            .where('bucket', '>=', from)
            .orderBy('key')
            .orderBy('bucket')
            .execute()
        for (const [keys, from] of [
          [['a', 'b'], 1],
          [['b', 'c'], 2], // same shape, other values
          [['c', 'a'], 0],
          [['b'], 1], // another shape
          [['a', 'b', 'c'], 2],
        ] as [string[], number][]) {
          const mine = await read(keys, from)
          expect(mine.map((r) => [r.key, Number(r.bucket), Number(r.count)])).toEqual(
            (await kysely(keys, from)).map((r) => [r.key, Number(r.bucket), Number(r.count)]),
          )
        }
      } finally {
        await storage.dispose()
      }
    })

    it('builds a query whose placeholder becomes SQL text anew each time', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const { db } = storage
        await db
          .insertInto('fraud_counters')
          .values([counter('x', 1, 1), counter('y', 1, 2)])
          .execute()
        const literal = (key: string) =>
          runTemplate(db, 'test.literal', [key], (v) =>
            db
              .selectFrom('fraud_counters')
              .select('count')
              .where('key', '=', sql.lit(v(0))),
          )
        expect((await literal('x')).map((r) => Number(r.count))).toEqual([1])
        expect((await literal('y')).map((r) => Number(r.count))).toEqual([2])
      } finally {
        await storage.dispose()
      }
    })
  })
}
