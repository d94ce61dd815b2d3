/**
 * WAL checkpoints on a worker thread, on a real SQLite file: the WAL stays bounded while writes
 * go on with the serving connection's automatic checkpoint off, close() ends the thread and
 * leaves a consistent file, and a failed thread hands checkpoints back to the commits.
 */
import { spawnSync } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readSync,
  statSync,
  truncateSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import SqliteDatabase from 'better-sqlite3'
import { sql } from 'kysely'
import { describe, expect, it, vi } from 'vitest'
import { startWalCheckpointer } from './checkpointer'
import { openStorage, type Storage } from './index'

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'tg-checkpoint-')), 'textgate.db')
const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0)
/** The WAL header's two salts (bytes 16-23): SQLite draws new ones each time the WAL starts over. */
const walSalts = (path: string) => {
  if (!existsSync(path)) return ''
  const fd = openSync(path, 'r')
  try {
    const salts = Buffer.alloc(8)
    return readSync(fd, salts, 0, 8, 16) === 8 ? salts.toString('hex') : ''
  } finally {
    closeSync(fd)
  }
}
const autocheckpoint = async (storage: Storage) =>
  (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(storage.db)).rows[0]
    ?.wal_autocheckpoint

describe('WAL checkpoint thread', () => {
  for (const { writes, pause } of [
    { writes: 'in bursts, as requests come', pause: (i: number) => i % 10 === 0 && sleep(1) },
    // The thread seldom catches up on its own: quiet moments let the WAL start over.
    { writes: 'back to back', pause: () => new Promise(setImmediate) },
  ]) {
    // Timing on a loaded 2-core machine: another suite's worker can starve the thread for a
    // second or more, during which back-to-back commits keep appending to the WAL. One retry.
    it(`keeps the WAL bounded while writes go on ${writes}, the serving connection checkpointing nothing`, {
      retry: 1,
    }, async () => {
      const file = tempFile()
      let commits = 0
      const storage = openStorage(`sqlite:${file}`, {
        walCheckpointer: { intervalMs: 20, resetFrames: 200 },
      })
      try {
        await sql`create table blobs (id integer primary key, body blob not null)`.execute(
          storage.db,
        )
        await vi.waitFor(async () => expect(await autocheckpoint(storage)).toBe(0))

        // 3000 commits or more of a 4 KiB row each (a row takes three pages: some 12 KiB of WAL
        // frames a commit, 4 KiB of database), and on until the WAL has started over 10 times
        // (10 s at most): a fast machine writes 3000 back to back in 150-230 ms, a handful of the
        // thread's ticks and waits.
        let largestWal = 0
        let restarts = 0
        let salts = ''
        const started = performance.now()
        while (commits < 3000 || (restarts < 10 && performance.now() - started < 10_000)) {
          commits++
          await storage.db.transaction().execute(async (trx) => {
            await sql`insert into blobs (body) values (randomblob(4096))`.execute(trx)
          })
          largestWal = Math.max(largestWal, sizeOf(`${file}-wal`))
          const now = walSalts(`${file}-wal`)
          if (salts && now !== salts) restarts++
          salts = now
          await pause(commits)
        }
        // The pages reached the database file, and the WAL kept starting over (a WAL that stops
        // starting over runs the loop to its 10 s). Its largest size is the frames written in
        // one turn of the thread (a tick, a pass, a quiet moment), each of which syncs the
        // database file: 2.7-12 MiB here, against some 13 MiB of database. A disk shared with
        // other suites can hold one sync for hundreds of ms while the commits, which do not
        // sync, go on: the WAL then reached 0.5-1.8 times the database in one turn (a loop of
        // `dd conv=fsync` beside it). A WAL that held every frame would be three times it.
        await vi.waitFor(() => expect(sizeOf(file)).toBeGreaterThan(commits * 4096))
        expect(restarts).toBeGreaterThanOrEqual(10)
        expect(largestWal).toBeLessThan(2 * sizeOf(file))
        expect(await autocheckpoint(storage)).toBe(0)
      } finally {
        await storage.close()
      }
      // Both connections closed (the thread's too: the last one to close removes the WAL).
      expect(existsSync(`${file}-wal`)).toBe(false)
      const reopened = new SqliteDatabase(file, { readonly: true })
      try {
        expect(reopened.pragma('integrity_check', { simple: true })).toBe('ok')
        expect(reopened.prepare('select count(*) from blobs').pluck().get()).toBe(commits)
      } finally {
        reopened.close()
      }
    })
  }

  it('lets a commit start the WAL over under steady writes, with no quiet moment', {
    retry: 1,
  }, async () => {
    // Commits every half millisecond or so, as a server's starts come, for two seconds: the WAL
    // is due to start over every 200 frames, some 20 times. Copying pass after pass, the thread
    // lets the commits start it over themselves; a few passes and then a quiet moment (stopping
    // every statement) was how it went before.
    const file = tempFile()
    const sqlite = new SqliteDatabase(file)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = NORMAL')
    sqlite.exec('create table rows (id integer primary key, body blob not null)')
    const insert = sqlite.prepare('insert into rows (body) values (randomblob(2000))')
    let paused: Promise<void> | undefined
    const checkpointer = startWalCheckpointer(
      {
        sqlite,
        path: file,
        quiet: (work) => {
          const run = work()
          paused = run.finally(() => {
            paused = undefined
          })
          return run
        },
      },
      { intervalMs: 20, resetFrames: 200 },
    )
    try {
      await vi.waitFor(() => expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0))
      let restarts = 0
      let salts = walSalts(`${file}-wal`)
      // Commits at random moments, half a millisecond apart on average (a Poisson process). The
      // pause before each is slept, not spun, and drawn after the commit before it, so a busy
      // machine neither loses a core to the loop nor gets a burst of commits back to back when
      // the loop falls behind (writes back to back leave the thread no pause to win).
      const sleeper = new Int32Array(new SharedArrayBuffer(4))
      for (const started = performance.now(); performance.now() - started < 2_000; ) {
        Atomics.wait(sleeper, 0, 0, -Math.log(1 - Math.random()) * 0.5)
        await new Promise(setImmediate) // the thread's messages come in here
        if (paused) await paused
        insert.run()
        const now = walSalts(`${file}-wal`)
        if (now !== salts) restarts++
        salts = now
      }
      expect(restarts).toBeGreaterThanOrEqual(5)
      expect(checkpointer.quietMoments).toBeLessThanOrEqual(restarts / 4)
    } finally {
      await checkpointer.stop()
      sqlite.close()
    }
  })

  it('is not started for a database in memory, or when turned off', async () => {
    for (const storage of [
      openStorage('sqlite::memory:'),
      openStorage(`sqlite:${tempFile()}`, { walCheckpointer: false }),
    ]) {
      try {
        await sleep(50)
        expect(await autocheckpoint(storage)).toBe(1000)
      } finally {
        await storage.close()
      }
    }
  })

  it('hands checkpoints back to the commits when the thread fails, and says so', async () => {
    const file = tempFile()
    const sqlite = new SqliteDatabase(file)
    sqlite.pragma('journal_mode = WAL')
    sqlite.exec('create table t (x)')
    const errors: Error[] = []
    const checkpointer = startWalCheckpointer(
      { sqlite, path: file, quiet: (work) => work() },
      { intervalMs: 200, onError: (error) => errors.push(error) },
    )
    try {
      await vi.waitFor(() => expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0))
      // A commit the thread has yet to copy, whose WAL file then loses its frames (a damaged
      // disk): the thread's next checkpoint cannot read them.
      sqlite.exec('insert into t values (1)')
      truncateSync(`${file}-wal`, 0)
      await vi.waitFor(() => expect(errors).toHaveLength(1))
      expect(errors[0]?.message).toMatch(
        /^\[textgate\] \[storage\] the WAL checkpoint thread failed and checkpoints are back inside commits: /,
      )
      expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
    } finally {
      await checkpointer.stop()
      sqlite.close()
    }
  })

  it('reports a thread that cannot open the database, leaving automatic checkpoints on', async () => {
    const sqlite = new SqliteDatabase(':memory:')
    const errors: Error[] = []
    const checkpointer = startWalCheckpointer(
      { sqlite, path: join(tmpdir(), 'tg-checkpoint-missing', 'none.db'), quiet: (work) => work() },
      { onError: (error) => errors.push(error) },
    )
    await vi.waitFor(() => expect(errors).toHaveLength(1))
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
    await checkpointer.stop()
    sqlite.close()
  })

  it('lets a short process exit, whether or not it closed its storage', () => {
    const storage = fileURLToPath(new URL('./index.ts', import.meta.url))
    const script = `
      import { sql } from 'kysely'
      import { openStorage } from ${JSON.stringify(storage)}
      const closed = openStorage('sqlite:${tempFile()}')
      const left = openStorage('sqlite:${tempFile()}')
      for (const s of [closed, left]) await sql\`create table t (x)\`.execute(s.db)
      await new Promise((resolve) => setTimeout(resolve, 300))
      await closed.close()
      console.log('done')`
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: fileURLToPath(new URL('.', import.meta.url)),
        encoding: 'utf8',
        timeout: 20_000,
      },
    )
    expect(run.stderr).toBe('')
    expect(run.stdout.trim()).toBe('done')
    // A thread that kept the process alive would have it killed at the timeout (status null).
    expect(run.status).toBe(0)
  })
})
