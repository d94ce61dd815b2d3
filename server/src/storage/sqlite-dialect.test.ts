import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

it("holds the write lock from a transaction's start: another connection's commit between its read and its write cannot fail it", async () => {
  const folder = mkdtempSync(join(tmpdir(), 'tg-dialect-'))
  const file = join(folder, 'textgate.db')
  const sqlite = new SqliteDatabase(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.exec('create table t (x)')
  const { dialect } = quietSqliteDialect({ database: sqlite })
  const db = new Kysely<Database>({ dialect })
  // Another process's connection (the CLI beside a running server), told not to wait.
  const other = new SqliteDatabase(file)
  other.pragma('busy_timeout = 0')
  try {
    let otherWrote: string | undefined
    await db.transaction().execute(async (trx) => {
      await sql`select count(*) from t`.execute(trx)
      try {
        other.prepare('insert into t values (2)').run()
        otherWrote = 'committed'
      } catch (error) {
        otherWrote = (error as { code?: string }).code
      }
      // Begun deferred, this write failed with SQLITE_BUSY_SNAPSHOT ("database is locked"): the
      // other connection had committed past this transaction's snapshot.
      await sql`insert into t values (1)`.execute(trx)
    })
    expect(otherWrote).toBe('SQLITE_BUSY')
    // Once it commits, the other connection writes (a real one waits for it: busy_timeout).
    other.prepare('insert into t values (2)').run()
    expect(other.prepare('select x from t order by x').pluck().all()).toEqual([1, 2])
  } finally {
    other.close()
    await db.destroy()
    rmSync(folder, { recursive: true, force: true })
  }
})
