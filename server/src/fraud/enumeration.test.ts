/**
 * Enumeration: a start for a new number, a number that verified before, and a blocked number
 * must not differ in status, body shape or timing, or an attacker could sort numbers by them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'

const PER_GROUP = 60

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** Share of pairs where a sample of `a` is slower than one of `b` (0.5 = same distribution). */
function probabilityOfSlower(a: number[], b: number[]): number {
  let wins = 0
  for (const x of a) for (const y of b) wins += x > y ? 1 : x === y ? 0.5 : 0
  return wins / (a.length * b.length)
}

// Numbers in distinct ranges, so that only the rules below can see them.
const number = (group: number, i: number) =>
  `+4474${String(group * 2 + 10)}${String(100_000 + i * 7_919).slice(-6)}`

describe.each(DIALECTS)('new, known and blocked numbers look the same on %s', (dialect) => {
  let h: Harness
  let publishableKey: string
  const samples: Record<'new' | 'known' | 'blocked', { ms: number[]; bodies: unknown[] }> = {
    new: { ms: [], bodies: [] },
    known: { ms: [], bodies: [] },
    blocked: { ms: [], bodies: [] },
  }

  beforeAll(async () => {
    h = await createHarness(dialect)
    const project = await h.project({
      fraudSettings: {
        // Recorded, not enforced: this synthetic traffic enters few codes on purpose.
        conversion: { mode: 'shadow' },
        velocity: {
          rules: [
            { scope: 'phone', window: '1h', challengeAt: 3, blockAt: 8 },
            { scope: 'ip', window: '10m', challengeAt: 1000 },
          ],
        },
      },
    })
    publishableKey = project.publishableKey
    const start = (phone: string) =>
      h.call('POST', '/v1/verifications', {
        key: publishableKey,
        body: { phone, consent: { accepted: true } },
        headers: { 'X-Forwarded-For': '198.51.100.20' },
      })
    // Known numbers verified once before; blocked numbers are on the block list.
    for (let i = 0; i < PER_GROUP; i++) {
      const phone = number(1, i)
      const started = await start(phone)
      const [code] = await h.inbox(project.secretKey, phone)
      await h.call('POST', `/v1/verifications/${started.json.id}/check`, {
        key: publishableKey,
        body: { code },
      })
      await h.call('POST', '/v1/fraud/lists', {
        key: project.secretKey,
        body: { list: 'block', kind: 'phone', value: number(2, i) },
      })
    }
    // Warm-up, then the three groups interleaved in a shuffled order.
    for (let i = 0; i < 10; i++) await start(number(3, i))
    const order = Array.from({ length: PER_GROUP * 3 }, (_, k) => k).sort(() => Math.random() - 0.5)
    for (const k of order) {
      const group = (['new', 'known', 'blocked'] as const)[k % 3]!
      const phone = number(group === 'new' ? 0 : group === 'known' ? 1 : 2, Math.floor(k / 3))
      const t0 = performance.now()
      const res = await start(phone)
      samples[group].ms.push(performance.now() - t0)
      samples[group].bodies.push({ status: res.status, json: res.json })
    }
  }, 60_000)

  afterAll(async () => {
    await h.dispose()
  })

  it('same status and body shape', async () => {
    const shape = (body: unknown) => {
      const { status, json } = body as { status: number; json: Record<string, unknown> }
      return {
        status,
        keys: Object.keys(json).sort(),
        to: typeof json.to === 'string' ? json.to.replace(/\d{2}$/, 'NN') : null,
        attemptsLeft: json.attemptsLeft,
        codeLength: json.codeLength,
      }
    }
    const expected = shape(samples.new.bodies[0])
    expect(expected.status).toBe(201)
    for (const group of ['new', 'known', 'blocked'] as const) {
      for (const body of samples[group].bodies) expect(shape(body)).toEqual(expected)
    }
  })

  it('timing distributions that cannot be told apart', () => {
    const medians = {
      new: median(samples.new.ms),
      known: median(samples.known.ms),
      blocked: median(samples.blocked.ms),
    }
    const pairs = [
      ['blocked', 'new'],
      ['known', 'new'],
      ['blocked', 'known'],
    ] as const
    for (const [a, b] of pairs) {
      // 0.5 means neither is slower. A real leak (a path skipping a write or a hash) shows as
      // 0 or 1 here; within 0.15–0.85 the gap is smaller than this machine's own jitter.
      const p = probabilityOfSlower(samples[a].ms, samples[b].ms)
      expect(p, `${a} vs ${b}: medians ${JSON.stringify(medians)}`).toBeGreaterThan(0.15)
      expect(p, `${a} vs ${b}: medians ${JSON.stringify(medians)}`).toBeLessThan(0.85)
    }
  })
})
