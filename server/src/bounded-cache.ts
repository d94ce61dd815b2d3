/**
 * A bounded memo that costs O(1) a call however it is used. Dropping a Map's oldest entry with
 * `map.keys().next()` scans past every entry deleted before it, so a full Map that drops one
 * entry per new key (a cache of per-request values: addresses, numbers) pays for thousands of
 * holes on each miss. Here entries live in two generations: when the current one is full it
 * becomes the previous one and the one before is dropped whole. A hit in the previous
 * generation moves the entry forward, so what is in use stays.
 *
 * With `young`, a new entry waits in two small generations of its own and enters the cache
 * only when asked for again once the one it was set in has turned over (asking again at once,
 * in the same request, does not count). A value asked for once (a request's own number or
 * address) then lives a few requests in maps that stay in V8's young generation, instead of
 * filling a generation of thousands for seconds: such a map is in the old generation by then,
 * and every rehash as it grows allocates its table there (see ./in-flight).
 * @module
 */
export class BoundedCache<K, V> {
  #current = new Map<K, V>()
  #previous = new Map<K, V>()
  #young = new Map<K, V>()
  #youngBefore = new Map<K, V>()
  readonly #youngSize: number

  /**
   * @param perGeneration entries a generation holds: the cache keeps at most twice as many.
   * @param options.young entries a young generation holds (0: new entries enter at once).
   */
  constructor(
    private readonly perGeneration: number,
    { young = 0 }: { young?: number } = {},
  ) {
    this.#youngSize = young
  }

  get(key: K): V | undefined {
    const value = this.#current.get(key)
    if (value !== undefined) return value
    const old = this.#previous.get(key)
    if (old !== undefined) {
      this.#keep(key, old)
      return old
    }
    if (this.#youngSize === 0) return undefined
    const young = this.#young.get(key)
    if (young !== undefined) return young
    const older = this.#youngBefore.get(key)
    if (older !== undefined) this.#keep(key, older)
    return older
  }

  set(key: K, value: V): void {
    if (this.#youngSize === 0) {
      this.#keep(key, value)
      return
    }
    if (this.#young.size >= this.#youngSize) {
      this.#youngBefore = this.#young
      this.#young = new Map()
    }
    this.#young.set(key, value)
  }

  #keep(key: K, value: V): void {
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
    return this.#current.size + this.#previous.size + this.#young.size + this.#youngBefore.size
  }
}
