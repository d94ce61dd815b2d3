import { describe, expect, it } from 'vitest'
import { BoundedCache } from './bounded-cache'

describe('BoundedCache', () => {
  it('keeps at most two generations, and what is in use stays', () => {
    const cache = new BoundedCache<string, number>(3)
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, i)
    expect(cache.size).toBeLessThanOrEqual(6)
    expect(cache.get('k0')).toBeUndefined()
    expect(cache.get('k99')).toBe(99)
    // A hot key read now and then survives any number of new keys.
    const hot = new BoundedCache<string, number>(3)
    hot.set('hot', 1)
    for (let i = 0; i < 100; i++) {
      hot.set(`k${i}`, i)
      expect(hot.get('hot')).toBe(1)
    }
  })

  it('makes a value once while it is kept', () => {
    const cache = new BoundedCache<string, string>(10)
    let made = 0
    const make = (key: string) => {
      made++
      return key.toUpperCase()
    }
    expect(cache.getOrSet('a', make)).toBe('A')
    expect(cache.getOrSet('a', make)).toBe('A')
    expect(made).toBe(1)
  })
})
