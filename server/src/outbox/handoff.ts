/**
 * Texts this process enqueued already claimed by its own dispatcher, waiting in memory to be
 * sent. A start that writes its text with such a claim hands the text over after its commit,
 * so the dispatcher sends it without claiming it back from the database (a claim, a read of the
 * text and a status write saved per batch, and no statement at all for a text that arrives
 * alone).
 *
 * The database stays the truth: the row is claimed like any other, so a crash leaves it to be
 * claimed again once the claim expires. A text not taken from memory within `maxAgeMs` (the
 * carriers are slow and the window is full) is released instead: its claim is cleared, and a
 * database claim takes it with the usual checks (the code still usable, the verification still
 * pending), which memory cannot vouch for after that long.
 * @module
 */
import type { Claimed } from './claim'

export interface HandoffQueue {
  /** Whether another text may be claimed for the queue (it holds fewer than `capacity`). */
  hasRoom(): boolean
  push(claimed: Claimed, at: number): void
  /** Up to `count` texts, oldest first; those older than `maxAgeMs` go to the released list. */
  take(count: number, now: number): Claimed[]
  /** Outbox ids whose claims are to be cleared (texts that waited too long), once. */
  takeReleased(): string[]
  /** Everything still waiting, for a stopping dispatcher to release; empties the queue. */
  clear(): string[]
  readonly size: number
}

interface Item {
  claimed: Claimed
  at: number
}

export function createHandoffQueue({
  capacity,
  maxAgeMs,
}: {
  capacity: number
  maxAgeMs: number
}): HandoffQueue {
  let items: (Item | undefined)[] = []
  let head = 0
  let released: string[] = []

  /**
   * The oldest item, its slot emptied: a taken text (its row, its encrypted body) must not stay
   * reachable from the array until the next compaction, or every text in flight outlives the
   * young generation and is copied into the old one.
   */
  function shift(): Item {
    const item = items[head] as Item
    items[head++] = undefined
    return item
  }

  function compact(): void {
    if (head > 1024 && head * 2 > items.length) {
      items = items.slice(head)
      head = 0
    }
  }

  return {
    hasRoom: () => items.length - head < capacity,
    push(claimed, at) {
      items.push({ claimed, at })
    },
    take(count, now) {
      const taken: Claimed[] = []
      while (head < items.length && taken.length < count) {
        const item = shift()
        if (now - item.at > maxAgeMs) released.push(item.claimed.row.id)
        else taken.push(item.claimed)
      }
      // Stale items behind a full window are released too, not kept waiting.
      while (head < items.length && now - (items[head] as Item).at > maxAgeMs) {
        released.push(shift().claimed.row.id)
      }
      compact()
      return taken
    },
    takeReleased() {
      const ids = released
      released = []
      return ids
    },
    clear() {
      const ids = [...released, ...items.slice(head).map((item) => (item as Item).claimed.row.id)]
      items = []
      head = 0
      released = []
      return ids
    },
    get size() {
      return items.length - head
    },
  }
}
