import { CompiledQuery, sql } from 'kysely'
import { describe, expect, it, vi } from 'vitest'
import { createTestStorage, DIALECTS, insertTestVerification } from '../../testing/storage'
import { createProject } from '../projects'
import { insertRow, RowBatch } from './row-insert'

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

    it('writes each row under its own columns, however many shapes a table has', async () => {
      const storage = await createTestStorage(dialect)
      try {
        // 8 sets of columns (each nullable one there or left out) in 3 orders: 24 shapes, more
        // than are kept per table, each written twice in turn.
        const optional = ['verification_id', 'ip', 'figures'] as const
        const shapes: ((row: Record<string, unknown>) => Record<string, unknown>)[] = []
        for (let set = 0; set < 8; set++) {
          const omit = (row: Record<string, unknown>) =>
            Object.fromEntries(
              Object.entries(row).filter(([column]) => {
                const bit = optional.indexOf(column as (typeof optional)[number])
                return bit < 0 || (set & (1 << bit)) === 0
              }),
            )
          shapes.push(omit)
          shapes.push((row) => Object.fromEntries(Object.entries(omit(row)).reverse()))
          shapes.push((row) => {
            const entries = Object.entries(omit(row))
            return Object.fromEntries([...entries.slice(3), ...entries.slice(0, 3)])
          })
        }
        const written: Record<string, unknown>[] = []
        for (let round = 0; round < 2; round++) {
          for (const [i, shape] of shapes.entries()) {
            const row = shape(
              event(`r${round}-${String(i).padStart(2, '0')}`, {
                verification_id: `ver of ${i}`,
                figures: `{"shape":${i}}`,
                created_at: 100 * round + i,
              }),
            )
            await insertRow(storage.db, 'fraud_events', row as never)
            written.push(row)
          }
        }
        const rows = await storage.db.selectFrom('fraud_events').selectAll().orderBy('id').execute()
        expect(rows).toHaveLength(written.length)
        for (const row of rows) {
          const given = written.find((w) => w.id === row.id) as Record<string, unknown>
          expect({
            verification_id: row.verification_id,
            ip: row.ip,
            figures: row.figures,
            created_at: Number(row.created_at),
          }).toEqual({
            verification_id: given.verification_id ?? null,
            ip: given.ip ?? null,
            figures: given.figures ?? null,
            created_at: given.created_at,
          })
        }
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
    it('writes a batch in order, in one statement on PostgreSQL, all or nothing', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const { db } = storage
        const { project } = await createProject(db, {
          name: 'Rows',
          origins: ['https://shop.example'],
        })
        await insertTestVerification(db, {
          id: 'ver_rows',
          projectId: project.id,
          phone: '+447700900123',
          now: 1,
        })
        const message = (id: string) => ({
          id,
          verification_id: 'ver_rows',
          project_id: project.id,
          mode: 'test' as const,
          to: '+447700900123',
          body_encrypted: null,
          template_encrypted: null,
          status: 'queued' as const,
          carrier: null,
          carrier_message_id: null,
          error: null,
          created_at: 1,
          sent_at: null,
          delivered_at: null,
          updated_at: 1,
          encoding: 'GSM-7',
          segments: 1,
        })
        const outbox = (id: string, messageId: string) => ({
          id,
          message_id: messageId,
          state: 'pending' as const,
          available_at: 1,
          claimed_by: null,
          claimed_until: null,
          last_error: null,
          created_at: 1,
        })
        const batchOf = (n: string) => {
          const rows = new RowBatch()
          // The outbox row refers to the message added before it in the same batch.
          rows.add('messages', message(`msg_${n}`))
          rows.add('outbox', outbox(`obx_${n}`, `msg_${n}`))
          rows.add('fraud_events', event(`fev_${n}`))
          return rows
        }
        const statements = vi.spyOn(db, 'executeQuery')
        const rows = batchOf('1')
        expect(rows.isOneStatementOn(db)).toBe(dialect === 'postgres')
        await rows.write(db)
        await batchOf('2').write(db)
        expect(statements).toHaveBeenCalledTimes(dialect === 'postgres' ? 2 : 6)
        statements.mockRestore()

        // A constraint broken by the last row: nothing of the batch is written.
        const broken = new RowBatch()
        broken.add('messages', message('msg_3'))
        broken.add('fraud_events', event('fev_1'))
        const write =
          dialect === 'postgres'
            ? broken.write(db)
            : db.transaction().execute((trx) => broken.write(trx))
        await expect(write).rejects.toThrow()
        const ids = async (table: 'messages' | 'outbox' | 'fraud_events') =>
          (await db.selectFrom(table).select('id').orderBy('id').execute()).map((r) => r.id)
        expect(await ids('messages')).toEqual(['msg_1', 'msg_2'])
        expect(await ids('outbox')).toEqual(['obx_1', 'obx_2'])
        expect(await ids('fraud_events')).toEqual(['fev_1', 'fev_2'])
        const [stored] = await db
          .selectFrom('outbox')
          .selectAll()
          .where('id', '=', 'obx_2')
          .execute()
        expect(stored).toMatchObject({ message_id: 'msg_2', state: 'pending' })
      } finally {
        await storage.dispose()
      }
    })
    it("puts a batch's inserts before a statement of its own `with` as one statement on PostgreSQL, all or nothing", async () => {
      const storage = await createTestStorage(dialect)
      try {
        const { db } = storage
        const rows = new RowBatch()
        rows.add('fraud_events', event('fev_a'))
        rows.add('fraud_events', event('fev_b'))
        const tail = CompiledQuery.raw(
          'with "v" ("id", "at") as (values ($1::text, $2::bigint)) ' +
            'update "fraud_events" set "created_at" = "v"."at" from "v" where "fraud_events"."id" = "v"."id"',
          ['fev_old', 7],
        )
        await insertRow(db, 'fraud_events', event('fev_old'))
        const one = rows.beforeStatement(db, 'touch', tail)
        if (dialect !== 'postgres') {
          // SQLite has no data-modifying CTEs: the caller writes the two in a transaction.
          expect(one).toBeNull()
          return
        }
        expect(one?.parameters).toEqual([
          ...Object.values(event('fev_a')),
          ...Object.values(event('fev_b')),
          'fev_old',
          7,
        ])
        await db.executeQuery(one as CompiledQuery)
        const stored = await db
          .selectFrom('fraud_events')
          .select(['id', 'created_at'])
          .orderBy('id')
          .execute()
        expect(stored.map((r) => [r.id, Number(r.created_at)])).toEqual([
          ['fev_a', 1],
          ['fev_b', 1],
          ['fev_old', 7],
        ])
        // The same shape again (from the cache), failing in its last part: no row is written.
        const again = new RowBatch()
        again.add('fraud_events', event('fev_c'))
        again.add('fraud_events', event('fev_d'))
        const failing = again.beforeStatement(
          db,
          'touch',
          CompiledQuery.raw(tail.sql, ['fev_old', 'not a number']),
        )
        await expect(db.executeQuery(failing as CompiledQuery)).rejects.toThrow()
        expect(
          await db
            .selectFrom('fraud_events')
            .select('id')
            .where('id', 'in', ['fev_c', 'fev_d'])
            .execute(),
        ).toEqual([])
        expect(new RowBatch().beforeStatement(db, 'touch', tail)).toBeNull()
      } finally {
        await storage.dispose()
      }
    })

    it('writes a batch with a row Kysely must build all or nothing too', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const { db } = storage
        await insertRow(db, 'fraud_events', event('a'))
        const rows = new RowBatch()
        // A value that is SQL, not a parameter, in a shape first seen with it (no ip): that
        // shape is never compiled once.
        const built = (id: string) => ({
          ...event(id),
          ip: undefined,
          figures: sql<string>`'{"built":1}'` as never,
        })
        rows.add('fraud_events', built('b'))
        rows.add('fraud_events', event('a'))
        const write = rows.isOneStatementOn(db)
          ? rows.write(db)
          : db.transaction().execute((trx) => rows.write(trx))
        await expect(write).rejects.toThrow()
        const ids = await db.selectFrom('fraud_events').select('id').execute()
        expect(ids.map((r) => r.id)).toEqual(['a'])
        const fine = new RowBatch()
        fine.add('fraud_events', built('b'))
        fine.add('fraud_events', event('c'))
        await (fine.isOneStatementOn(db)
          ? fine.write(db)
          : db.transaction().execute((trx) => fine.write(trx)))
        const stored = await db
          .selectFrom('fraud_events')
          .select(['id', 'figures'])
          .orderBy('id')
          .execute()
        expect(stored).toEqual([
          { id: 'a', figures: null },
          { id: 'b', figures: '{"built":1}' },
          { id: 'c', figures: null },
        ])
      } finally {
        await storage.dispose()
      }
    })
  })
}
