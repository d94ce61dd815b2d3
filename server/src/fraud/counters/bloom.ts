/**
 * Bloom filters of strings: "certainly never added" or "maybe added", in a fixed number of bits.
 * The write-behind counters use them ({@link KnownRows}) to tell a counter that has no row in the
 * database (most keys of a start are new: its number, its address) without asking the database.
 * @module
 */

/** Two independent hashes of a string: a filter's probes are combinations of them. */
export type Hashes = readonly [number, number]

/**
 * FNV-1a over the string's UTF-16 code units from two seeds, in one pass (a start hashes two
 * dozen row ids of about 50 characters).
 */
export function hashesOf(text: string): Hashes {
  let h1 = 0x811c9dc5
  let h2 = 0x5bd1e995
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ code, 0x01000193)
    h2 = Math.imul(h2 ^ code, 0x01000193)
  }
  return [h1 >>> 0, (h2 >>> 0) | 1]
}

/** Murmur3's finaliser: every bit of `h` moves about half the bits of the result. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * The hashes of a counter's row from its row key's {@link hashesOf} and the start of its window
 * (ms): a counter's key is hashed once, not each of its rows' names.
 */
export function rowHashes(h1: number, h2: number, bucket: number): Hashes {
  // Windows start on whole seconds at least: seconds fit in 32 bits until 2106.
  const seconds = Math.floor(bucket / 1000) >>> 0
  return [
    mix(h1 ^ Math.imul(seconds, 0x9e3779b1)),
    (mix(h2 + Math.imul(seconds, 0x7feb352d)) | 1) >>> 0,
  ]
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
    this.addHashed(hashesOf(text))
  }

  /** {@link add} with the string's hashes (see {@link hashesOf}), to test several filters. */
  addHashed([h1, h2]: Hashes): void {
    for (let i = 0; i < this.#probes; i++) {
      const at = ((h1 + Math.imul(i, h2)) >>> 0) % this.#size
      this.#bits[at >>> 5] = (this.#bits[at >>> 5] ?? 0) | (1 << (at & 31))
    }
    this.#added++
  }

  /** False: `text` was certainly never added. True: it may have been. */
  has(text: string): boolean {
    return this.hasHashed(hashesOf(text))
  }

  hasHashed([h1, h2]: Hashes): boolean {
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

const HOUR_MS = 3_600_000

/**
 * Strings a partition's first filter is sized for (307 KiB), each next one twice as large. Few
 * partitions fill at once (a day's counters share one: their rows all expire two days on).
 */
const FIRST_LAYER = 131_072

/**
 * Each filter's false positives at capacity: a start checks about two dozen rows, and each
 * false "maybe" costs the batch a read (a round trip on PostgreSQL) and a wait behind any
 * flush under way; at 0.1 % one start in a hundred paid that wait, at the tail of latency.
 */
const FALSE_POSITIVES = 0.0001

/**
 * Which counter rows may exist, by the hour their rows expire in: a partition per hour, each a
 * stack of Bloom filters (a full one gets a larger one on top), dropped once the hour is past.
 * So it never needs rebuilding from the table and holds only rows that can still be read.
 */
export class KnownRows {
  readonly #partitions = new Map<number, BloomFilter[]>()
  /** Partitions before this hour were dropped: what they held is unknown. */
  #dropped = Number.NEGATIVE_INFINITY

  /** Adds the row of `rowKey`'s window starting at `bucket`, expiring at `expiresAt`. */
  add(rowKey: string, bucket: number, expiresAt: number): void {
    this.addHashed(expiresAt, rowHashes(...hashesOf(rowKey), bucket))
  }

  /** {@link add} by the row's hashes (see {@link rowHashes}). */
  addHashed(expiresAt: number, hashes: Hashes): void {
    const hour = Math.floor(expiresAt / HOUR_MS)
    let layers = this.#partitions.get(hour)
    if (!layers) {
      layers = [new BloomFilter(FIRST_LAYER, FALSE_POSITIVES)]
      this.#partitions.set(hour, layers)
    }
    let top = layers.at(-1) as BloomFilter
    if (top.added >= top.capacity) {
      top = new BloomFilter(top.capacity * 2, FALSE_POSITIVES)
      layers.push(top)
    }
    top.addHashed(hashes)
  }

  /** False only when that row (expiring at `expiresAt`) certainly does not exist. */
  mayExist(rowKey: string, bucket: number, expiresAt: number): boolean {
    return this.mayExistHashed(expiresAt, rowHashes(...hashesOf(rowKey), bucket))
  }

  /** {@link mayExist} by the row's hashes (see {@link rowHashes}). */
  mayExistHashed(expiresAt: number, hashes: Hashes): boolean {
    const hour = Math.floor(expiresAt / HOUR_MS)
    if (hour < this.#dropped) return true
    const layers = this.#partitions.get(hour)
    if (!layers) return false
    for (const layer of layers) if (layer.hasHashed(hashes)) return true
    return false
  }

  /** Drops the partitions of rows that expired over an hour before `now`. */
  prune(now: number): void {
    const keep = Math.floor(now / HOUR_MS) - 1
    if (keep <= this.#dropped) return
    for (const hour of this.#partitions.keys()) if (hour < keep) this.#partitions.delete(hour)
    this.#dropped = keep
  }

  get bytes(): number {
    let bytes = 0
    for (const layers of this.#partitions.values()) for (const l of layers) bytes += l.bytes
    return bytes
  }
}
