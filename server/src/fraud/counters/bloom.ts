/**
 * A Bloom filter of strings: "certainly never added" or "maybe added", in a fixed number of
 * bits. The write-behind counters use one to tell a counter that has no row in the database
 * (most keys of a start are new: its number, its address) without asking the database.
 * @module
 */

/** FNV-1a over the string's UTF-16 code units, from `seed`. */
function fnv1a(text: string, seed: number): number {
  let hash = seed
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

export class BloomFilter {
  readonly #bits: Uint32Array
  readonly #size: number
  readonly #probes: number
  #added = 0

  /**
   * @param capacity strings it is sized for: past it, false positives grow past the rate.
   * @param falsePositiveRate share of never-added strings answered "maybe", at capacity.
   */
  constructor(
    readonly capacity: number,
    falsePositiveRate = 0.01,
  ) {
    const bits = Math.ceil((-capacity * Math.log(falsePositiveRate)) / Math.LN2 ** 2)
    this.#size = Math.max(64, Math.ceil(bits / 32) * 32)
    this.#bits = new Uint32Array(this.#size / 32)
    this.#probes = Math.max(1, Math.round((this.#size / capacity) * Math.LN2))
  }

  add(text: string): void {
    const h1 = fnv1a(text, 0x811c9dc5)
    const h2 = fnv1a(text, 0x5bd1e995) | 1
    for (let i = 0; i < this.#probes; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0
      const at = bit % this.#size
      this.#bits[at >>> 5] = (this.#bits[at >>> 5] ?? 0) | (1 << (at & 31))
    }
    this.#added++
  }

  /** False: `text` was certainly never added. True: it may have been. */
  has(text: string): boolean {
    const h1 = fnv1a(text, 0x811c9dc5)
    const h2 = fnv1a(text, 0x5bd1e995) | 1
    for (let i = 0; i < this.#probes; i++) {
      const at = ((h1 + Math.imul(i, h2)) >>> 0) % this.#size
      if (((this.#bits[at >>> 5] ?? 0) & (1 << (at & 31))) === 0) return false
    }
    return true
  }

  /** Strings added (with repeats): past `capacity` the filter should be rebuilt. */
  get added(): number {
    return this.#added
  }

  /** Bytes of the bit array. */
  get bytes(): number {
    return this.#bits.byteLength
  }
}
