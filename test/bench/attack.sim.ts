/**
 * `pnpm attack`: an SMS-pumping attack replayed on loopback against a real Textgate server with
 * its default fraud settings, mixed with legitimate shoppers, to show what the guard lets through.
 *
 * - The attack: ATTACK_REQUESTS starts (default 3000) to sequential numbers in a few mobile
 *   ranges and in premium-rate ranges, from ATTACK_IPS rotating addresses (default 300, spread
 *   over many networks), never entering a code. The attacker is not naive: it solves every
 *   proof-of-work challenge it is given.
 * - The shoppers: SHOPPERS (default 300) people with varied numbers in 12 countries, each from
 *   its own address (some share an office network), who read their code and enter it; one in
 *   ten mistypes it first.
 *
 * The server trusts X-Forwarded-For from loopback (TRUST_PROXY=1), so each simulated client
 * has its own address. Everything stays on 127.0.0.1; the run is bounded in count and time.
 * Prints: the share of attack starts that produced a real text (goal ≤ 2 %), shoppers blocked
 * (goal 0) or challenged, and the SMS cost spent on the attack. Writes test/.tmp/attack.json.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { solveChallenge } from 'altcha-lib/v1'
import {
  type CountryCode,
  getExampleNumber,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/max'
import examples from 'libphonenumber-js/mobile/examples'
import {
  type CreatedProject,
  cliAsync,
  ROOT,
  sandboxCode,
  startTextgate,
} from '../support/processes'

const ATTACK_REQUESTS = Number(process.env.ATTACK_REQUESTS ?? 3000)
const ATTACK_IPS = Number(process.env.ATTACK_IPS ?? 300)
const SHOPPERS = Number(process.env.SHOPPERS ?? 300)
const COST_PER_SMS = 0.05 // the default cost per text (fraud settings: spend.defaultCostPerSms)
const ORIGIN = 'https://shop.example'
const DEADLINE_MS = 10 * 60_000

// Seeded randomness, so two runs replay the same attack.
let seed = 20261127
function random(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T

/** Attack ranges: where pumpers send, sequentially. Premium ranges are refused outright. */
const ATTACK_RANGES = [
  { start: 447_911_200_000, label: 'GB mobile +447911 2…' },
  { start: 2_348_031_000_000, label: 'NG mobile +234803 1…' },
  { start: 923_001_230_000, label: 'PK mobile +92300 123…' },
  { start: 4_915_901_000_000, label: 'DE mobile +49159 01…' },
  { start: 449_098_700_000, label: 'GB premium +449098 7…' },
  { start: 19_005_550_000, label: 'US premium +1900 555…' },
]

function attackerIps(): string[] {
  const ips = new Set<string>()
  while (ips.size < ATTACK_IPS) {
    ips.add(
      `${Math.floor(random() * 180) + 20}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 254) + 1}`,
    )
  }
  return [...ips]
}

const SHOPPER_COUNTRIES: CountryCode[] = [
  'GB',
  'US',
  'DE',
  'FR',
  'ES',
  'IT',
  'NL',
  'IN',
  'BR',
  'MX',
  'JP',
  'AU',
]

/** A random valid mobile number of `country`, varying most digits of its example number. */
function shopperNumber(country: CountryCode): string {
  const example = getExampleNumber(country, examples)
  if (!example) throw new Error(`no example number for ${country}`)
  const national = example.nationalNumber
  for (;;) {
    const keep = Math.max(2, national.length - 7)
    let tail = ''
    for (let i = keep; i < national.length; i++) tail += String(Math.floor(random() * 10))
    const candidate = `+${example.countryCallingCode}${national.slice(0, keep)}${tail}`
    try {
      const parsed = parsePhoneNumberWithError(candidate)
      const type = parsed.getType()
      if (parsed.isValid() && (type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE'))
        return parsed.number
    } catch {
      // try again
    }
  }
}

interface Client {
  url: string
  project: CreatedProject
}

async function post(
  client: Client,
  path: string,
  body: unknown,
  ip: string,
): Promise<{
  status: number
  json: Record<string, unknown> & { error?: Record<string, unknown> }
}> {
  const res = await fetch(`${client.url}${path}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${client.project.publishableKey}`,
      Origin: ORIGIN,
      'Content-Type': 'application/json',
      'X-Forwarded-For': ip,
    },
    body: JSON.stringify(body),
  })
  return { status: res.status, json: (await res.json()) as never }
}

/** A start that solves any proof-of-work challenge, as the widget (and a serious bot) would. */
async function startSolving(client: Client, phone: string, ip: string) {
  let challenged = 0
  let extra: { challenge?: string } = {}
  for (;;) {
    const res = await post(
      client,
      '/v1/verifications',
      { phone, consent: { accepted: true }, ...extra },
      ip,
    )
    if (res.status !== 428 || challenged >= 3) return { ...res, challenged }
    challenged++
    const c = res.json.error?.challenge as {
      algorithm: string
      challenge: string
      salt: string
      signature: string
      maxnumber: number
    }
    const solution = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise
    if (!solution) return { ...res, challenged }
    extra = {
      challenge: Buffer.from(JSON.stringify({ ...c, number: solution.number })).toString('base64'),
    }
  }
}

async function details(client: Client, id: string) {
  const res = await fetch(`${client.url}/v1/verifications/${id}`, {
    headers: { Authorization: `Bearer ${client.project.secretKey}` },
  })
  return (await res.json()) as { risk: { decision: string | null }; messages: { status: string }[] }
}

/** The code in the shopper's sandbox inbox, or undefined when none arrives (a decoy). */
async function codeFor(client: Client, phone: string): Promise<string | undefined> {
  return sandboxCode(client.url, client.project, phone).catch(() => undefined)
}

async function pool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await run(items[next++] as T)
    }),
  )
}

async function main() {
  const started = Date.now()
  const server = await startTextgate({ env: { TRUST_PROXY: '1', LOG_LEVEL: 'warn' } })
  const created = await cliAsync(
    ['projects', 'create', '--name', 'Pumped store', '--origin', ORIGIN, '--json'],
    server.env,
  )
  if (created.status !== 0) throw new Error(created.stderr)
  const client: Client = { url: server.url, project: JSON.parse(created.stdout) as CreatedProject }
  console.log(
    `Attack simulation: ${ATTACK_REQUESTS} pumping starts from ${ATTACK_IPS} addresses against ` +
      `${SHOPPERS} shoppers, default fraud settings, SQLite, loopback\n`,
  )

  const ips = attackerIps()
  const attacks = Array.from({ length: ATTACK_REQUESTS }, (_, i) => {
    const range = ATTACK_RANGES[i % ATTACK_RANGES.length]!
    return {
      phone: `+${range.start + Math.floor(i / ATTACK_RANGES.length)}`,
      ip: pick(ips),
      range: range.label,
    }
  })
  const shoppers = Array.from({ length: SHOPPERS }, (_, i) => {
    const country = SHOPPER_COUNTRIES[i % SHOPPER_COUNTRIES.length]!
    // One in ten shoppers shares an office network with a colleague.
    const ip =
      i % 10 === 0
        ? `198.18.7.${(i % 200) + 1}`
        : `100.${64 + (i % 60)}.${Math.floor(random() * 256)}.${(i % 250) + 1}`
    return { phone: shopperNumber(country), ip, mistype: i % 10 === 3 }
  })

  const attack = {
    sent: 0,
    decoy: 0,
    refused: 0,
    challenged: 0,
    solvedChallenges: 0,
    other: 0,
    byRange: new Map<string, number>(),
  }
  const shopper = { verified: 0, blocked: 0, challenged: 0, failed: [] as string[] }

  const attackRun = pool(attacks, 12, async ({ phone, ip, range }) => {
    if (Date.now() - started > DEADLINE_MS) return
    const res = await startSolving(client, phone, ip)
    attack.solvedChallenges += res.challenged
    if (res.challenged) attack.challenged++
    if (res.status !== 201) {
      if ([403, 422, 429].includes(res.status)) attack.refused++
      else attack.other++
      return
    }
    const { messages } = await details(client, String(res.json.id))
    if (messages.some((m) => m.status !== 'suppressed')) {
      attack.sent++
      attack.byRange.set(range, (attack.byRange.get(range) ?? 0) + 1)
    } else {
      attack.decoy++
    }
  })

  const shopperRun = pool(shoppers, 6, async ({ phone, ip, mistype }) => {
    const res = await startSolving(client, phone, ip)
    if (res.challenged) shopper.challenged++
    if (res.status !== 201) {
      shopper.blocked++
      shopper.failed.push(`${phone}: HTTP ${res.status} ${res.json.error?.code}`)
      return
    }
    const id = String(res.json.id)
    const code = await codeFor(client, phone)
    if (!code) {
      shopper.blocked++
      const { risk } = await details(client, id)
      shopper.failed.push(`${phone}: no code arrived (decision ${risk.decision})`)
      return
    }
    if (mistype)
      await post(
        client,
        `/v1/verifications/${id}/check`,
        { code: code === '000000' ? '111111' : '000000' },
        ip,
      )
    const checked = await post(client, `/v1/verifications/${id}/check`, { code }, ip)
    if (checked.status === 200) shopper.verified++
    else {
      shopper.blocked++
      shopper.failed.push(`${phone}: check HTTP ${checked.status} ${checked.json.error?.code}`)
    }
  })

  await Promise.all([attackRun, shopperRun])
  await server.close()

  const seconds = (Date.now() - started) / 1000
  const sentShare = attack.sent / ATTACK_REQUESTS
  const result = {
    attackRequests: ATTACK_REQUESTS,
    attackSent: attack.sent,
    attackSentShare: sentShare,
    attackDecoys: attack.decoy,
    attackRefused: attack.refused,
    attackChallengesSolved: attack.solvedChallenges,
    attackCost: attack.sent * COST_PER_SMS,
    costWithoutGuard: ATTACK_REQUESTS * COST_PER_SMS,
    shoppers: SHOPPERS,
    shoppersVerified: shopper.verified,
    shoppersBlocked: shopper.blocked,
    shoppersChallenged: shopper.challenged,
    seconds,
  }
  console.table({
    'attack starts': { value: ATTACK_REQUESTS },
    'attack texts actually sent': {
      value: `${attack.sent} (${(sentShare * 100).toFixed(2)} %, goal ≤ 2 %)`,
    },
    'attack answered with a decoy (no text)': { value: attack.decoy },
    'attack refused (premium rate, 403/429)': { value: attack.refused },
    'challenges the attacker solved': { value: attack.solvedChallenges },
    'SMS cost of the attack': {
      value: `$${result.attackCost.toFixed(2)} (without the guard: $${result.costWithoutGuard.toFixed(2)})`,
    },
    shoppers: { value: SHOPPERS },
    'shoppers verified': { value: shopper.verified },
    'shoppers blocked': { value: `${shopper.blocked} (goal 0)` },
    'shoppers challenged (solved silently)': { value: shopper.challenged },
  })
  console.log('attack texts sent per range:', Object.fromEntries(attack.byRange))
  if (shopper.failed.length)
    console.log(`shoppers who failed:\n  ${shopper.failed.slice(0, 20).join('\n  ')}`)
  console.log(`\n${seconds.toFixed(1)} s`)
  const outDir = join(ROOT, 'test/.tmp')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'attack.json'), `${JSON.stringify(result, null, 2)}\n`)
  if (attack.other > 0) {
    console.error(`${attack.other} attack requests got unexpected answers`)
    process.exit(1)
  }
  if (sentShare > 0.02 || shopper.blocked > 0) process.exit(2)
}

await main()
