import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { setHeapGrowing } from './heap'

/**
 * In a child process: how far the heap grows past what each mark-compact left live, while
 * objects that outlive the young generation (1 MB semi-spaces here) die in the old one, as a
 * start's new counter keys do. `percent` 0 leaves V8's own factor.
 */
function growthPastLive(percent: number): {
  peakOverLive: number
  majors: number
  applied: number
} {
  const script = `
    import v8 from 'node:v8'
    import { PerformanceObserver, constants } from 'node:perf_hooks'
    const { setHeapGrowing, appliedHeapGrowingPercent } = await import(${JSON.stringify(join(import.meta.dirname, 'heap.ts'))})
    if (${percent} > 0) setHeapGrowing(${percent})
    const used = () => v8.getHeapStatistics().used_heap_size
    let majors = 0
    let live = Infinity
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue
        majors++
      }
    }).observe({ entryTypes: ['gc'] })
    const kept = Array.from({ length: 300_000 }, (_, i) => ({ i, s: 'kept-' + i }))
    const ring = new Array(100_000)
    let peak = 0
    let before = used()
    for (let i = 0; i < 6_000_000; i++) {
      ring[i % ring.length] = { i, pair: [i, i + 1], s: 'x' + i }
      if (i % 10_000 === 0) {
        const now = used()
        // (GC entries reach an observer only after this loop.) A fall of a third is a
        // mark-compact; right after one the heap holds about what it left live.
        if (now < before * 0.67) live = Math.min(live, now)
        peak = Math.max(peak, now)
        before = now
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
    const applied = appliedHeapGrowingPercent()
    process.stdout.write(JSON.stringify({ peakOverLive: peak / live, majors, applied, kept: kept.length }))
  `
  return JSON.parse(
    execFileSync(
      process.execPath,
      ['--max-semi-space-size=1', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    ),
  ) as { peakOverLive: number; majors: number; applied: number }
}

describe('setHeapGrowing', () => {
  it('lets the old generation grow further before each mark-compact (this Node)', () => {
    const own = growthPastLive(0)
    const six = growthPastLive(500)
    // V8's own factor is 4 at the most; 500 % is 6.
    expect(own.peakOverLive).toBeLessThan(5)
    expect(six.peakOverLive).toBeGreaterThan(5)
    expect(six.majors).toBeLessThan(own.majors)
    // What /metrics shows as textgate_heap_growing_percent: the value set, 0 until one is.
    expect([own.applied, six.applied]).toEqual([0, 500])
  })

  it('refuses what is not a whole number of per cent', () => {
    expect(() => setHeapGrowing(-1)).toThrow(RangeError)
    expect(() => setHeapGrowing(1.5)).toThrow(RangeError)
  })
})
