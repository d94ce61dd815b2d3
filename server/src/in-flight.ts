/**
 * What is under way, kept without a long-lived Map or Set that gains and loses an entry per
 * request. On this Node (V8 11), once such a collection has been promoted, every rehash of its
 * table (when it fills with deleted entries, or shrinks as it empties) allocates the new table
 * straight in the old generation: about 50 bytes of old-generation garbage per add and delete
 * (`in-flight.test.ts` measures it), a few per start, which filled the old generation for the
 * mark-compacts behind the half-rate tail. A ring of slots reuses its memory.
 * @module
 */

/**
 * Promises under way (writes behind an answer, calls into a table), for a close or a hand-over
 * that waits for them: each has a slot in a ring while it is unsettled.
 * @example
 * const behind = new InFlight()
 * behind.track(writeTally())
 * await behind.settled()
 */
export class InFlight {
  readonly #unsettled = new WaitingById<true>()
  /** Who waits for every promise tracked before `upTo` to settle. */
  #waiters: { upTo: number; resolve(): void }[] = []

  /** Tracks `work` until it settles; returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    const id = this.#unsettled.add(true)
    const settled = () => {
      this.#unsettled.take(id)
      if (this.#waiters.length === 0) return
      const oldest = this.#unsettled.oldest
      const waiting = this.#waiters
      this.#waiters = []
      for (const waiter of waiting) {
        if (waiter.upTo <= oldest) waiter.resolve()
        else this.#waiters.push(waiter)
      }
    }
    work.then(settled, settled)
    return work
  }

  /** How many tracked promises have not settled. */
  get size(): number {
    return this.#unsettled.size
  }

  /** Resolves once every promise tracked so far has settled (as `Promise.allSettled`). */
  settled(): Promise<void> {
    const upTo = this.#unsettled.next
    if (this.#unsettled.oldest >= upTo) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ upTo, resolve }))
  }
}

const FIRST_SLOTS = 16
/** A ring larger than this goes back to {@link FIRST_SLOTS} slots when it empties. */
const SHRINK_ABOVE = 1024

/**
 * Values waiting for an answer by a number handed out in order (messages to a thread, requests
 * on a connection): a ring of slots, grown when more are waiting than it holds, and back to its
 * first size once nothing waits in a ring grown past {@link SHRINK_ABOVE} slots (a burst does not
 * keep its memory).
 * @example
 * const id = waiting.add({ resolve, reject })
 * waiting.take(answer.id)?.resolve(answer.value)
 */
export class WaitingById<T> {
  #slots: (T | undefined)[] = new Array(FIRST_SLOTS).fill(undefined)
  /** The oldest number still waiting, or `#next` when none is. */
  #oldest = 0
  #next = 0
  #size = 0

  /** Keeps `value` until taken; returns its number. */
  add(value: T): number {
    if (this.#next - this.#oldest === this.#slots.length) this.#grow()
    const id = this.#next++
    this.#slots[id % this.#slots.length] = value
    this.#size++
    return id
  }

  /** The value waiting under `id`, no longer kept; undefined when none is. */
  take(id: number): T | undefined {
    if (!Number.isInteger(id) || id < this.#oldest || id >= this.#next) return undefined
    const slot = id % this.#slots.length
    const value = this.#slots[slot]
    if (value === undefined) return undefined
    this.#slots[slot] = undefined
    this.#size--
    if (this.#size === 0) {
      this.#oldest = this.#next
      if (this.#slots.length > SHRINK_ABOVE) this.#slots = new Array(FIRST_SLOTS).fill(undefined)
      return value
    }
    while (
      this.#oldest < this.#next &&
      this.#slots[this.#oldest % this.#slots.length] === undefined
    )
      this.#oldest++
    return value
  }

  /** How many values wait. */
  get size(): number {
    return this.#size
  }

  /** How many values the ring holds before it grows. */
  get capacity(): number {
    return this.#slots.length
  }

  /** The lowest number still waiting; {@link next} when none is. */
  get oldest(): number {
    return this.#oldest
  }

  /** The number the next value added will have. */
  get next(): number {
    return this.#next
  }

  /** Every value waiting, no longer kept (oldest first). */
  takeAll(): T[] {
    const all: T[] = []
    for (let id = this.#oldest; id < this.#next; id++) {
      const value = this.take(id)
      if (value !== undefined) all.push(value)
    }
    return all
  }

  #grow() {
    const slots: (T | undefined)[] = new Array(2 * this.#slots.length).fill(undefined)
    for (let id = this.#oldest; id < this.#next; id++) {
      slots[id % slots.length] = this.#slots[id % this.#slots.length]
    }
    this.#slots = slots
  }
}

/**
 * Work under way by key (a keyed request this process is still answering), for a repeat of it to
 * wait for. Few are under way at once (one a connection at most), so the keys sit in an array
 * scanned in order and reused: no Map gains and loses an entry per request (see above). A
 * thousand under way cost a start about a thousand string comparisons that differ early.
 * @example
 * const first = underWay.get(key)
 * if (first) await first.catch(() => {})
 * else await underWay.track(key, answer())
 */
export class UnderWayByKey {
  #keys: (string | undefined)[] = []
  #work: (Promise<unknown> | undefined)[] = []
  #size = 0

  /** The work under way for `key`, if any. */
  get(key: string): Promise<unknown> | undefined {
    for (let i = 0; i < this.#size; i++) if (this.#keys[i] === key) return this.#work[i]
    return undefined
  }

  /** Keeps `work` under `key` until it settles; returns it. */
  track<T>(key: string, work: Promise<T>): Promise<T> {
    const at = this.#size++
    this.#keys[at] = key
    this.#work[at] = work
    const settled = () => {
      const i = this.#work.indexOf(work)
      if (i < 0 || i >= this.#size) return
      // The last slot moves into the freed one.
      const last = --this.#size
      this.#keys[i] = this.#keys[last]
      this.#work[i] = this.#work[last]
      this.#keys[last] = undefined
      this.#work[last] = undefined
      // A burst's arrays go once nothing is under way, as a ring's do.
      if (last === 0 && this.#keys.length > SHRINK_ABOVE) {
        this.#keys = []
        this.#work = []
      }
    }
    work.then(settled, settled)
    return work
  }

  /** How many keys have work under way. */
  get size(): number {
    return this.#size
  }
}
