import { CompiledQuery, Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS } from '../../testing/storage'
import { openStorage } from './index'
import { withNamedStatements } from './postgres-statements'

/** A pool of one connection, so what it has prepared is what `pg_prepared_statements` lists. */
async function oneConnection(bounds: { namedTexts?: number; namedParameters?: number } = {}) {
  const leased = await createTestStorage('postgres')
  const pool = new pg.Pool({ connectionString: leased.url, max: 1 })
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: withNamedStatements(pool, bounds) }),
  })
  const run = (text: string, values: unknown[] = []) =>
    db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, values))
  const prepared = async () =>
    (await run('select statement from pg_prepared_statements order by statement')).rows.map(
      (r) => r.statement as string,
    )
  await run('create table named_t (id int primary key, note text)')
  return {
    run,
    prepared,
    async dispose() {
      await db.destroy()
      await leased.dispose()
    },
  }
}

describe.runIf(DIALECTS.includes('postgres'))('PostgreSQL named statements', () => {
  it('names an insert from its second run on; the row batches’ CTE of inserts too', async () => {
    const c = await oneConnection()
    try {
      const insert = 'insert into named_t (id, note) values ($1, $2)'
      await c.run(insert, [1, 'a'])
      // Run once: not prepared (a one-off statement takes no name).
      expect(await c.prepared()).toEqual([])
      await c.run(insert, [2, 'b'])
      expect(await c.prepared()).toEqual([insert])
      // Later runs bind the prepared statement: still one of it, with new values each time.
      for (let i = 3; i < 8; i++) await c.run(insert, [i, `n${i}`])
      const batch =
        'with "r0" as (insert into named_t (id, note) values ($1, $2)) insert into named_t (id, note) values ($3, $4) on conflict (id) do update set note = excluded.note returning id'
      for (let i = 0; i < 3; i++) {
        const { rows } = await c.run(batch, [10 + i, 'x', 20 + i, 'y'])
        expect(rows).toEqual([{ id: 20 + i }])
      }
      expect(await c.prepared()).toEqual([insert, batch].sort())
      const { rows } = await c.run('select count(*)::int as n from named_t where id > $1', [0])
      expect(rows).toEqual([{ n: 13 }])
    } finally {
      await c.dispose()
    }
  })

  it('never names a statement that reads a table, one without values, or texts past its bound', async () => {
    const c = await oneConnection({ namedTexts: 2 })
    try {
      // Reads: their generic plan could be made while the table is empty and kept as it grows.
      const reads = [
        'select note from named_t where id = $1',
        'update named_t set note = $1 where id = $2',
        'insert into named_t (id, note) select $1::int, note from named_t where id = 1',
        'delete from named_t where id = $1',
      ]
      await c.run('insert into named_t (id, note) values (1, $1)', ['one'])
      for (const text of reads) {
        for (let i = 0; i < 3; i++) {
          await c.run(text, text.startsWith('update') ? ['n', 1] : [100 + i])
        }
      }
      for (let i = 0; i < 3; i++) await c.run('select 1 as one')
      expect(await c.prepared()).toEqual([])
      // Inserts: the first two texts take the two names; the third runs unnamed, and still works.
      const inserts = [2, 3, 4].map(
        (n) => `insert into named_t (id, note) values ($1 + ${n}00, $2)`,
      )
      for (const text of inserts) for (let i = 0; i < 3; i++) await c.run(text, [i, 'v'])
      expect(await c.prepared()).toEqual(inserts.slice(0, 2).sort())
      const { rows } = await c.run('select count(*)::int as n from named_t where id >= $1', [400])
      expect(rows).toEqual([{ n: 3 }])
    } finally {
      await c.dispose()
    }
  })

  it('is what openStorage does on PostgreSQL, unless told prepared: false', async () => {
    const leased = await createTestStorage('postgres')
    try {
      for (const prepared of [undefined, false]) {
        const storage = openStorage(leased.url, { poolSize: 1, prepared })
        try {
          const run = (text: string, values: unknown[] = []) =>
            storage.db.executeQuery<{ statement: string }>(CompiledQuery.raw(text, values))
          const insert = `insert into named_o (id) values ($1)`
          await run('create table if not exists named_o (id text primary key)')
          for (let i = 0; i < 3; i++) await run(insert, [`${prepared}-${i}`])
          const { rows } = await run('select statement from pg_prepared_statements')
          expect(rows.map((r) => r.statement)).toEqual(prepared === false ? [] : [insert])
        } finally {
          await storage.close()
        }
      }
    } finally {
      await leased.dispose()
    }
  })

  it('names no text with more than a sixth of its parameter budget, nor past the budget', async () => {
    const c = await oneConnection({ namedParameters: 12 })
    try {
      const two = (n: number) => `insert into named_t (id, note) values ($1 + ${n}00, $2)`
      const wide = 'insert into named_t (id, note) values ($1, $2), ($3, $4)'
      for (let i = 0; i < 3; i++) await c.run(wide, [10 * i + 1, 'a', 10 * i + 2, 'b'])
      // 4 parameters: over 12 / 6.
      expect(await c.prepared()).toEqual([])
      for (let n = 1; n <= 7; n++) for (let i = 0; i < 2; i++) await c.run(two(n), [i, 'v'])
      // 2 parameters each: six fill the budget of 12, the seventh runs unnamed.
      expect(await c.prepared()).toEqual([1, 2, 3, 4, 5, 6].map(two).sort())
    } finally {
      await c.dispose()
    }
  })

  it('keeps serving a named insert after one of its runs failed', async () => {
    const c = await oneConnection()
    try {
      const insert = 'insert into named_t (id) values ($1)'
      await c.run(insert, [1])
      await c.run(insert, [2])
      await expect(c.run(insert, [2])).rejects.toThrow(/duplicate key/)
      await c.run(insert, [3])
      const { rows } = await c.run('select count(*)::int as n from named_t where id > $1', [0])
      expect(rows).toEqual([{ n: 3 }])
      expect(await c.prepared()).toContain(insert)
    } finally {
      await c.dispose()
    }
  })
})
