/**
 * How far V8 lets the old generation grow before its next full (mark-compact) collection, for a
 * process that serves (`textgate serve` sets it; a library embedder's process is left alone).
 *
 * Every start counts new keys (the shopper's own number, address and device), whose per-key
 * state lives past two scavenges before the counters' flush writes it: a few KB a start reach
 * the old generation and die there. With V8's own growing factor (about 1.6 at the server's
 * 30–40 MB of live heap) that filled the old generation every 2–4 s at 1,700 starts a second,
 * and each mark-compact stopped the serving thread for 5–13 ms, and the requests queued behind
 * it for as long again: the seconds with one read p99 17–32 ms, those without 3.5–6 ms. At a
 * factor of 6 (500 %) an evenly paced 10 s row of such starts had 0–1 instead of 4–5, and its
 * p99 about halved, for a heap that grows further between them (highest RSS over a row 257–380
 * MiB against 200–257). README, "Full collections"; RESULTS.md, twenty-first session.
 * @module
 */
import { setFlagsFromString } from 'node:v8'

/** The default: the old generation may grow to 6× what the last mark-compact left live. */
export const DEFAULT_HEAP_GROWING_PERCENT = 500

/** What {@link setHeapGrowing} last set in this process; 0 while V8 chooses. */
let applied = 0

/**
 * Sets V8's heap growing factor to 1 + `percent` / 100 for every collection from now on (0: V8
 * chooses, as it does without this). Process-wide: the writer thread's isolate too.
 */
export function setHeapGrowing(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) {
    throw new RangeError(`heap growing percent must be a whole number ≥ 0, got ${percent}`)
  }
  setFlagsFromString(`--heap-growing-percent=${percent}`)
  applied = percent
}

/**
 * The heap growing percent this process set (0: none, V8 chooses). V8 flags cannot be read
 * back: this is the record of the call, which `/metrics` shows as `textgate_heap_growing_percent`
 * (test/server/process.test.ts reads it from a `serve` process).
 */
export function appliedHeapGrowingPercent(): number {
  return applied
}
