/**
 * `pnpm attack`: SMS-pumping scenarios replayed against a whole Textgate app with its default
 * fraud settings, on a fresh SQLite and PostgreSQL database each, over real HTTP on 127.0.0.1,
 * with a simulated clock (a day passes in seconds), mixed with real shoppers who read their code
 * and enter it. Each scenario runs over several seeds (random per run unless ATTACK_SEEDS fixes
 * them) and prints min / median / max of:
 *
 * - attack texts really sent as a share of attack starts (goal ≤ 2 %);
 * - real shoppers who could not verify (goal 0: a decoy, a refusal or a challenge they could not
 *   pass; challenged and solved is fine);
 * - the attacker's CPU seconds per text it got sent (proof of work solved natively; for the
 *   browser bot, the CPU of its whole Chromium process tree).
 *
 * Env: ATTACK_SEEDS=1,2,3 (else 5 random seeds), ATTACK_RUNS (seeds when random, default 5),
 * SCENARIOS=a,b (default all but the variations: v-medium, v-slow, v-devices, v-small, v-wide, v-wider, v-resend, v-launder, v-trusted, v-home), DIALECTS=sqlite|postgres (PostgreSQL needs
 * TEXTGATE_TEST_POSTGRES_URL), ATTACK_SCALE=0.5 (fewer starts). Exits 2 when a goal is missed.
 * Writes test/.tmp/attack.json.
 * @module
 */

import { spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DialectName } from '@textgate/server/storage'
import { DIALECTS } from '@textgate/server/testing/storage'
import { ROOT } from '../support/processes'
import { type Caller, check, resend, seededRandom, start } from './attack/actors'
import { type BrowserBot, createBrowserBot } from './attack/browser-bot'
import { SCENARIOS, type Scenario, type SimEvent } from './attack/scenarios'
import { createWorld } from './attack/world'

const SHARE_GOAL = 0.02
/** More browser-bot starts than this share without any answer make a run invalid. */
const BOT_STUCK_LIMIT = 0.1
const WIDGET = join(ROOT, 'widget/dist/widget.js')

interface RunResult {
  scenario: string
  dialect: DialectName
  seed: number
  attackStarts: number
  attackSent: number
  share: number
  attackerCpuSeconds: number
  cpuPerText: number
  shoppers: number
  shoppersFailed: number
  shoppersChallenged: number
  failures: string[]
  botStuck: string[]
  /** Browser-bot starts given up on while solving a proof of work (the guard's cost). */
  botGaveUp: number
  seconds: number
}

async function runOnce(
  scenario: Scenario,
  dialect: DialectName,
  seed: number,
  bot: BrowserBot | undefined,
): Promise<RunResult> {
  const began = Date.now()
  const random = seededRandom(seed)
  const world = await createWorld({
    dialect,
    captcha: scenario.captcha,
    ...(bot ? { origin: bot.origin, widgetPath: WIDGET } : {}),
  })
  bot?.attach(world.url, world.publishableKey)
  const botCpuBefore = bot?.cpuSeconds() ?? 0
  try {
    const context = scenario.warmup
      ? await scenario.warmup(world, random)
      : { returningDevices: [] }
    const t0 = world.now()
    const events = scenario.events(random, context).sort((a, b) => a.at - b.at)
    const checks: {
      at: number
      phone: string
      id: string
      caller: SimEvent & { kind: 'shopper' }
    }[] = []
    const attackIds: string[] = []
    // The attacker's own follow-ups of its starts: resends, and codes entered for its own SIMs.
    const followUps: {
      at: number
      step: 'resend' | 'verify'
      id: string
      phone: string
      caller: Caller
      left: number
    }[] = []
    let attackStarts = 0
    let attackerCpu = 0
    let shoppers = 0
    let challenged = 0
    const failures: string[] = []
    // Browser-bot starts that got no answer: none sent, but a bot that mostly gets stuck says
    // more about the bot than about the guard, so too many make the run invalid.
    const botStuck: string[] = []
    let botGaveUp = 0

    const runCheck = async (item: (typeof checks)[number]) => {
      world.setNow(t0 + item.at)
      const code = await world.codeFor(item.phone)
      if (!code) {
        failures.push(`${item.phone}: no code arrived (a decoy)`)
        return
      }
      const status = await check(world, item.id, code, item.caller.caller)
      if (status !== 200) failures.push(`${item.phone}: check answered ${status}`)
    }

    const runFollowUp = async (item: (typeof followUps)[number]) => {
      world.setNow(t0 + item.at)
      if (item.step === 'verify') {
        const code = await world.codeFor(item.phone)
        if (code) await check(world, item.id, code, item.caller)
        return
      }
      const answer = await resend(world, item.id, item.caller)
      if (answer.status === 200 && item.left > 1 && answer.resendAfter !== undefined) {
        followUps.push({ ...item, at: answer.resendAfter - t0, left: item.left - 1 })
      }
    }
    const runDue = async (until: number) => {
      for (;;) {
        checks.sort((a, b) => a.at - b.at)
        followUps.sort((a, b) => a.at - b.at)
        const check = checks[0]
        const followUp = followUps[0]
        const next = Math.min(check?.at ?? Infinity, followUp?.at ?? Infinity)
        if (next === Infinity || next > until) return
        if (check && check.at === next) await runCheck(checks.shift() as typeof check)
        else await runFollowUp(followUps.shift() as NonNullable<typeof followUp>)
      }
    }

    for (const event of events) {
      // Shoppers enter their code 20-90 s after the start, attackers resend: run what is due.
      await runDue(event.at)
      world.setNow(t0 + event.at)
      if (event.kind === 'attack') {
        // A start to one of the attacker's own SIMs is its cost, not its take: not in the share.
        const own = event.verifiesAfterMs !== undefined
        if (!own) attackStarts++
        const outcome = await start(world, event.phone, event.caller)
        attackerCpu += outcome.cpuSeconds
        if (outcome.id) {
          if (!own) attackIds.push(outcome.id)
          const follow = { id: outcome.id, phone: event.phone, caller: event.caller }
          if (event.resends) {
            followUps.push({
              ...follow,
              step: 'resend',
              at: event.at + 30_000,
              left: event.resends,
            })
          }
          if (event.verifiesAfterMs !== undefined) {
            followUps.push({
              ...follow,
              step: 'verify',
              at: event.at + event.verifiesAfterMs,
              left: 0,
            })
          }
        }
      } else if (event.kind === 'browser-bot') {
        attackStarts++
        const outcome = await (bot as BrowserBot).start(event.phone, event.ip, random)
        if (outcome.id) attackIds.push(outcome.id)
        if (outcome.stuck) botStuck.push(`${event.phone}: ${outcome.stuck}`)
        if (outcome.gaveUp) botGaveUp++
      } else {
        shoppers++
        const outcome = await start(world, event.phone, event.caller)
        if (outcome.challenges > 0) challenged++
        if (!outcome.id) {
          failures.push(`${event.phone}: start answered ${outcome.status} ${outcome.error ?? ''}`)
          continue
        }
        checks.push({
          at: event.at + random.int(20_000, 90_000),
          phone: event.phone,
          id: outcome.id,
          caller: event,
        })
      }
    }
    await runDue(Infinity)

    if (bot) attackerCpu = bot.cpuSeconds() - botCpuBefore
    const attackSent = await world.textsSent(attackIds)
    return {
      scenario: scenario.key,
      dialect,
      seed,
      attackStarts,
      attackSent,
      share: attackStarts ? attackSent / attackStarts : 0,
      attackerCpuSeconds: attackerCpu,
      cpuPerText: attackSent ? attackerCpu / attackSent : Number.POSITIVE_INFINITY,
      shoppers,
      shoppersFailed: failures.length,
      shoppersChallenged: challenged,
      failures,
      botStuck,
      botGaveUp,
      seconds: (Date.now() - began) / 1000,
    }
  } finally {
    await world.close()
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}
const spread = (values: number[], format: (n: number) => string) =>
  `${format(Math.min(...values))} / ${format(median(values))} / ${format(Math.max(...values))}`
const percent = (n: number) => `${(n * 100).toFixed(2)} %`
const cpu = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)} s` : '∞ (none sent)')

async function main() {
  const seeds = process.env.ATTACK_SEEDS
    ? process.env.ATTACK_SEEDS.split(',').map((s) => Number(s.trim()))
    : Array.from({ length: Number(process.env.ATTACK_RUNS ?? 5) }, () => randomInt(1, 2 ** 31))
  const wanted = process.env.SCENARIOS?.split(',').map((s) => s.trim())
  // Variations run only when named.
  const scenarios = SCENARIOS.filter((s) => (wanted ? wanted.includes(s.key) : !s.variation))
  console.log(
    `pnpm attack: ${scenarios.length} scenarios × ${seeds.length} seeds (${seeds.join(', ')}) on ${DIALECTS.join(' and ')}, default fraud settings, live keys, loopback HTTP, simulated clock\n`,
  )
  if (scenarios.some((s) => s.browser) && !existsSync(WIDGET)) {
    const build = spawnSync('pnpm', ['build'], { cwd: ROOT, stdio: 'inherit' })
    if (build.status !== 0) throw new Error('the widget did not build')
  }

  const results: RunResult[] = []
  let missed = false
  for (const scenario of scenarios) {
    const bot = scenario.browser ? await createBrowserBot() : undefined
    try {
      for (const dialect of DIALECTS) {
        for (const seed of seeds) {
          const r = await runOnce(scenario, dialect, seed, bot)
          results.push(r)
          console.log(
            `  ${scenario.key} ${dialect.padEnd(8)} seed ${String(seed).padEnd(10)} sent ${r.attackSent}/${r.attackStarts} (${percent(r.share)}), shoppers failed ${r.shoppersFailed}/${r.shoppers} (challenged ${r.shoppersChallenged}), attacker CPU ${r.attackerCpuSeconds.toFixed(1)} s, ${r.seconds.toFixed(0)} s`,
          )
          for (const f of r.failures.slice(0, 5)) console.log(`      ${f}`)
          if (r.botGaveUp > 0) {
            console.log(`      the browser bot gave up on ${r.botGaveUp} proofs of work`)
          }
          if (r.botStuck.length > 0) {
            console.log(`      the browser bot got no answer ${r.botStuck.length} times:`)
            for (const f of r.botStuck.slice(0, 3)) console.log(`        ${f}`)
          }
        }
      }
    } finally {
      await bot?.close()
    }
    const table: Record<string, Record<string, string>> = {}
    for (const dialect of DIALECTS) {
      const runs = results.filter((r) => r.scenario === scenario.key && r.dialect === dialect)
      if (runs.length === 0) continue
      const shareOk = scenario.shoppersOnly || runs.every((r) => r.share <= SHARE_GOAL)
      const shoppersOk = runs.every((r) => r.shoppersFailed === 0)
      const botOk = runs.every((r) => r.botStuck.length <= BOT_STUCK_LIMIT * r.attackStarts)
      if (!botOk) {
        console.error(
          `(${scenario.key}) INVALID on ${dialect}: the browser bot got no answer for more than ${percent(BOT_STUCK_LIMIT)} of its starts`,
        )
      }
      if (!shareOk || !shoppersOk || !botOk) missed = true
      table[dialect] = {
        'attack texts sent / attack starts (min / median / max), goal ≤ 2 %': scenario.shoppersOnly
          ? 'no attack'
          : `${spread(
              runs.map((r) => r.share),
              percent,
            )} ${shareOk ? '✓' : '✗'}`,
        'real shoppers who could not verify, goal 0': `${spread(
          runs.map((r) => r.shoppersFailed),
          String,
        )} of ${runs[0]?.shoppers} ${shoppersOk ? '✓' : '✗'}`,
        'attacker CPU seconds per text sent': scenario.shoppersOnly
          ? '-'
          : spread(
              runs.map((r) => r.cpuPerText),
              cpu,
            ),
      }
    }
    console.log(`\n${scenario.title}`)
    console.table(table)
    console.log('')
  }

  const outDir = join(ROOT, 'test/.tmp')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'attack.json'), `${JSON.stringify({ seeds, results }, null, 2)}\n`)
  if (missed) {
    console.error('a goal was missed (see ✗ above)')
    process.exit(2)
  }
}

await main()
