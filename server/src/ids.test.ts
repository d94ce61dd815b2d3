import { describe, expect, it } from 'vitest'
import { isId, newId } from './ids'

describe('newId', () => {
  it('gives distinct well-formed ids across many refills of its random pool', () => {
    // 4096-byte pool, 16 bytes an id: 10,000 ids refill it about 40 times.
    const ids = Array.from({ length: 10_000 }, () => newId('ver'))
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids) {
      expect(id).toMatch(/^ver_[a-z2-7]{25}$/)
      expect(isId('ver', id)).toBe(true)
    }
    // Every character of the alphabet, about equally often in the random part (160,000 of 32).
    const counts = new Map<string, number>()
    for (const id of ids)
      for (const ch of id.slice(4 + 9)) counts.set(ch, (counts.get(ch) ?? 0) + 1)
    expect(counts.size).toBe(32)
    for (const n of counts.values()) expect(Math.abs(n - 5000)).toBeLessThan(500)
  })

  it('sorts ids by the time they were made, whatever their random part', () => {
    const times = [
      0,
      1,
      31,
      32,
      1_000_000,
      Date.UTC(2026, 11, 1),
      Date.UTC(2026, 11, 1) + 1,
      2 ** 45 - 1,
    ]
    const ids = times.map((at) => newId('msg', at))
    expect([...ids].sort()).toEqual(ids)
    // The same millisecond: the time part is equal, the rest is random.
    const a = newId('msg', 5)
    const b = newId('msg', 5)
    expect(a.slice(0, 13)).toBe(b.slice(0, 13))
    expect(a).not.toBe(b)
  })
})
