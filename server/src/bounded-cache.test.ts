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

  it('with young generations, keeps a value asked for once only a few sets long', () => {
    const cache = new BoundedCache<string, number>(1_000, { young: 4 })
    cache.set('once', 0)
    // Asked again at once (the same request): still there, not admitted.
    expect(cache.get('once')).toBe(0)
    for (let i = 0; i < 8; i++) cache.set(`k${i}`, i)
    expect(cache.get('once')).toBeUndefined()
    // Never more than the two young generations hold, however many are set once.
    for (let i = 0; i < 1_000; i++) cache.set(`n${i}`, i)
    expect(cache.size).toBeLessThanOrEqual(8)
  })

  it('with young generations, admits a value asked for again after its generation turned', () => {
    const cache = new BoundedCache<string, number>(1_000, { young: 4 })
    cache.set('shared', 1)
    for (let i = 0; i < 4; i++) cache.set(`a${i}`, i)
    // In the older young generation now: this ask admits it to the cache.
    expect(cache.get('shared')).toBe(1)
    for (let i = 0; i < 1_000; i++) {
      cache.set(`n${i}`, i)
      if (i % 100 === 0) expect(cache.get('shared')).toBe(1)
    }
    expect(cache.get('shared')).toBe(1)
  })
})
