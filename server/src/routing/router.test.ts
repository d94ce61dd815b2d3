import { describe, expect, it } from 'vitest'
import { routingProblems } from '../../testing/routing-problems'
import { type CarrierAdapter, CarrierError, type OutgoingMessage } from '../carriers/types'
import { createRouter } from './router'
import { parseRoutingConfig } from './routing-file'
import { routingWarnings } from './warnings'

type Behaviour =
  | 'ok'
  | 'down'
  | 'throttled'
  | 'permanent'
  | 'refused'
  | ((n: number) => 'ok' | 'down')

/** A deterministic fake adapter: does what its script says, and records every call. */
function fake(id: string, behaviour: Behaviour = 'ok', retryAfterMs?: number) {
  const calls: OutgoingMessage[] = []
  let mode = behaviour
  const adapter: CarrierAdapter & { calls: OutgoingMessage[]; set(b: Behaviour): void } = {
    id,
    capabilities: { unicode: true, deliveryReports: false, maxParts: 5 },
    calls,
    set(b) {
      mode = b
    },
    async send(message) {
      calls.push(message)
      const now = typeof mode === 'function' ? mode(calls.length) : mode
      if (now === 'down') throw new CarrierError(id, 'connection refused')
      if (now === 'throttled') throw new CarrierError(id, 'throttled', { retryAfterMs })
      if (now === 'permanent') throw new CarrierError(id, 'invalid number', { permanent: true })
      if (now === 'refused') {
        throw new CarrierError(id, 'credentials refused', { routeFault: true, permanent: true })
      }
      return { carrierMessageId: `${id}-${calls.length}`, status: 'sent', segments: 2 }
    },
  }
  return adapter
}

function config(overrides: { projects: unknown; retry?: unknown; breaker?: unknown }) {
  const carriers = ['a', 'b', 'c'].map((id) => ({
    id,
    type: 'smpp',
    host: '127.0.0.1',
    port: 2775,
    systemId: 'tg',
    password: 'pw',
    sourceAddr: 'Shop',
  }))
  return parseRoutingConfig({ carriers, ...overrides })
}

/** A scripted random source: returns the listed values in turn, then repeats the last. */
function scripted(...values: number[]) {
  let i = 0
  return () => values[Math.min(i++, values.length - 1)]!
}

const msg = (to = '+447700900123', projectId = 'prj_shop'): OutgoingMessage => ({
  id: 'msg_1',
  to,
  body: 'Your code is 123456',
  projectId,
  mode: 'live',
})

describe('routing rules', () => {
  const routing = config({
    projects: {
      '*': { rules: [{ routes: [{ carrier: 'c' }] }] },
      prj_shop: {
        rules: [
          { countries: ['GB'], routes: [{ carrier: 'b' }] },
          { prefixes: ['+4477'], routes: [{ carrier: 'a', costPerSegment: 0.03 }] },
          { countries: ['US', 'CA'], prefixes: ['+1'], routes: [{ carrier: 'b' }] },
        ],
      },
    },
  })
  const router = createRouter({
    config: routing,
    adapters: new Map(['a', 'b', 'c'].map((id) => [id, fake(id)])),
  })

  it('picks the most specific rule: longest prefix, then a named country, then the default', () => {
    expect(router.plan('prj_shop', '+447700900123').map((r) => r.carrier)).toEqual(['a'])
    expect(router.plan('prj_shop', '+442071838750').map((r) => r.carrier)).toEqual(['b'])
    expect(router.plan('prj_shop', '+12015550123').map((r) => r.carrier)).toEqual(['b'])
    expect(router.plan('prj_shop', '+33612345678').map((r) => r.carrier)).toEqual(['c'])
    expect(router.plan('prj_other', '+447700900123').map((r) => r.carrier)).toEqual(['c'])
    expect(router.plan('prj_shop', '+447700900123')[0]!.rule).toBe('projects.prj_shop.rules.1')
  })

  it('reports the carrier that took the message and its cost', async () => {
    const result = await router.send(msg())
    expect(result).toMatchObject({ carrier: 'a', carrierMessageId: 'a-1', segments: 2 })
    expect(result.cost).toEqual({ amount: '0.060000', currency: 'USD' })
  })

  it('refuses a destination no rule covers, permanently', async () => {
    const bare = createRouter({
      config: config({
        projects: { prj_x: { rules: [{ prefixes: ['+44'], routes: [{ carrier: 'a' }] }] } },
      }),
      adapters: new Map([['a', fake('a')]]),
    })
    await expect(bare.send(msg('+33612345678', 'prj_x'))).rejects.toMatchObject({
      permanent: true,
    })
  })
})

describe('rules for territories that share a numbering plan', () => {
  // IM, JE and GG share +44 with GB, YT +262 with RE, JM +1 with the US: a rule names the
  // territory the number belongs to, as the rest of the server counts it (phone/territory.ts).
  const routing = config({
    projects: {
      prj_shop: {
        rules: [
          { countries: ['GB'], routes: [{ carrier: 'a' }] },
          { countries: ['IM'], routes: [{ carrier: 'b' }] },
        ],
      },
      '*': { rules: [{ routes: [{ carrier: 'c' }] }] },
    },
  })
  const router = createRouter({
    config: routing,
    adapters: new Map(['a', 'b', 'c'].map((id) => [id, fake(id)])),
  })
  const carrierFor = (to: string) => router.plan('prj_shop', to).map((r) => r.carrier)

  it("sends Manx numbers to the IM rule, those in GB's ranges too (Sure's 07924)", () => {
    expect(carrierFor('+447924123456')).toEqual(['b'])
    expect(carrierFor('+447624123456')).toEqual(['b'])
    expect(carrierFor('+441624812345')).toEqual(['b'])
    expect(carrierFor('+447400123456')).toEqual(['a'])
  })

  it('matches the country the verification was counted as, when the message names it', async () => {
    // An Åland mobile is in Finland's ranges: the number alone reads FI, a project that allows
    // only AX counts it as AX, and its text names that country.
    const nordic = createRouter({
      config: config({
        projects: {
          prj_x: {
            rules: [
              { countries: ['FI'], routes: [{ carrier: 'a' }] },
              { countries: ['AX'], routes: [{ carrier: 'b' }] },
            ],
          },
        },
      }),
      adapters: new Map(['a', 'b'].map((id) => [id, fake(id)])),
    })
    expect(nordic.plan('prj_x', '+358412345678').map((r) => r.carrier)).toEqual(['a'])
    expect(nordic.plan('prj_x', '+358412345678', 'AX').map((r) => r.carrier)).toEqual(['b'])
    const message = msg('+358412345678', 'prj_x')
    message.country = 'AX'
    expect((await nordic.send(message)).carrier).toBe('b')
  })

  it("gives a territory no rule names to the next rule, not to its parent's", () => {
    // A Jersey mobile is JE's: the GB rule does not take it (the default does); a rule for the
    // whole numbering plan names its prefix, "+44".
    expect(carrierFor('+447797123456')).toEqual(['c'])
    const plan = createRouter({
      config: config({
        projects: { prj_x: { rules: [{ prefixes: ['+44'], routes: [{ carrier: 'a' }] }] } },
      }),
      adapters: new Map([['a', fake('a')]]),
    })
    expect(plan.plan('prj_x', '+447924123456').map((r) => r.carrier)).toEqual(['a'])
  })
})

describe('weighted choice among equal priorities', () => {
  const routing = config({
    projects: {
      '*': {
        rules: [
          {
            routes: [
              { carrier: 'a', priority: 0, weight: 3 },
              { carrier: 'b', priority: 0, weight: 1 },
              { carrier: 'c', priority: 1 },
            ],
          },
        ],
      },
    },
  })

  it('orders by weight with the draw, and keeps lower priorities last', () => {
    const adapters = new Map(['a', 'b', 'c'].map((id) => [id, fake(id)]))
    // total 4: a draw below 3 picks a, at or above 3 picks b.
    expect(
      createRouter({ config: routing, adapters, random: scripted(0.5) })
        .plan('prj_x', '+447700900123')
        .map((r) => r.carrier),
    ).toEqual(['a', 'b', 'c'])
    expect(
      createRouter({ config: routing, adapters, random: scripted(0.8) })
        .plan('prj_x', '+447700900123')
        .map((r) => r.carrier),
    ).toEqual(['b', 'a', 'c'])
  })

  it('shares traffic about 3:1 over many draws', async () => {
    const a = fake('a')
    const b = fake('b')
    let seed = 7
    const lcg = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const router = createRouter({
      config: routing,
      adapters: new Map([
        ['a', a],
        ['b', b],
        ['c', fake('c')],
      ]),
      random: lcg,
    })
    for (let i = 0; i < 400; i++) await router.send(msg())
    expect(a.calls.length / 400).toBeGreaterThan(0.68)
    expect(a.calls.length / 400).toBeLessThan(0.82)
    expect(a.calls.length + b.calls.length).toBe(400)
  })
})

describe('failover, retries and circuit breakers', () => {
  function setUp(
    a: ReturnType<typeof fake>,
    b: ReturnType<typeof fake>,
    extra: { retry?: unknown; breaker?: unknown } = {},
  ) {
    const waits: number[] = []
    const router = createRouter({
      config: config({
        projects: {
          '*': {
            rules: [
              {
                routes: [
                  { carrier: 'a', priority: 0 },
                  { carrier: 'b', priority: 1 },
                ],
              },
            ],
          },
        },
        ...extra,
      }),
      adapters: new Map([
        ['a', a],
        ['b', b],
      ]),
      random: () => 0.5,
      sleep: async (ms) => {
        waits.push(ms)
      },
    })
    return { router, waits }
  }

  it('retries a route with full-jitter backoff, then fails over to the next', async () => {
    const a = fake('a', 'down')
    const b = fake('b')
    const { router, waits } = setUp(a, b, { retry: { attempts: 2, baseMs: 100, maxWaitMs: 2000 } })
    const result = await router.send(msg())
    expect(result.carrier).toBe('b')
    expect(a.calls).toHaveLength(3)
    // uniform in [0, base·2^attempt): with the draw at 0.5, 50 then 100.
    expect(waits).toEqual([50, 100])
  })

  it('honours a short Retry-After, and fails over at once on a long one', async () => {
    const short = setUp(
      fake('a', (n) => (n === 1 ? 'down' : 'ok')),
      fake('b'),
    )
    expect((await short.router.send(msg())).carrier).toBe('a')

    const throttled = fake('a', 'throttled', 700)
    const t = setUp(throttled, fake('b'))
    expect((await t.router.send(msg())).carrier).toBe('b')
    expect(t.waits).toEqual([700])

    const long = fake('a', 'throttled', 60_000)
    const l = setUp(long, fake('b'))
    expect((await l.router.send(msg())).carrier).toBe('b')
    expect(long.calls).toHaveLength(1)
    expect(l.waits).toEqual([])
  })

  it('never retries nor fails over a permanent error', async () => {
    const a = fake('a', 'permanent')
    const b = fake('b')
    const { router, waits } = setUp(a, b)
    await expect(router.send(msg())).rejects.toMatchObject({ permanent: true, carrier: 'a' })
    expect(a.calls).toHaveLength(1)
    expect(b.calls).toHaveLength(0)
    expect(waits).toEqual([])
  })

  it('fails over at once, without retrying, when the route itself cannot send', async () => {
    const a = fake('a', 'refused')
    const b = fake('b')
    const { router, waits } = setUp(a, b, { retry: { attempts: 2, baseMs: 100, maxWaitMs: 2000 } })
    expect((await router.send(msg())).carrier).toBe('b')
    expect(a.calls).toHaveLength(1)
    expect(waits).toEqual([])
    // With no route left the text is not lost: the outbox gets a transient error.
    const alone = setUp(fake('a', 'refused'), fake('b', 'refused'))
    const error = await alone.router.send(msg()).catch((e) => e)
    expect(error).toMatchObject({ permanent: false })
    expect(error.message).toContain('a: [a] credentials refused')
  })

  it('gives the outbox a transient error with the shortest Retry-After when all routes fail', async () => {
    const { router } = setUp(fake('a', 'throttled', 5_000), fake('b', 'throttled', 3_000))
    const error = await router.send(msg()).catch((e) => e)
    expect(error).toBeInstanceOf(CarrierError)
    expect(error).toMatchObject({ permanent: false, retryAfterMs: 3_000 })
    expect(error.message).toContain('a: [a] throttled')
    expect(error.message).toContain('b: [b] throttled')
  })

  it('opens a route after consecutive failures, skips it, then probes it half-open', async () => {
    const a = fake('a', 'down')
    const b = fake('b')
    const { router } = setUp(a, b, {
      retry: { attempts: 0, baseMs: 1, maxWaitMs: 0 },
      breaker: { failures: 3, halfOpenAfterMs: 60 },
    })
    for (let i = 0; i < 3; i++) expect((await router.send(msg())).carrier).toBe('b')
    expect(a.calls).toHaveLength(3)
    expect(router.health().find((h) => h.carrier === 'a')?.state).toBe('open')
    // Open: a is not even tried.
    for (let i = 0; i < 5; i++) expect((await router.send(msg())).carrier).toBe('b')
    expect(a.calls).toHaveLength(3)
    // After halfOpenAfter, one probe goes through; a healthy a closes the circuit.
    await new Promise((resolve) => setTimeout(resolve, 80))
    a.set('ok')
    expect((await router.send(msg())).carrier).toBe('a')
    expect(router.health().find((h) => h.carrier === 'a')?.state).toBe('closed')
  })

  it('lets only one probe through half-open and re-opens when it fails', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const a = fake('a', 'down')
    const b = fake('b')
    const { router } = setUp(a, b, {
      retry: { attempts: 0, baseMs: 1, maxWaitMs: 0 },
      breaker: { failures: 1, halfOpenAfterMs: 40 },
    })
    await router.send(msg())
    await new Promise((resolve) => setTimeout(resolve, 60))
    const slowDown = a.send.bind(a)
    a.send = async (m) => {
      await gate
      return slowDown(m)
    }
    const probe = router.send(msg())
    const others = await Promise.all([router.send(msg()), router.send(msg())])
    expect(others.map((r) => r.carrier)).toEqual(['b', 'b'])
    release()
    expect((await probe).carrier).toBe('b')
    expect(router.health().find((h) => h.carrier === 'a')?.state).toBe('open')
  })

  it('does not count permanent errors against a route', async () => {
    const a = fake('a', 'permanent')
    const { router } = setUp(a, fake('b'), { breaker: { failures: 1, halfOpenAfterMs: 10_000 } })
    for (let i = 0; i < 3; i++) await router.send(msg()).catch(() => {})
    expect(router.health().find((h) => h.carrier === 'a')?.state).toBe('closed')
    expect(a.calls).toHaveLength(3)
  })
})

describe('routing file validation', () => {
  const problems = (input: unknown, env: Record<string, string> = {}) =>
    routingProblems(() => parseRoutingConfig(input, 'routes.json', env))

  it('names each bad field by its path', () => {
    const found = problems({
      carriers: [
        {
          id: 'a',
          type: 'smpp',
          host: '127.0.0.1',
          port: 99999,
          systemId: 'tg',
          passwordEnv: 'SMSC_A',
          sourceAddr: 'Shop',
          colour: 'red',
        },
        { id: 'b', type: 'carrier-pigeon' },
      ],
      projects: {
        nope: { rules: [] },
        '*': {
          rules: [
            { countries: ['XX'], prefixes: ['4477'], routes: [{ carrier: 'a', weight: -1 }] },
            { routes: [] },
          ],
        },
      },
    })
    expect(found).toEqual(
      expect.arrayContaining([
        'carriers.0.port: must be 1 to 65535',
        expect.stringMatching(/^carriers\.0\.colour: /),
        'carriers.1.type: unknown carrier type "carrier-pigeon" (known: "smpp", "twilio", "vonage", "infobip", "generic", "alibaba", "tencent")',
        expect.stringMatching(/^projects.nope: project keys must be/),
        'projects.*.rules.0.countries.0: "XX" is not an ISO 3166-1 alpha-2 country code (such as GB)',
        'projects.*.rules.0.prefixes.0: must be "+" and 1 to 15 digits',
        'projects.*.rules.0.routes.0.weight: must not be negative',
        'projects.*.rules.1.routes: must list at least one route',
      ]),
    )
  })

  it('takes a country in any case, as the API does', () => {
    const routing = config({
      projects: { '*': { rules: [{ countries: ['gb'], routes: [{ carrier: 'a' }] }] } },
    })
    expect(routing.projects['*']?.rules[0]?.countries).toEqual(['GB'])
  })

  it('checks references, duplicates and secrets after the shape', () => {
    const carrier = {
      type: 'smpp',
      host: '127.0.0.1',
      port: 2775,
      systemId: 'tg',
      sourceAddr: 'Shop',
    }
    expect(
      problems({
        carriers: [
          { ...carrier, id: 'a', passwordEnv: 'SMSC_A' },
          { ...carrier, id: 'a', password: 'pw' },
          { ...carrier, id: 'c' },
        ],
        projects: { '*': { rules: [{ routes: [{ carrier: 'z' }, { carrier: 'a', weight: 0 }] }] } },
      }),
    ).toEqual([
      'carriers.0.passwordEnv: the environment variable SMSC_A is not set (carrier "a")',
      'carriers.1.id: "a" is used twice',
      'carriers.2: needs "passwordEnv" (or "password")',
      'projects.*.rules.0.routes.0.carrier: no carrier "z" is defined',
    ])
    expect(
      problems(
        {
          carriers: [{ ...carrier, id: 'a', passwordEnv: 'SMSC_A' }],
          projects: { '*': { rules: [{ routes: [{ carrier: 'a', weight: 0 }] }] } },
        },
        { SMSC_A: 'pw' },
      ),
    ).toEqual(['projects.*.rules.0.routes: every route of priority 0 has weight 0'])
  })
})

describe('warnings: a rule for a main country leaves out its territories', () => {
  const rule = (fields: { countries?: string[]; prefixes?: string[] }, carrier = 'a') =>
    Object.assign({ routes: [{ carrier }] }, fields)
  const warningsOf = (projects: unknown) => routingWarnings(config({ projects }))
  const GB_ONLY = /^projects\.\*\.rules\.0: names GB but not GG, IM, JE, and no rule takes/
  // Mobiles of each territory in GB's (and RE's) mobile blocks, as the router counts them.
  const numbers = {
    IM: '+447924123456',
    JE: '+447797123456',
    GG: '+447781123456',
    YT: '+262639012345',
  }
  const unrouted = (projects: unknown, projectId = 'prj_shop') => {
    const router = createRouter({ config: config({ projects }), adapters: new Map() })
    return Object.entries(numbers)
      .filter(([, to]) => router.plan(projectId, to).length === 0)
      .map(([country]) => country)
  }

  it('names the territories, how to add them, and only when their numbers have no route', () => {
    const projects = { '*': { rules: [rule({ countries: ['GB', 'FR'] })] } }
    const warnings = warningsOf(projects)
    expect(warnings).toEqual([expect.stringMatching(GB_ONLY)])
    expect(warnings[0]).toContain('add "GG", "IM", "JE" to this rule\'s countries')
    expect(warnings[0]).toContain('"prefixes": ["+44"]')
    // What it says is what the router does: those numbers find no route (Mayotte's either, but
    // no rule names RE).
    expect(unrouted(projects)).toEqual(['IM', 'JE', 'GG', 'YT'])
    expect(
      createRouter({ config: config({ projects }), adapters: new Map() }).plan(
        'prj_shop',
        '+447400123456',
      ),
    ).not.toEqual([])
  })

  it('is not said when a catch-all takes them, in the project or in "*"', () => {
    const catchAll = rule({}, 'b')
    const cases = [
      { '*': { rules: [rule({ countries: ['GB'] }), catchAll] } },
      { prj_shop: { rules: [rule({ countries: ['GB'] })] }, '*': { rules: [catchAll] } },
      { '*': { rules: [rule({ countries: ['GB'] }), rule({ prefixes: ['+44'] }, 'b')] } },
      { '*': { rules: [rule({ countries: ['GB'] }), rule({ prefixes: ['+447'] }, 'b')] } },
      { '*': { rules: [rule({ countries: ['GB', 'IM', 'JE', 'GG'] })] } },
      { '*': { rules: [rule({ countries: ['GB', 'IM'] }), rule({ countries: ['JE', 'GG'] })] } },
    ]
    for (const projects of cases) {
      expect(warningsOf(projects)).toEqual([])
      expect(unrouted(projects).filter((country) => country !== 'YT')).toEqual([])
    }
  })

  it('names only the territories nothing takes, per rule and project', () => {
    const warnings = warningsOf({
      prj_shop: { rules: [rule({ countries: ['GB', 'IM'] })] },
      prj_news: { rules: [rule({ countries: ['GB'] }), rule({ countries: ['FR'] })] },
      '*': { rules: [rule({ countries: ['JE'] }), rule({ countries: ['RE'] })] },
    })
    expect(warnings).toEqual([
      expect.stringMatching(/^projects\.prj_shop\.rules\.0: names GB but not GG, and no rule/),
      expect.stringMatching(/^projects\.prj_news\.rules\.0: names GB but not GG, IM, and no rule/),
      expect.stringMatching(
        /^projects\.\*\.rules\.1: names RE but not YT, .*"prefixes": \["\+262"\]/,
      ),
    ])
  })

  it('counts a prefix rule that takes some of their mobiles as taking them', () => {
    // +447624 takes Manx Telecom's mobiles (not Sure's 07924): IM is left out of the warning.
    const projects = {
      '*': { rules: [rule({ countries: ['GB'] }), rule({ prefixes: ['+447624'] })] },
    }
    expect(warningsOf(projects)).toEqual([
      expect.stringMatching(/^projects\.\*\.rules\.0: names GB but not GG, JE, and no rule/),
    ])
  })

  it('is not said for a rule that would not take their mobiles anyway, nor for other plans', () => {
    expect(
      warningsOf({
        '*': {
          rules: [
            rule({ countries: ['GB'], prefixes: ['+4420'] }), // London lines
            rule({ countries: ['US'] }), // the NANP countries have area codes of their own
            rule({ countries: ['RU'] }), // KZ's mobiles are in other blocks
            rule({ countries: ['FI', 'IT', 'AU'] }), // AX's, VA's, CC's mobiles are theirs
          ],
        },
      }),
    ).toEqual([])
  })
})
