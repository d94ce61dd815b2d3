import SqliteDatabase from 'better-sqlite3'
import { Kysely, sql } from 'kysely'
import { expect, it, vi } from 'vitest'
import type { Database } from './schema'
import { quietSqliteDialect } from './sqlite-dialect'

it('runs a quiet moment between two transactions, ahead of those waiting', async () => {
  const sqlite = new SqliteDatabase(':memory:')
  const { dialect, quiet } = quietSqliteDialect({ database: sqlite })
  const db = new Kysely<Database>({ dialect })
  try {
    const order: string[] = []
    let finishFirst = () => {}
    const first = db.transaction().execute(async (trx) => {
      await sql`create table t (x)`.execute(trx)
      order.push('first begins')
      await new Promise<void>((resolve) => {
        finishFirst = resolve
      })
      await sql`insert into t values (1)`.execute(trx)
      order.push('first commits')
    })
    await vi.waitFor(() => expect(order).toEqual(['first begins']))
    const second = db.transaction().execute(async (trx) => {
      await sql`insert into t values (2)`.execute(trx)
      order.push('second')
    })
    const quietMoment = quiet(async () => {
      order.push(`quiet, a transaction open: ${sqlite.inTransaction}`)
    })
    finishFirst()
    await Promise.all([first, second, quietMoment])
    expect(order).toEqual([
      'first begins',
      'first commits',
      'quiet, a transaction open: false',
      'second',
    ])
    const { rows } = await sql<{ n: number }>`select count(*) as n from t`.execute(db)
    expect(rows[0]?.n).toBe(2)
  } finally {
    await db.destroy()
  }
})
