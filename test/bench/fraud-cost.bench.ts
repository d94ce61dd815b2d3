/**
 * `pnpm bench:fraud`: what the destination check (destination risk weighed with caller signals)
 * costs on the start path. One in-process app over loopback HTTP per dialect, two projects with
 * live keys — the destination check on, and off — and starts with their own numbers, addresses
 * and device ids, 10 in flight, in alternating rounds (off, on, off, on …) so that a busy machine
 * weighs on both alike. Prints starts per second of each and the ratio; the other checks run in
 * full in both, their limits raised (as in `pnpm bench`) so nothing is refused or decoyed.
 *
 * Env: FRAUD_BENCH_STARTS (per round, 600), FRAUD_BENCH_ROUNDS (3), DIALECTS.
 * @module
 */
import { createApiKey, createProject } from '@textgate/server/projects'
import { DIALECTS } from '@textgate/server/testing/storage'
import { BROWSER_AGENT, humanSignals, seededRandom } from './attack/actors'
import { createWorld, type World } from './attack/world'

const STARTS = Number(process.env.FRAUD_BENCH_STARTS ?? 600)
const ROUNDS = Number(process.env.FRAUD_BENCH_ROUNDS ?? 3)
const IN_FLIGHT = 10
const HIGH = 1_000_000_000

const raised = {
  velocity: { mode: 'off' as const },
  conversion: { challengeBelow: 0, blockBelow: 0 },
  spend: { dailyProjectCap: HIGH, dailyCountryCap: HIGH },
  // Great Britain's budgets raised: every start takes the whole path, none is challenged.
  destinations: {
    budgetPerHour: { low: HIGH, medium: HIGH, high: HIGH },
    unconvertedPerDay: { low: HIGH, medium: HIGH, high: HIGH },
    // Its prefixes' too: the synthetic numbers are consecutive, a few blocks of 100 000.
    prefix: {
      budgetPerHour: { low: HIGH, medium: HIGH, high: HIGH },
      unconvertedPerDay: { low: HIGH, medium: HIGH, high: HIGH },
    },
  },
}

async function round(world: World, key: string, offset: number): Promise<number> {
  const random = seededRandom(offset)
  let next = 0
  let errors = 0
  const began = performance.now()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < STARTS) {
        const i = offset + next++
        const phone = `+4474${String(10_000_000 + i).slice(-8)}`
        const res = await fetch(`${world.url}/v1/verifications`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${key}`,
            Origin: world.origin,
            'Content-Type': 'application/json',
            'User-Agent': BROWSER_AGENT,
            'X-Forwarded-For': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          },
          body: JSON.stringify({
            phone,
            consent: { accepted: true },
            signals: humanSignals(random, `bench-device-${i}-xxxxxxxx`, phone),
          }),
        })
        const text = await res.text()
        if (res.status !== 201 && errors++ === 0) console.error(res.status, text)
      }
    }),
  )
  if (errors > 0) throw new Error(`${errors} starts were not 201`)
  return STARTS / ((performance.now() - began) / 1000)
}

for (const dialect of DIALECTS) {
  const world = await createWorld({ dialect })
  try {
    const keys: Record<'on' | 'off', string> = { on: '', off: '' }
    for (const which of ['on', 'off'] as const) {
      const { project } = await createProject(world.db, {
        name: `Bench ${which}`,
        origins: [world.origin],
        fraudSettings: {
          ...raised,
          destinations: { ...raised.destinations, mode: which === 'on' ? 'enforce' : 'off' },
          callers: { mode: which === 'on' ? 'enforce' : 'off' },
        },
      })
      keys[which] = await createApiKey(world.db, project.id, 'publishable', 'live')
    }
    const rates: Record<'on' | 'off', number[]> = { on: [], off: [] }
    // Every round takes the next numbers; the first two warm up.
    let rounds = 0
    const nextOffset = () => ++rounds * STARTS
    await round(world, keys.off, nextOffset())
    await round(world, keys.on, nextOffset())
    for (let r = 0; r < ROUNDS; r++) {
      for (const which of ['off', 'on'] as const) {
        rates[which].push(await round(world, keys[which], nextOffset()))
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const off = mean(rates.off)
    const on = mean(rates.on)
    console.log(
      `${dialect}: starts/s with the destination check off ${off.toFixed(0)} (rounds ${rates.off.map((x) => x.toFixed(0)).join(', ')}), on ${on.toFixed(0)} (rounds ${rates.on.map((x) => x.toFixed(0)).join(', ')}): on/off = ${(on / off).toFixed(3)} (cost ${((1 - on / off) * 100).toFixed(1)} %)`,
    )
  } finally {
    await world.close()
  }
}
