/**
 * Preloaded into the memory section's server (`--expose-gc --import`, plain JavaScript since it
 * loads before tsx) when BENCH_GC_REPORT_FILE is set: on SIGUSR2 it runs a full garbage
 * collection and appends one JSON line to that file, `{ at, rss, heapUsed, external }` in bytes,
 * so the bench's leak check weighs what the process keeps rather than garbage the collector has
 * not come to yet (V8 lets the old generation grow to a limit it sets per run from its own
 * measurements, so RSS between two major collections moves by tens of MiB with no leak). Not
 * part of the server.
 * @module
 */
import { appendFileSync } from 'node:fs'

const file = process.env.BENCH_GC_REPORT_FILE
if (file && typeof globalThis.gc === 'function') {
  const collect = globalThis.gc
  process.on('SIGUSR2', () => {
    collect()
    const { rss, heapUsed, external } = process.memoryUsage()
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), rss, heapUsed, external })}\n`)
  })
}
