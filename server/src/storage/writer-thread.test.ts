import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import BetterSqlite3 from 'better-sqlite3'
import { type Kysely, sql } from 'kysely'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTestStorage, type TestStorage } from '../../testing/storage'
import { batchedTransactions } from './batched-transactions'
import { type Database, migrateToLatest, openStorage } from './index'
import { RowBatch } from './row-insert'
import { quietSqliteDialect } from './sqlite-dialect'
import { startWriterThread, type WriteStatement, writerThreadOf } from './writer-thread'

const INSERT =
  'insert into "sandbox_messages" ("id", "project_id", "to", "body_encrypted", "status", "created_at") values (?, ?, ?, ?, ?, ?)'
const rowOf = (id: string): WriteStatement => [
  INSERT,
  [id, 'prj_writer', '+447700900123', 'x', 'delivered', 1],
]

const ids = async (db: Kysely<Database>) =>
  (await db.selectFrom('sandbox_messages').select('id').orderBy('id').execute()).map((r) => r.id)

/** Changes made by the serving connection itself (SQLite counts them per connection). */
const ownChanges = async (db: Kysely<Database>) =>
  Number(
    (await sql<{ n: number }>`select total_changes() as n`.execute(db)).rows[0]?.n ?? Number.NaN,
  )

let storage: TestStorage | undefined
const open = async () => {
  storage = await createTestStorage('sqlite', { writerThread: true })
  return storage
}
afterEach(async () => {
  await storage?.dispose()
  storage = undefined
})

describe('SQLite writer thread', () => {
  it('commits a batch on its own connection, and the serving connection reads it at once', async () => {
    const { db } = await open()
    const writer = writerThreadOf(db)
    expect(writer?.running).toBe(true)
    const before = await ownChanges(db)
    await writer?.write([rowOf('a'), rowOf('b')])
    expect(await ids(db)).toEqual(['a', 'b'])
    // Written elsewhere: the serving connection made no change.
    expect(await ownChanges(db)).toBe(before)
  })

  it.runIf(process.platform === 'linux')(
    'runs at a lower priority than the serving thread, on Linux',
    async () => {
      // Every thread of this process and its nice value (field 19 of /proc's stat line).
      const niceOfThreads = () =>
        readdirSync('/proc/self/task').map((tid) => {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
        })
      const before = niceOfThreads()
      // A file of its own, not one kept for reuse: disposing of it ends its thread.
      storage = await createTestStorage('sqlite', {
        writerThread: true,
        sqliteFile: join(mkdtempSync(join(tmpdir(), 'tg-writer-')), 'textgate.db'),
      })
      const { db } = storage
      await writerThreadOf(db)?.write([rowOf('sbx_nice')])
      const after = niceOfThreads()
      expect(after.filter((nice) => nice === 5).length).toBe(
        before.filter((nice) => nice === 5).length + 1,
      )
      // The serving thread keeps its own.
      expect(after[0]).toBe(before[0])
      await storage?.dispose()
      storage = undefined
      // TEXTGATE_SQLITE_WRITER_NICE=0: the writer at the serving thread's priority.
      const level = openStorage(
        `sqlite:${join(mkdtempSync(join(tmpdir(), 'tg-writer-')), 'textgate.db')}`,
        { writerThread: true, writerNice: 0 },
      )
      try {
        await migrateToLatest(level)
        await writerThreadOf(level.db)?.write([rowOf('sbx_level')])
        expect(niceOfThreads().filter((nice) => nice === 5).length).toBe(
          before.filter((nice) => nice === 5).length,
        )
      } finally {
        await level.close()
      }
    },
  )

  it("rolls a failing batch back whole, with SQLite's error code", async () => {
    const { db } = await open()
    const writer = writerThreadOf(db)
    await writer?.write([rowOf('a')])
    const failed = writer?.write([rowOf('b'), rowOf('a')])
    await expect(failed).rejects.toMatchObject({
      name: 'SqliteError',
      code: 'SQLITE_CONSTRAINT_PRIMARYKEY',
    })
    expect(await ids(db)).toEqual(['a'])
    // The thread goes on.
    await writer?.write([rowOf('c')])
    expect(await ids(db)).toEqual(['a', 'c'])
  })

  it('commits batches that queued up together, and still rolls a failing one back alone', async () => {
    const { db } = await open()
    const writer = writerThreadOf(db)
    if (!writer) throw new Error('no writer thread')
    await writer.write([rowOf('taken')])
    const before = writer.commits
    // A long batch keeps the thread busy while the next four queue up behind it.
    const long = Array.from({ length: 3_000 }, (_, i) =>
      rowOf(`long-${String(i).padStart(4, '0')}`),
    )
    const answers = await Promise.allSettled([
      writer.write(long),
      writer.write([rowOf('a'), rowOf('b')]),
      writer.write([rowOf('c'), rowOf('taken')]),
      writer.write([rowOf('d')]),
      writer.write([rowOf('e')]),
    ])
    expect(answers.map((a) => a.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ])
    expect((answers[2] as PromiseRejectedResult).reason).toMatchObject({
      name: 'SqliteError',
      code: 'SQLITE_CONSTRAINT_PRIMARYKEY',
    })
    // The failing batch's first row went with it; every other batch is in.
    const written = await ids(db)
    expect(written.filter((id) => !id.startsWith('long-'))).toEqual(['a', 'b', 'd', 'e', 'taken'])
    expect(written.length).toBe(3_005)
    // Five batches, at most two commits: the long one, then the four that waited for it.
    expect(writer.commits - before).toBeLessThanOrEqual(2)
  })

  it('answers the rows each statement changed when asked, alone or sharing a commit', async () => {
    const { db } = await open()
    const writer = writerThreadOf(db)
    if (!writer) throw new Error('no writer thread')
    await writer.write([rowOf('a'), rowOf('b'), rowOf('c')])
    const update = (status: string, ...of: string[]): WriteStatement => [
      `update sandbox_messages set status = ? where id in (${of.map(() => '?').join(', ')})`,
      [status, ...of],
    ]
    expect(await writer.writeCounted([update('x', 'a', 'b'), update('y', 'c', 'none')])).toEqual([
      2, 1,
    ])
    // Behind a long batch, so that it shares the next commit with another batch.
    const long = Array.from({ length: 2_000 }, (_, i) => rowOf(`long-${i}`))
    const before = writer.commits
    const [, , counted] = await Promise.all([
      writer.write(long),
      writer.write([update('z', 'b')]),
      writer.writeCounted([update('w', 'a', 'none'), update('w', 'none')]),
    ])
    expect(counted).toEqual([1, 0])
    expect(writer.commits - before).toBeLessThanOrEqual(2)
  })

  it('binds byte values as blobs, as the serving connection would', async () => {
    const { db } = await open()
    await sql`create table blobs (id integer primary key, body blob not null)`.execute(db)
    const body = Buffer.from([0, 1, 2, 250, 255])
    await writerThreadOf(db)?.write([['insert into blobs (id, body) values (?, ?)', [1, body]]])
    const [row] = (await sql<{ body: Buffer }>`select body from blobs`.execute(db)).rows
    expect(Buffer.isBuffer(row?.body) && row.body.equals(body)).toBe(true)
  })

  it("keeps its transactions' journals in memory, not in temporary files", async () => {
    // SQLite's default spills a savepoint's or a multi-row statement's journal past 64 KiB into
    // a new temporary file (created, written and deleted for a batch of counters).
    const { db } = await open()
    await sql`create table probe (temp_store integer not null)`.execute(db)
    await writerThreadOf(db)?.write([
      ['insert into probe select temp_store from pragma_temp_store', []],
    ])
    const [row] = (await sql<{ temp_store: number }>`select temp_store from probe`.execute(db)).rows
    // 2: MEMORY.
    expect(row?.temp_store).toBe(2)
  })

  it('zeroes what its writes remove, as the serving connection does (secure_delete)', async () => {
    // An update or a delete on the thread's connection must not leave the old row's bytes in
    // the file: erasure relies on it (privacy/erasure.ts).
    const { db } = await open()
    await sql`create table probe_secure (secure_delete integer not null)`.execute(db)
    await writerThreadOf(db)?.write([
      ['insert into probe_secure select secure_delete from pragma_secure_delete', []],
    ])
    const [row] = (
      await sql<{ secure_delete: number }>`select secure_delete from probe_secure`.execute(db)
    ).rows
    expect(row?.secure_delete).toBe(1)
  })

  it('never writes while a serving transaction is open (no SQLITE_BUSY for one that reads, waits, then writes)', async () => {
    const { db } = await open()
    const writer = writerThreadOf(db)
    const jobs: Promise<unknown>[] = []
    for (let i = 0; i < 30; i++) {
      // A transaction that reads, lets the event loop turn (the thread could write meanwhile if
      // it did not wait for the connection), then writes: SQLite refuses its write with
      // SQLITE_BUSY_SNAPSHOT when another connection committed after its read.
      jobs.push(
        db.transaction().execute(async (trx) => {
          await trx.selectFrom('sandbox_messages').select('id').execute()
          await sleep(1)
          await trx
            .insertInto('sandbox_messages')
            .values({
              id: `main-${i}`,
              project_id: 'prj_writer',
              to: '+447700900123',
              body_encrypted: 'x',
              status: 'delivered',
              created_at: 1,
            })
            .execute()
        }),
      )
      jobs.push(writer?.write([rowOf(`thread-${i}`)]) as Promise<void>)
    }
    const results = await Promise.allSettled(jobs)
    expect(results.filter((r) => r.status === 'rejected')).toEqual([])
    expect((await ids(db)).length).toBe(60)
  })

  describe('batches under way share the connection while nobody waits for it', () => {
    // A stand-in thread answers a batch as soon as the next one arrives, else 700 ms later.
    const pairing = () => {
      const { exclusive, waiting } = quietSqliteDialect({
        database: new BetterSqlite3(':memory:'),
      })
      const writer = startWriterThread({
        path: ':memory:',
        exclusive,
        waiting,
        autocheckpoint: 0,
        cacheKib: 1,
        workerUrl: new URL('../../testing/pairing-writer-worker.mjs', import.meta.url),
      })
      return { writer, exclusive }
    }

    it('sends a batch behind the one in the thread instead of waiting for its answer', async () => {
      const { writer } = pairing()
      try {
        await writer.write([rowOf('warm-up')])
        const began = performance.now()
        await Promise.all([
          writer.write([rowOf('a')]),
          writer.write([rowOf('b')]),
          writer.write([rowOf('c')]),
        ])
        // Sent one behind the other: a and b answered at once, c after the delay (700 ms).
        // One at a time, each would wait out the delay (2.1 s).
        expect(performance.now() - began).toBeLessThan(1_400)
      } finally {
        await writer.stop()
      }
    })

    it('lets a caller waiting for the connection in before the next batch', async () => {
      const { writer, exclusive } = pairing()
      try {
        await writer.write([rowOf('warm-up')])
        const order: string[] = []
        const a = writer.write([rowOf('a')]).then(() => order.push('a'))
        const caller = exclusive(async () => {
          order.push('caller')
        })
        const b = writer.write([rowOf('b')]).then(() => order.push('b'))
        await Promise.all([a, caller, b])
        expect(order).toEqual(['a', 'caller', 'b'])
      } finally {
        await writer.stop()
      }
    })
  })

  it('hands writes back to the serving connection once it has stopped', async () => {
    const { db } = await open()
    const writer = writerThreadOf(db)
    const inTransaction = batchedTransactions(db)
    const rows = new RowBatch()
    rows.add('sandbox_messages', {
      id: 'a',
      project_id: 'prj_writer',
      to: '+447700900123',
      body_encrypted: 'x',
      status: 'delivered',
      created_at: 1,
    })
    await writer?.stop()
    expect(writerThreadOf(db)).toBeUndefined()
    await inTransaction.insertRows(rows)
    expect(await ids(db)).toEqual(['a'])
  })

  it('loses no write when the thread dies mid-batch: the starts are retried here, and it says so once', async () => {
    const onWriterError = vi.fn()
    const dying = openStorage(
      `sqlite:${join(mkdtempSync(join(tmpdir(), 'tg-writer-')), 'textgate.db')}`,
      {
        writerThread: true,
        writerWorkerUrl: new URL('../../testing/failing-writer-worker.mjs', import.meta.url),
        onWriterError,
      },
    )
    try {
      await migrateToLatest(dying)
      expect(writerThreadOf(dying.db)?.running).toBe(true)
      const inTransaction = batchedTransactions(dying.db)
      const batchOf = (id: string) => {
        const rows = new RowBatch()
        rows.add('sandbox_messages', {
          id,
          project_id: 'prj_writer',
          to: '+447700900123',
          body_encrypted: 'x',
          status: 'delivered',
          created_at: 1,
        })
        return rows
      }
      // One turn's batches go to the thread together; it dies on them.
      await Promise.all(['a', 'b', 'c'].map((id) => inTransaction.insertRows(batchOf(id))))
      expect(await ids(dying.db)).toEqual(['a', 'b', 'c'])
      expect(writerThreadOf(dying.db)).toBeUndefined()
      await inTransaction.insertRows(batchOf('d'))
      expect(await ids(dying.db)).toEqual(['a', 'b', 'c', 'd'])
      expect(onWriterError).toHaveBeenCalledTimes(1)
      expect(String(onWriterError.mock.calls[0]?.[0])).toMatch(
        /writer thread failed: the thread ended \(exit code 3\); writes go through the serving connection/,
      )
    } finally {
      await dying.close()
    }
  })
})
