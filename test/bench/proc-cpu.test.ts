/**
 * The bench's reading of the machine's CPU time (/proc/stat): busy, total and the hypervisor's
 * steal, which marks a row measured on a busy host.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { machineTicks, stealShare } from './proc-cpu'

describe('machine CPU ticks', () => {
  it('reads steal from the eighth field of the cpu line, and counts it as busy', () => {
    const before = machineTicks()
    // The kernel's own line, read after: each figure only grows.
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/)
    expect(fields[0]).toBe('cpu')
    const steal = Number(fields[8])
    // The same counter a moment later: at most a few ticks apart (the fields next to it, irq and
    // softirq, are far from it on a machine that has run for a while).
    expect(steal - before.steal).toBeGreaterThanOrEqual(0)
    expect(steal - before.steal).toBeLessThan(50)
    expect(before.steal).toBeLessThanOrEqual(before.busy)
    expect(before.busy).toBeLessThanOrEqual(before.total)
    expect(machineTicks().total).toBeGreaterThanOrEqual(before.total)
  })

  it("gives steal as a share of the machine's time between two readings", () => {
    expect(stealShare({ total: 1_000, steal: 10 }, { total: 1_200, steal: 40 })).toBeCloseTo(0.15)
    expect(stealShare({ total: 1_000, steal: 10 }, { total: 1_200, steal: 10 })).toBe(0)
    // No time between the two: no share, not a division by zero.
    expect(stealShare({ total: 1_000, steal: 10 }, { total: 1_000, steal: 10 })).toBe(0)
  })
})
