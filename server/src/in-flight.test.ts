import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { InFlight, UnderWayByKey, WaitingById } from './in-flight'

/** A promise and the functions that settle it. */
function deferred() {
  let resolve = () => {}
  let reject = (_: unknown) => {}
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const turns = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise(setImmediate)
}

describe('InFlight', () => {
  it('settles once every promise tracked so far has, whichever order they settle in', async () => {
    const work = new InFlight()
    const [a, b, c] = [deferred(), deferred(), deferred()]
    work.track(a.promise)
    work.track(b.promise.catch(() => {}))
    let settled = false
    void work.settled().then(() => {
      settled = true
    })
    // Tracked after the wait began: not waited for.
    work.track(c.promise)
    expect(work.size).toBe(3)
    b.reject(new Error('a failed write still settles'))
    await turns()
    expect(settled).toBe(false)
    a.resolve()
    await turns()
    expect(settled).toBe(true)
    expect(work.size).toBe(1)
    c.resolve()
    await turns()
    expect(work.size).toBe(0)
    await work.settled()
  })

  it('returns the promise it tracks, rejections included', async () => {
    const work = new InFlight()
    await expect(work.track(Promise.resolve(7))).resolves.toBe(7)
    await expect(work.track(Promise.reject(new Error('no')))).rejects.toThrow('no')
    await work.settled()
    expect(work.size).toBe(0)
  })
})

describe('WaitingById', () => {
  it('hands each value back once, by its number, in any order, past its first ring', () => {
    const waiting = new WaitingById<string>()
    const ids = Array.from({ length: 100 }, (_, i) => waiting.add(`v${i}`))
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(waiting.size).toBe(100)
    // Odd ones first, then even ones backwards.
    for (let i = 1; i < 100; i += 2) expect(waiting.take(i)).toBe(`v${i}`)
    expect(waiting.take(1)).toBeUndefined()
    expect(waiting.oldest).toBe(0)
    for (let i = 98; i >= 0; i -= 2) expect(waiting.take(i)).toBe(`v${i}`)
    expect(waiting.size).toBe(0)
    expect(waiting.oldest).toBe(100)
    // Numbers never handed out, or taken, give nothing.
    for (const id of [-1, 0, 100, 1.5, Number.NaN]) expect(waiting.take(id)).toBeUndefined()
  })

  it('keeps numbers apart when a slow one holds its slot while many come and go', () => {
    const waiting = new WaitingById<number>()
    const slow = waiting.add(-1)
    for (let i = 0; i < 1_000; i++) expect(waiting.take(waiting.add(i))).toBe(i)
    expect(waiting.size).toBe(1)
    expect(waiting.takeAll()).toEqual([-1])
    expect(waiting.take(slow)).toBeUndefined()
  })

  it('gives back the memory of a burst once nothing waits, and goes on numbering', () => {
    const waiting = new WaitingById<number>()
    const burst = Array.from({ length: 5_000 }, (_, i) => waiting.add(i))
    expect(waiting.capacity).toBeGreaterThanOrEqual(5_000)
    for (const id of burst.slice(0, -1)) waiting.take(id)
    // One still waits: the ring keeps its size.
    expect(waiting.capacity).toBeGreaterThanOrEqual(5_000)
    expect(waiting.take(4_999)).toBe(4_999)
    expect(waiting.capacity).toBe(16)
    expect(waiting.oldest).toBe(5_000)
    const ids = Array.from({ length: 40 }, (_, i) => waiting.add(100 + i))
    expect(ids[0]).toBe(5_000)
    expect(ids.map((id) => waiting.take(id))).toEqual(ids.map((_, i) => 100 + i))
    // A burst of 1,024 or fewer keeps its ring: the next one will need it again.
    const kept = Array.from({ length: 1_000 }, (_, i) => waiting.add(i))
    for (const id of kept) waiting.take(id)
    expect(waiting.size).toBe(0)
    expect(waiting.capacity).toBe(1_024)
  })
})

describe('UnderWayByKey', () => {
  it('finds the work under way by its key until it settles, in any order', async () => {
    const underWay = new UnderWayByKey()
    const works = Array.from({ length: 20 }, () => deferred())
    works.forEach((work, i) => {
      underWay.track(`k${i}`, work.promise).catch(() => {})
    })
    expect(underWay.size).toBe(20)
    expect(underWay.get('k7')).toBe(works[7]?.promise)
    expect(underWay.get('k20')).toBeUndefined()
    // Settled out of order, rejections too: the others are still found.
    for (const i of [7, 0, 19, 3]) {
      if (i === 19) works[i]?.reject(new Error('refused'))
      else works[i]?.resolve()
    }
    await turns()
    expect(underWay.size).toBe(16)
    for (const i of [7, 0, 19, 3]) expect(underWay.get(`k${i}`)).toBeUndefined()
    for (const i of [1, 2, 4, 18]) expect(underWay.get(`k${i}`)).toBe(works[i]?.promise)
    for (const work of works) work.resolve()
    await turns()
    expect(underWay.size).toBe(0)
    expect(underWay.get('k1')).toBeUndefined()
  })

  it('takes a key again once its work settled, and keeps a burst apart', async () => {
    const underWay = new UnderWayByKey()
    const burst = Array.from({ length: 3_000 }, (_, i) => {
      const work = deferred()
      underWay.track(`b${i}`, work.promise)
      return work
    })
    expect(underWay.get('b2999')).toBe(burst[2999]?.promise)
    for (const work of burst) work.resolve()
    await turns()
    expect(underWay.size).toBe(0)
    const again = deferred()
    expect(underWay.track('b1', again.promise)).toBe(again.promise)
    expect(underWay.get('b1')).toBe(again.promise)
    again.resolve()
    await turns()
    expect(underWay.get('b1')).toBeUndefined()
  })
})

describe('what these save (this Node)', () => {
  it('a long-lived Map churned per request makes old-generation garbage; these do not', () => {
    // V8's own figures, in a child with --expose-gc: the old space's growth per add-and-take
    // once the collection is in the old generation (young space large, so no scavenge promotes).
    const script = `
      import v8 from 'node:v8'
      const { InFlight, UnderWayByKey, WaitingById } = await import(${JSON.stringify(join(import.meta.dirname, 'in-flight.ts'))})
      const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size
      const perCycle = async (state, cycle) => {
        for (let i = 0; i < 1000; i++) await cycle(state, i)
        gc(); gc()
        const before = old()
        for (let i = 0; i < 50000; i++) await cycle(state, i)
        return (old() - before) / 50000
      }
      const done = Promise.resolve()
      const headers = Array.from({ length: 64 }, (_, i) => 'cart-' + (1e6 + i))
      console.log(JSON.stringify({
        map: await perCycle(new Map(), (m, i) => { m.set(i, i); m.delete(i) }),
        set: await perCycle(new Set(), (s, i) => { s.add(i); s.delete(i) }),
        inFlight: await perCycle(new InFlight(), (f) => f.track(done)),
        waitingById: await perCycle(new WaitingById(), (w, i) => { w.take(w.add(i)) }),
        // A key made per request, as a project's id and a header's value joined (a number
        // turned into a string would measure V8's number-string cache instead).
        underWayByKey: await perCycle(new UnderWayByKey(), (u, i) =>
          u.track('prj_1\\n' + headers[i % headers.length], done)),
      }))
    `
    const figures = JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--expose-gc',
          '--max-semi-space-size=64',
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          script,
        ],
        { encoding: 'utf8' },
      ),
    ) as Record<'map' | 'set' | 'inFlight' | 'waitingById' | 'underWayByKey', number>
    // Measured here: the Map and the Set 119-157 bytes a cycle, these 0.01-2.2 (UnderWayByKey
    // about 5: the joined key it holds for a moment).
    expect(figures.map).toBeGreaterThan(50)
    expect(figures.set).toBeGreaterThan(50)
    expect(figures.inFlight).toBeLessThan(10)
    expect(figures.waitingById).toBeLessThan(10)
    expect(figures.underWayByKey).toBeLessThan(10)
  })
})
