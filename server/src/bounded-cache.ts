/**
 * A bounded memo that costs O(1) a call however it is used. Dropping a Map's oldest entry with
 * `map.keys().next()` scans past every entry deleted before it, so a full Map that drops one
 * entry per new key (a cache of per-request values: addresses, numbers) pays for thousands of
 * holes on each miss. Here entries live in two generations: when the current one is full it
 * becomes the previous one and the one before is dropped whole. A hit in the previous
 * generation moves the entry forward, so what is in use stays.
 * @module
 */
export class BoundedCache<K, V> {
  #current = new Map<K, V>()
  #previous = new Map<K, V>()

  /** @param perGeneration entries a generation holds: the cache keeps at most twice as many. */
  constructor(private readonly perGeneration: number) {}

  get(key: K): V | undefined {
    const value = this.#current.get(key)
    if (value !== undefined) return value
    const old = this.#previous.get(key)
    if (old !== undefined) this.set(key, old)
    return old
  }

  set(key: K, value: V): void {
    if (this.#current.size >= this.perGeneration) {
      this.#previous = this.#current
      this.#current = new Map()
    }
    this.#current.set(key, value)
  }

  /** The value for `key`, made by `make` when not kept. */
  getOrSet(key: K, make: (key: K) => V): V {
    let value = this.get(key)
    if (value === undefined) {
      value = make(key)
      this.set(key, value)
    }
    return value
  }

  get size(): number {
    return this.#current.size + this.#previous.size
  }
}
