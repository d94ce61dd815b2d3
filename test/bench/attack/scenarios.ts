/**
 * The scenarios of `pnpm attack`, each a timeline of starts by attackers and real shoppers.
 * Times are offsets from the simulated start, in milliseconds.
 * @module
 */
import type { CountryCode } from 'libphonenumber-js/max'
import {
  BROWSER_AGENT,
  type Caller,
  humanSignals,
  ipv4,
  ipv6,
  isMobile,
  mobileNumber,
  type Random,
} from './actors'
import type { World } from './world'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

export interface AttackEvent {
  kind: 'attack'
  at: number
  phone: string
  caller: Caller
  /** Resends to ask for after the start, each as soon as the server allows it. */
  resends?: number
  /**
   * The attacker controls this number (a SIM of its own): it reads the code and enters it this
   * many ms after the start, to make the destination's conversion look healthy.
   */
  verifiesAfterMs?: number
}
export interface ShopperEvent {
  kind: 'shopper'
  at: number
  phone: string
  caller: Caller
}
export interface BrowserBotEvent {
  kind: 'browser-bot'
  at: number
  phone: string
  ip: string
}
export type SimEvent = AttackEvent | ShopperEvent | BrowserBotEvent

export interface Scenario {
  key: string
  title: string
  /** The store configured Turnstile. */
  captcha?: boolean
  /** Needs headless Chromium and the built widget. */
  browser?: boolean
  /** No attack: only false positives are measured. */
  shoppersOnly?: boolean
  /**
   * A variation the guard was not tuned on (other countries, pace, signals, store size): run
   * only when named in SCENARIOS, to see where the guard's defaults stop holding.
   */
  variation?: boolean
  /** History the store had before the scenario (verified shoppers), through the real path. */
  warmup?: (world: World, random: Random) => Promise<{ returningDevices: string[] }>
  events: (random: Random, context: { returningDevices: string[] }) => SimEvent[]
}

/** Where pumpers send: high-cost destinations in Africa and South, Central and South-East Asia. */
export const PUMPED: CountryCode[] = ['NG', 'GH', 'KE', 'CI', 'PK', 'BD', 'UZ', 'KH', 'ID', 'PH']
const ELSEWHERE: CountryCode[] = [
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

const scale = (n: number) => Math.max(1, Math.round(n * Number(process.env.ATTACK_SCALE ?? 1)))

function shopper(
  random: Random,
  country: CountryCode,
  at: number,
  deviceId?: string,
): ShopperEvent {
  const phone = mobileNumber(random, country)
  return {
    kind: 'shopper',
    at,
    phone,
    caller: {
      ip: random.next() < 0.5 ? ipv4(random) : ipv6(random),
      userAgent: BROWSER_AGENT,
      signals: humanSignals(random, deviceId ?? random.id(22), phone),
      canSolveCaptcha: true,
      person: true,
    },
  }
}

function shoppers(random: Random, count: number, countries: CountryCode[], spanMs: number) {
  return Array.from({ length: count }, () =>
    shopper(random, random.pick(countries), random.int(0, spanMs)),
  )
}

/** An address pool where each address is used one to three times, IPv4 and IPv6 mixed. */
function rotatingAddresses(random: Random, starts: number): string[] {
  const out: string[] = []
  while (out.length < starts) {
    const ip = random.next() < 0.5 ? ipv4(random) : ipv6(random)
    const uses = random.int(1, 3)
    for (let i = 0; i < uses; i++) out.push(ip)
  }
  // Shuffled, so an address's uses are spread out.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1))
    ;[out[i], out[j]] = [out[j] as string, out[i] as string]
  }
  return out.slice(0, starts)
}

const scriptCaller = (ip: string, signals?: Caller['signals']): Caller => ({
  ip,
  userAgent: BROWSER_AGENT,
  signals,
  canSolveCaptcha: false,
})

/** Random pumping: valid mobiles drawn at random in the pumped countries, never repeating. */
function randomPumping(
  random: Random,
  starts: number,
  spanMs: number,
  signals: (random: Random, phone: string) => Caller['signals'],
  countries: CountryCode[] = PUMPED,
): AttackEvent[] {
  const ips = rotatingAddresses(random, starts)
  const seen = new Set<string>()
  const events: AttackEvent[] = []
  for (let i = 0; i < starts; i++) {
    let phone = mobileNumber(random, random.pick(countries))
    while (seen.has(phone)) phone = mobileNumber(random, random.pick(countries))
    seen.add(phone)
    events.push({
      kind: 'attack',
      at: random.int(0, spanMs),
      phone,
      caller: scriptCaller(ips[i] as string, signals(random, phone)),
    })
  }
  return events
}

/**
 * (e): headless Chromium drives the store's real page and widget, one fresh profile (so a fresh
 * device id) per start, typing the number and replaying plausible interaction signals, among
 * real shoppers in the same countries; with the store's Turnstile configured or without one.
 */
function widgetBot(key: string, captcha: boolean): Scenario {
  return {
    key,
    title: `(${key}) widget-driving bot in headless Chromium replaying plausible signals (${captcha ? 'store has Turnstile' : 'no captcha configured'})`,
    captcha,
    browser: true,
    events(random) {
      const countries: CountryCode[] = ['NG', 'PK', 'ID', 'KE']
      const n = scale(40)
      const bots: SimEvent[] = Array.from({ length: n }, (_, i) => ({
        kind: 'browser-bot' as const,
        at: Math.floor((i / n) * HOUR),
        phone: mobileNumber(random, random.pick(countries)),
        ip: random.next() < 0.5 ? ipv4(random) : ipv6(random),
      }))
      return [
        ...bots,
        ...shoppers(random, scale(8), countries, HOUR),
        ...shoppers(random, scale(8), ELSEWHERE, HOUR),
      ]
    },
  }
}

/** Two weeks of history: mostly Great Britain (about 4 verified an hour by day), a little elsewhere. */
async function britishHistory(world: World, random: Random) {
  // Two weeks of history: mostly Great Britain, busier by day, a little elsewhere.
  const devices: string[] = []
  const start = world.now()
  for (let hour = 0; hour < 14 * 24; hour++) {
    const at = start + hour * HOUR
    const local = new Date(at).getUTCHours()
    const gb = local >= 8 && local <= 22 ? 4 : 1
    for (let i = 0; i < gb + (random.next() < 0.3 ? 1 : 0); i++) {
      const deviceId = random.id(22)
      if (random.next() < 0.2) devices.push(deviceId)
      const country = random.next() < 0.9 ? 'GB' : random.pick(['US', 'DE', 'FR'] as const)
      world.setNow(at + i * 60_000)
      await world.fraud.afterApproved({
        projectId: world.projectId,
        fraudSettings: null,
        phone: mobileNumber(random, country),
        country,
        mode: 'live',
        signals: { deviceId },
      })
    }
  }
  world.setNow(start + 14 * 24 * HOUR)
  return { returningDevices: devices }
}

/**
 * Random valid GB mobiles inside `ranges` blocks of `width` numbers each (the blocks drawn from
 * the same numbering the shoppers' numbers come from), never repeating.
 */
function pumpingInRanges(
  random: Random,
  starts: number,
  width: number,
  ranges: number,
  resends = 0,
) {
  const digits = String(width - 1).length
  const blocks = Array.from({ length: ranges }, () => mobileNumber(random, 'GB').slice(0, -digits))
  const ips = rotatingAddresses(random, starts)
  const seen = new Set<string>()
  const events: AttackEvent[] = []
  while (events.length < starts) {
    const phone = `${random.pick(blocks)}${String(random.int(0, width - 1)).padStart(digits, '0')}`
    if (seen.has(phone) || !isMobile(phone)) continue
    seen.add(phone)
    events.push({
      kind: 'attack',
      at: random.int(0, HOUR),
      phone,
      caller: scriptCaller(ips[events.length] as string, undefined),
      ...(resends > 0 ? { resends } : {}),
    })
  }
  return events
}

/** Shoppers in Great Britain over `spanMs`, a third of them on devices that verified before. */
function britishShoppers(random: Random, count: number, spanMs: number, returning: string[]) {
  return Array.from({ length: count }, () =>
    shopper(
      random,
      'GB',
      random.int(0, spanMs),
      random.next() < 0.33 && returning.length > 0 ? random.pick(returning) : undefined,
    ),
  )
}

/** Random pumping inside one open country the store sells in: two ranges, shoppers around. */
function pumpingOneCountry(
  key: string,
  title: string,
  width: number,
  variation = false,
  ranges = 2,
  resends = 0,
) {
  return {
    key,
    title,
    ...(variation ? { variation: true } : {}),
    warmup: britishHistory,
    events(random: Random, { returningDevices }: { returningDevices: string[] }) {
      return [
        ...pumpingInRanges(random, scale(1200), width, ranges, resends),
        // Real shoppers in Great Britain (a third on returning devices) and elsewhere.
        ...britishShoppers(random, scale(30), HOUR, returningDevices),
        ...shoppers(random, scale(10), ELSEWHERE, HOUR),
      ]
    },
  } satisfies Scenario
}

export const SCENARIOS: Scenario[] = [
  {
    key: 'a',
    title: '(a) sequential ranges (the old pnpm attack)',
    events(random) {
      const ranges = [447_911_200_000, 2_348_031_000_000, 923_001_230_000, 4_915_901_000_000]
      const premium = [449_098_700_000, 19_005_550_000]
      const all = [...ranges, ...premium]
      const ips = Array.from({ length: 300 }, () => ipv4(random))
      const n = scale(600)
      const attacks: SimEvent[] = Array.from({ length: n }, (_, i) => ({
        kind: 'attack' as const,
        at: Math.floor((i / n) * 30 * MINUTE),
        phone: `+${(all[i % all.length] as number) + Math.floor(i / all.length)}`,
        caller: scriptCaller(random.pick(ips)),
      }))
      return [...attacks, ...shoppers(random, scale(30), ELSEWHERE, 30 * MINUTE)]
    },
  },
  {
    key: 'b',
    title: '(b) random pumping, 10 high-cost countries, rotating IPv4/IPv6, every PoW solved',
    events(random) {
      return [
        ...randomPumping(random, scale(1200), HOUR, () => undefined),
        ...shoppers(random, scale(8), PUMPED, HOUR),
        ...shoppers(random, scale(30), ELSEWHERE, HOUR),
      ]
    },
  },
  {
    key: 'c',
    title: '(c) slow drip under every hourly limit, over a simulated day',
    events(random) {
      // About one start per pumped country every 20 minutes, for 24 hours.
      return [
        ...randomPumping(random, scale(720), 24 * HOUR, () => undefined),
        ...shoppers(random, scale(6), PUMPED, 24 * HOUR),
        ...shoppers(random, scale(18), ELSEWHERE, 24 * HOUR),
      ]
    },
  },
  {
    key: 'd',
    title: '(d) botnet: a fresh device id on every start, no interaction signals',
    events(random) {
      return [
        ...randomPumping(random, scale(800), HOUR, (r) => ({ deviceId: r.id(22) })),
        ...shoppers(random, scale(8), PUMPED, HOUR),
        ...shoppers(random, scale(24), ELSEWHERE, HOUR),
      ]
    },
  },
  widgetBot('e', true),
  widgetBot('e2', false),
  {
    key: 'f',
    title: "(f) flash sale: a burst in the country most of the store's shoppers are in",
    shoppersOnly: true,
    warmup: britishHistory,
    events(random, { returningDevices }) {
      // The sale: ten times the usual hour, a third of them returning shoppers.
      return Array.from({ length: scale(200) }, () =>
        shopper(
          random,
          random.next() < 0.95 ? 'GB' : 'IE',
          random.int(0, HOUR),
          random.next() < 0.33 && returningDevices.length > 0
            ? random.pick(returningDevices)
            : undefined,
        ),
      )
    },
  },
  pumpingOneCountry(
    'g',
    '(g) random pumping in one open country with history (GB): two 100 000-number ranges, rotating IPv4/IPv6, no signals',
    100_000,
  ),
  {
    key: 'v-medium',
    title: '(variation) random pumping of medium-risk and unlisted countries, no signals',
    variation: true,
    events(random) {
      const countries: CountryCode[] = ['EG', 'MA', 'DZ', 'TN', 'TH', 'MY', 'TR', 'UA', 'BO', 'PE']
      return [
        ...randomPumping(random, scale(1200), HOUR, () => undefined, countries),
        ...shoppers(random, scale(8), countries, HOUR),
        ...shoppers(random, scale(30), ELSEWHERE, HOUR),
      ]
    },
  },
  {
    key: 'v-slow',
    title:
      '(variation) a slower attacker: one start per pumped country every two hours for two days',
    variation: true,
    events(random) {
      return [
        ...randomPumping(random, scale(240), 48 * HOUR, () => undefined),
        ...shoppers(random, scale(8), PUMPED, 48 * HOUR),
        ...shoppers(random, scale(16), ELSEWHERE, 48 * HOUR),
      ]
    },
  },
  {
    key: 'v-devices',
    title:
      '(variation) a script replaying human signals, each device id used 2-3 times, no captcha configured',
    variation: true,
    events(random) {
      let device = random.id(22)
      let left = 0
      return [
        ...randomPumping(random, scale(600), HOUR, (r, phone) => {
          if (left === 0) {
            device = r.id(22)
            left = r.int(2, 3)
          }
          left--
          return humanSignals(r, device, phone)
        }),
        ...shoppers(random, scale(8), PUMPED, HOUR),
        ...shoppers(random, scale(16), ELSEWHERE, HOUR),
      ]
    },
  },
  {
    key: 'v-small',
    title:
      '(variation) a small store (about one verified shopper a day) attacked at a quarter of (b)',
    variation: true,
    async warmup(world, random) {
      const start = world.now()
      for (let day = 0; day < 14; day++) {
        const at = start + day * 24 * HOUR + random.int(9, 20) * HOUR
        world.setNow(at)
        await world.fraud.afterApproved({
          projectId: world.projectId,
          fraudSettings: null,
          phone: mobileNumber(random, 'GB'),
          country: 'GB',
          mode: 'live',
          signals: { deviceId: random.id(22) },
        })
      }
      world.setNow(start + 14 * 24 * HOUR)
      return { returningDevices: [] }
    },
    events(random) {
      return [
        ...randomPumping(random, scale(300), HOUR, () => undefined),
        ...shoppers(random, scale(2), PUMPED, HOUR),
        ...shoppers(random, scale(4), ['GB'], HOUR),
      ]
    },
  },
  pumpingOneCountry(
    'v-wide',
    '(variation) (g) over two ranges of 1 000 000 numbers each (ten prefixes apiece)',
    1_000_000,
    true,
  ),
  pumpingOneCountry(
    'v-wider',
    "(variation) (g) over one range of 10 000 000 numbers: the block the store's GB shoppers are in (a hundred prefixes of 100 000)",
    10_000_000,
    true,
    1,
  ),
  pumpingOneCountry(
    'v-resend',
    '(variation) (g) where every start is followed by every resend allowed (4, at 30 s, 1, 2 and 4 min)',
    100_000,
    true,
    2,
    4,
  ),
  {
    key: 'v-launder',
    title:
      '(variation) (g) plus conversion laundering: the pumper owns one SIM in each 10 000-number block of its two ranges and enters their codes, every 15 min each',
    variation: true,
    warmup: britishHistory,
    events(random, { returningDevices }) {
      const pumping = pumpingInRanges(random, scale(1200), 100_000, 2)
      // Its own SIMs: one in each 10 000-number block the pumping touches, so every prefix the
      // guard judges sees codes entered; each verified four times an hour from a fresh browser.
      const blocks = [...new Set(pumping.map((e) => e.phone.slice(0, -4)))]
      const laundering: AttackEvent[] = []
      for (const block of blocks) {
        let sim = `${block}${String(random.int(0, 9999)).padStart(4, '0')}`
        while (!isMobile(sim)) sim = `${block}${String(random.int(0, 9999)).padStart(4, '0')}`
        for (let at = random.int(0, 15 * MINUTE); at < HOUR; at += 15 * MINUTE) {
          laundering.push({
            kind: 'attack',
            at,
            phone: sim,
            caller: scriptCaller(ipv4(random), humanSignals(random, random.id(22), sim)),
            verifiesAfterMs: random.int(20_000, 60_000),
          })
        }
      }
      return [
        ...pumping,
        ...laundering,
        ...britishShoppers(random, scale(30), HOUR, returningDevices),
        ...shoppers(random, scale(10), ELSEWHERE, HOUR),
      ]
    },
  },
  {
    key: 'v-trusted',
    title:
      '(variation) trust laundering: 3 SIMs of its own (GB) verified from 24 fresh browsers, whose device ids then pump the high-cost countries at 4 starts an hour each for 6 hours, replaying human signals',
    variation: true,
    events(random) {
      const sims = Array.from({ length: 3 }, () => mobileNumber(random, 'GB'))
      const devices = Array.from({ length: scale(24) }, () => random.id(22))
      const events: SimEvent[] = []
      // First hour: each device verifies one of the SIMs (8 a SIM, under its per-number block).
      for (const [i, device] of devices.entries()) {
        const sim = sims[i % sims.length] as string
        events.push({
          kind: 'attack',
          at: Math.floor((i / devices.length) * HOUR),
          phone: sim,
          caller: scriptCaller(ipv4(random), humanSignals(random, device, sim)),
          verifiesAfterMs: random.int(20_000, 60_000),
        })
      }
      // Then six hours of pumping, each device at its 4 starts an hour, from rotating addresses.
      for (const device of devices) {
        for (let k = 0; k < 24; k++) {
          const phone = mobileNumber(random, random.pick(PUMPED))
          events.push({
            kind: 'attack',
            at: HOUR + k * 15 * MINUTE + random.int(0, 14 * MINUTE),
            phone,
            caller: scriptCaller(
              random.next() < 0.5 ? ipv4(random) : ipv6(random),
              humanSignals(random, device, phone),
            ),
          })
        }
      }
      return [
        ...events,
        ...shoppers(random, scale(8), PUMPED, 7 * HOUR),
        ...shoppers(random, scale(24), ELSEWHERE, 7 * HOUR),
      ]
    },
  },
  {
    key: 'v-home',
    title:
      "(variation) the store's own country (GB) pumped at random over its whole numbering, 30 starts an hour for 8 daytime hours, replaying human signals with fresh device ids, among its usual shoppers; the store has Turnstile",
    variation: true,
    captcha: true,
    warmup: britishHistory,
    events(random, { returningDevices }) {
      const span = 8 * HOUR
      const attacks: AttackEvent[] = Array.from({ length: scale(240) }, () => {
        const phone = mobileNumber(random, 'GB')
        return {
          kind: 'attack' as const,
          at: random.int(0, span),
          phone,
          caller: scriptCaller(
            random.next() < 0.5 ? ipv4(random) : ipv6(random),
            humanSignals(random, random.id(22), phone),
          ),
        }
      })
      return [
        ...attacks,
        // Its usual day: about 4 verified an hour in GB, a third on returning devices.
        ...britishShoppers(random, scale(32), span, returningDevices),
        ...shoppers(random, scale(8), ELSEWHERE, span),
      ]
    },
  },
]
