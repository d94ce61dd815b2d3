import { describe, expect, it } from 'vitest'
import { isId, newId } from './ids'

describe('newId', () => {
  it('gives distinct well-formed ids across many refills of its random pool', () => {
    // 4096-byte pool, 20 bytes an id: 10,000 ids refill it about 50 times.
    const ids = Array.from({ length: 10_000 }, () => newId('ver'))
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids) {
      expect(id).toMatch(/^ver_[a-z2-7]{20}$/)
      expect(isId('ver', id)).toBe(true)
    }
    // Every character of the alphabet, about equally often (200,000 draws of 32).
    const counts = new Map<string, number>()
    for (const id of ids) for (const ch of id.slice(4)) counts.set(ch, (counts.get(ch) ?? 0) + 1)
    expect(counts.size).toBe(32)
    for (const n of counts.values()) expect(Math.abs(n - 6250)).toBeLessThan(600)
  })
})
