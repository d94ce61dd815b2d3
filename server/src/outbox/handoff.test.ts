import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import type { Claimed } from './claim'
import { createHandoffQueue } from './handoff'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** A text handed over: only its outbox id matters to the queue. */
const text = (id: string): Claimed =>
  ({ row: { id }, message: { id: `msg_${id}` }, plain: { body: `Your code is ${id}` } }) as never

const ids = (taken: Claimed[]) => taken.map((claimed) => claimed.row.id)

describe('the hand-over queue', () => {
  it('gives texts oldest first, up to the count asked, and keeps the rest', () => {
    const queue = createHandoffQueue({ capacity: 10, maxAgeMs: 1_000 })
    for (const id of ['a', 'b', 'c']) queue.push(text(id), 0)
    expect(ids(queue.take(2, 10))).toEqual(['a', 'b'])
    expect(queue.size).toBe(1)
    expect(ids(queue.take(5, 10))).toEqual(['c'])
    expect(queue.size).toBe(0)
  })

  it('has room below its capacity only', () => {
    const queue = createHandoffQueue({ capacity: 2, maxAgeMs: 1_000 })
    queue.push(text('a'), 0)
    expect(queue.hasRoom()).toBe(true)
    queue.push(text('b'), 0)
    expect(queue.hasRoom()).toBe(false)
    queue.take(1, 0)
    expect(queue.hasRoom()).toBe(true)
  })

  it('releases texts that waited too long, those behind a full window too, once', () => {
    const queue = createHandoffQueue({ capacity: 10, maxAgeMs: 100 })
    queue.push(text('old'), 0)
    queue.push(text('fresh'), 150)
    queue.push(text('old-behind'), 0)
    expect(ids(queue.take(1, 200))).toEqual(['fresh'])
    expect(queue.takeReleased()).toEqual(['old', 'old-behind'])
    expect(queue.takeReleased()).toEqual([])
    expect(queue.size).toBe(0)
  })

  it('clears to the ids of everything released or waiting', () => {
    const queue = createHandoffQueue({ capacity: 10, maxAgeMs: 100 })
    queue.push(text('old'), 0)
    queue.push(text('fresh'), 150)
    queue.push(text('waiting'), 150)
    queue.take(1, 200)
    expect(queue.clear()).toEqual(['old', 'waiting'])
    expect(queue.size).toBe(0)
    expect(queue.take(5, 200)).toEqual([])
  })

  it('keeps order across its compactions', () => {
    const queue = createHandoffQueue({ capacity: 5_000, maxAgeMs: 1_000 })
    for (let i = 0; i < 3_000; i++) queue.push(text(String(i)), 0)
    const seen: string[] = []
    while (queue.size > 0) seen.push(...ids(queue.take(7, 0)))
    expect(seen).toEqual(Array.from({ length: 3_000 }, (_, i) => String(i)))
  })

  // A text taken must not stay reachable from the queue: it holds the code in clear, and texts
  // kept until the next compaction (a thousand of them) outlive the young generation.
  it('holds no reference to a text once taken or released', async () => {
    const queue = createHandoffQueue({ capacity: 10, maxAgeMs: 100 })
    const refs: WeakRef<Claimed>[] = []
    const handOver = (id: string, at: number) => {
      const claimed = text(id)
      refs.push(new WeakRef(claimed))
      queue.push(claimed, at)
    }
    handOver('sent', 150)
    handOver('stale', 0)
    handOver('still-waiting', 150)
    expect(ids(queue.take(1, 200))).toEqual(['sent'])
    expect(queue.takeReleased()).toEqual(['stale'])
    // WeakRef targets live to the end of the job that made them.
    await new Promise((resolve) => setImmediate(resolve))
    gc()
    expect(refs.map((ref) => ref.deref()?.row.id)).toEqual([undefined, undefined, 'still-waiting'])
  })
})
