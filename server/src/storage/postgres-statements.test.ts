import { CompiledQuery, Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS } from '../../testing/storage'
import { withNamedStatements } from './postgres-statements'

/** A pool of one connection, so what it has prepared is what `pg_prepared_statements` lists. */
async function oneConnection(namedTexts?: number) {
  const leased = await createTestStorage('postgres')
  const pool = new pg.Pool({ connectionString: leased.url, max: 1 })
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: withNamedStatements(pool, { namedTexts }) }),
  })
  const run = (text: string, values: unknown[] = []) =>
    db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, values))
  const prepared = async () =>
    (await run('select statement from pg_prepared_statements order by statement')).rows.map(
      (r) => r.statement as string,
    )
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
  it('names a statement with values from its second run on, and answers the same', async () => {
    const c = await oneConnection()
    try {
      const text = 'select $1::int + $2::int as n'
      expect((await c.run(text, [1, 2])).rows).toEqual([{ n: 3 }])
      // Run once: not prepared (a one-off statement takes no name).
      expect(await c.prepared()).toEqual([])
      expect((await c.run(text, [2, 3])).rows).toEqual([{ n: 5 }])
      expect(await c.prepared()).toEqual([text])
      // Later runs bind the prepared statement: still one of it, with new values each time.
      for (let i = 0; i < 5; i++) expect((await c.run(text, [i, 10])).rows).toEqual([{ n: i + 10 }])
      expect(await c.prepared()).toEqual([text])
    } finally {
      await c.dispose()
    }
  })

  it('leaves statements without values unnamed, and names no more texts than its bound', async () => {
    const c = await oneConnection(2)
    try {
      for (let i = 0; i < 3; i++) await c.run('select 1 as one')
      const texts = ['select $1::int as a', 'select $1::int as b', 'select $1::int as c']
      for (const text of texts) {
        for (let i = 0; i < 3; i++)
          expect((await c.run(text, [i])).rows[0]).toEqual(expect.anything())
      }
      // The first two texts took the two names; the third runs unnamed, and still answers.
      expect(await c.prepared()).toEqual(texts.slice(0, 2))
      expect((await c.run(texts[2] as string, [7])).rows).toEqual([{ c: 7 }])
    } finally {
      await c.dispose()
    }
  })

  it('keeps serving a named statement after one of its runs failed', async () => {
    const c = await oneConnection()
    try {
      await c.run('create table named_t (id int primary key)')
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
