/**
 * `pnpm bench:checkpoint`: transaction times on a SQLite file with WAL checkpoints inside the
 * commits (SQLite's default: `walCheckpointer: false`) and on the checkpoint thread (the
 * server's default), in alternating rounds on fresh files so a busy machine weighs on both.
 * Each transaction writes as a start does, in small: a row with an indexed number, an outbox
 * row and two counter upserts; one transaction at a time, the event loop turning between them.
 * Prints per mode: transactions, mean, p99, p99.9 and max time (ms), transactions over 5 ms,
 * the event loop's longest delay and the largest WAL file seen.
 *
 * Env: CHECKPOINT_BENCH_COMMITS (per round, 20000), CHECKPOINT_BENCH_ROUNDS (2).
 * @module
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { openStorage } from '@textgate/server/storage'
import { quantileOf } from './quantile'

const COMMITS = Number(process.env.CHECKPOINT_BENCH_COMMITS ?? 20_000)
const ROUNDS = Number(process.env.CHECKPOINT_BENCH_ROUNDS ?? 2)

// A type, not an interface: withTables wants a record type.
type BenchTables = {
  bench_rows: { id: string; phone: string; body: string; created_at: number }
  bench_outbox: { id: string; row_id: string; due_at: number }
  bench_counters: { key: string; n: number }
}

async function round(mode: 'inline' | 'thread') {
  const dir = mkdtempSync(join(tmpdir(), 'tg-checkpoint-bench-'))
  const file = join(dir, 'bench.db')
  const storage = openStorage(`sqlite:${file}`, mode === 'inline' ? { walCheckpointer: false } : {})
  const db = storage.db.withTables<BenchTables>()
  try {
    await db.schema
      .createTable('bench_rows')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('phone', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('bench_rows_phone').on('bench_rows').column('phone').execute()
    await db.schema
      .createTable('bench_outbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('row_id', 'text', (c) => c.notNull())
      .addColumn('due_at', 'integer', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('bench_outbox_due').on('bench_outbox').column('due_at').execute()
    await db.schema
      .createTable('bench_counters')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('n', 'integer', (c) => c.notNull())
      .execute()
    // The thread has its connection by now (it takes a few ms); from here on both modes write.
    await new Promise((resolve) => setTimeout(resolve, 300))

    const times: number[] = []
    let largestWal = 0
    const loop = monitorEventLoopDelay({ resolution: 1 })
    loop.enable()
    for (let i = 0; i < COMMITS; i++) {
      const id = `${i}-${Math.random().toString(36).slice(2)}`
      const started = performance.now()
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('bench_rows')
          .values({
            id,
            phone: `+4474${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`,
            body: 'x'.repeat(200),
            created_at: Date.now(),
          })
          .execute()
        await trx
          .insertInto('bench_outbox')
          .values({ id: `o${id}`, row_id: id, due_at: Date.now() + Math.random() * 1e6 })
          .execute()
        for (const key of [`p:${i % 5000}`, `c:${Math.floor(Math.random() * 50)}`]) {
          await trx
            .insertInto('bench_counters')
            .values({ key, n: 1 })
            .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ n: eb('n', '+', 1) })))
            .execute()
        }
      })
      times.push(performance.now() - started)
      if (i % 100 === 0 && existsSync(`${file}-wal`)) {
        largestWal = Math.max(largestWal, statSync(`${file}-wal`).size)
      }
      await new Promise(setImmediate)
    }
    loop.disable()
    times.sort((a, b) => a - b)
    const at = (q: number) => quantileOf(times, q)
    return {
      mode,
      commits: times.length,
      meanMs: times.reduce((sum, t) => sum + t, 0) / times.length,
      p99Ms: at(0.99),
      p999Ms: at(0.999),
      maxMs: at(1),
      over5ms: times.filter((t) => t > 5).length,
      loopMaxMs: loop.max / 1e6,
      largestWalMiB: largestWal / 2 ** 20,
    }
  } finally {
    await storage.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const results = []
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of ['inline', 'thread'] as const) {
    const result = await round(mode)
    results.push(result)
    const fixed = Object.fromEntries(
      Object.entries(result).map(([k, v]) => [k, typeof v === 'number' ? +v.toFixed(3) : v]),
    )
    console.log(JSON.stringify(fixed))
  }
}
