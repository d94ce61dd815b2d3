import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { capturedLogger } from '../../testing/log-capture'
import { createTestStorage, DIALECTS } from '../../testing/storage'
import { findApiKey, setFraudSettings } from '../projects'
import { createVerificationService } from '../verifications/service'
import { createChallengeService } from './challenge'
import { CountersUnavailableError } from './counters'
import { createFraudGuard } from './guard'
import {
  FraudSettingsError,
  type FraudSettingsInput,
  parseFraudSettings,
  parseGivenFraudSettings,
} from './settings'

const CONSENT = { accepted: true, version: 'v1' }

/**
 * Solves a 428's proof of work (ALTCHA v1: the number whose SHA-256 with the salt is the
 * challenge, searched from 0 as ALTCHA's solvers search) and encodes the payload. With
 * node:crypto, at about a microsecond a try: altcha-lib's solver takes a WebCrypto round per
 * try, seconds for one puzzle of the default difficulty. challenge.test.ts checks that
 * altcha-lib's own solver and verifier take these puzzles.
 */
function solve(challenge: {
  algorithm: string
  challenge: string
  salt: string
  signature: string
  maxnumber: number
}): string {
  let number = -1
  for (let n = 0; n <= challenge.maxnumber; n++) {
    if (
      createHash('sha256').update(`${challenge.salt}${n}`).digest('hex') === challenge.challenge
    ) {
      number = n
      break
    }
  }
  if (number < 0) throw new Error('no solution')
  return Buffer.from(
    JSON.stringify({
      algorithm: challenge.algorithm,
      challenge: challenge.challenge,
      number,
      salt: challenge.salt,
      signature: challenge.signature,
    }),
  ).toString('base64')
}

describe('fraud settings', () => {
  it('fills every default from {}', () => {
    const settings = parseFraudSettings({})
    expect(settings.numberType.allow).toEqual(['mobile', 'fixed_line_or_mobile'])
    expect(settings.velocity.rules.length).toBeGreaterThan(5)
    expect(settings.spend.dailyProjectCap).toBe(50)
  })

  it('names every bad field', () => {
    try {
      parseFraudSettings({
        velocity: { rules: [{ scope: 'galaxy', window: 'soon' }] },
        spend: { dailyProjectCap: -1 },
        surprise: true,
      })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(FraudSettingsError)
      const message = (error as Error).message
      expect(message).toContain('velocity.rules.0.scope: scope must be one of')
      expect(message).toContain('velocity.rules.0.window: a window is a duration')
      expect(message).toContain('spend.dailyProjectCap')
      expect(message).toContain('surprise')
    }
  })

  it('takes from an operator only countries that are countries, each named', () => {
    const given = {
      spend: { costs: { GB: 0.04, UK: 0.04 } },
      destinations: { prior: { XX: { risk: 'high' } } },
    } satisfies FraudSettingsInput
    expect(() => parseGivenFraudSettings(given)).toThrow(FraudSettingsError)
    expect(() => parseGivenFraudSettings(given)).toThrow(
      [
        'invalid fraud settings:',
        '  spend.costs.UK: "UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)',
        '  destinations.prior.XX: "XX" is not an ISO 3166-1 alpha-2 country code (such as GB)',
      ].join('\n'),
    )
    // Settings stored before countries were checked still load (UK simply matches no number).
    expect(parseFraudSettings(given).spend.costs).toEqual({ GB: 0.04, UK: 0.04 })
    expect(parseGivenFraudSettings({ spend: { costs: { GB: 0.04 } } }).spend.costs).toEqual({
      GB: 0.04,
    })
  })

  it('wants digits on a prefix rule and a limit on every rule', () => {
    expect(() =>
      parseFraudSettings({ velocity: { rules: [{ scope: 'prefix', window: '1h', blockAt: 3 }] } }),
    ).toThrow(/prefix rule needs digits/)
    expect(() =>
      parseFraudSettings({ velocity: { rules: [{ scope: 'ip', window: '1h' }] } }),
    ).toThrow(/needs challengeAt, blockAt or both/)
  })
})

describe.each(DIALECTS)('fraud guard on %s', (dialect) => {
  let h: Harness

  beforeEach(async () => {
    h = await createHarness(dialect)
  })
  afterEach(async () => {
    await h.dispose()
  })

  async function shop(fraudSettings: FraudSettingsInput = {}) {
    return h.project({ fraudSettings })
  }

  /** Settings where only the spend caps hold starts (nothing else about the range counts). */
  const capsOnly = (spend: FraudSettingsInput['spend']): FraudSettingsInput => ({
    velocity: { mode: 'off' },
    destinations: { mode: 'off' },
    conversion: { mode: 'off' },
    spend,
  })

  function start(
    key: string,
    phone: string,
    { ip = '198.51.100.7', ...extra }: { ip?: string; challenge?: string } = {},
  ) {
    return h.call('POST', '/v1/verifications', {
      key,
      body: { phone, consent: CONSENT, ...extra },
      headers: { 'X-Forwarded-For': ip },
    })
  }

  async function details(secretKey: string, id: string) {
    return (await h.call('GET', `/v1/verifications/${id}`, { key: secretKey })).json
  }

  describe('number type', () => {
    it('refuses premium-rate, toll-free, pager, VoIP and fixed-line numbers before sending', async () => {
      const { publishableKey } = await shop()
      for (const phone of [
        '+449098765432',
        '+448001234567',
        '+447640123456',
        '+445612345678',
        '+441212345678',
      ]) {
        const res = await start(publishableKey, phone)
        expect(res.status, phone).toBe(422)
        expect(res.json.error.code).toBe('unsupported_number_type')
      }
      await h.dispatcher.drain()
      expect(await h.db.selectFrom('messages').select('id').execute()).toEqual([])
    })

    it('takes the types a project allows, and only records them in shadow mode', async () => {
      const allowing = await shop({ numberType: { allow: ['mobile', 'fixed_line'] } })
      expect((await start(allowing.publishableKey, '+441212345678')).status).toBe(201)
      const shadow = await shop({ numberType: { mode: 'shadow' } })
      const res = await start(shadow.publishableKey, '+449098765432')
      expect(res.status).toBe(201)
      const row = await details(shadow.secretKey, res.json.id)
      expect(row.risk.reasons).toContain('shadow:block:number_type.premium_rate')
    })
  })

  describe('block lists: a blocked number gets a decoy', () => {
    it('answers like a normal start, sends nothing, and no code can ever pass', async () => {
      const { publishableKey, secretKey } = await shop()
      const listed = await h.call('POST', '/v1/fraud/lists', {
        key: secretKey,
        body: { list: 'block', kind: 'phone', value: '+44 7400 111222', note: 'pumping' },
      })
      expect(listed.status).toBe(201)
      expect(listed.json).toMatchObject({ list: 'block', kind: 'phone', value: '+447400111222' })

      const blocked = await start(publishableKey, '+447400111222')
      const normal = await start(publishableKey, '+447400333444')
      expect(blocked.status).toBe(201)
      expect(Object.keys(blocked.json).sort()).toEqual(Object.keys(normal.json).sort())
      expect(blocked.json.status).toBe('pending')

      expect(await h.inbox(secretKey, '+447400111222')).toEqual([])
      expect(await h.inbox(secretKey, '+447400333444')).toHaveLength(1)
      const row = await details(secretKey, blocked.json.id)
      expect(row.risk).toEqual({ decision: 'block', reasons: ['block:list.block.phone'] })
      expect(row.messages.map((m: { status: string }) => m.status)).toEqual(['suppressed'])

      const check = await h.call('POST', `/v1/verifications/${blocked.json.id}/check`, {
        key: publishableKey,
        body: { code: '123456' },
      })
      expect(check.json.error.code).toBe('incorrect_code')
    })

    it('blocks a prefix and a country for the number, an IP network with a generic 403', async () => {
      const { publishableKey, secretKey } = await shop()
      for (const [kind, value] of [
        ['prefix', '+4474005'],
        ['country', 'fr'],
        ['ip', '203.0.113.0/24'],
      ]) {
        const res = await h.call('POST', '/v1/fraud/lists', {
          key: secretKey,
          body: { list: 'block', kind, value },
        })
        expect(res.status).toBe(201)
      }
      const byPrefix = await start(publishableKey, '+447400512345')
      expect(byPrefix.status).toBe(201)
      expect((await details(secretKey, byPrefix.json.id)).risk.decision).toBe('block')
      const byCountry = await start(publishableKey, '+33612345678')
      expect((await details(secretKey, byCountry.json.id)).risk.decision).toBe('block')

      const byIp = await start(publishableKey, '+447400600700', { ip: '203.0.113.99' })
      expect(byIp.status).toBe(403)
      expect(byIp.json.error).toEqual({
        code: 'blocked',
        message: 'This request cannot be completed.',
      })
    })

    it('lets an allow-listed number skip velocity, and validates list entries', async () => {
      const { publishableKey, secretKey } = await shop({
        velocity: { rules: [{ scope: 'phone', window: '1h', blockAt: 1 }] },
      })
      await h.call('POST', '/v1/fraud/lists', {
        key: secretKey,
        body: { list: 'allow', kind: 'phone', value: '+447400222333', note: 'QA phone' },
      })
      for (let i = 0; i < 3; i++) {
        const res = await start(publishableKey, '+447400222333')
        expect((await details(secretKey, res.json.id)).risk.decision).toBe('allow')
      }
      const bad = await h.call('POST', '/v1/fraud/lists', {
        key: secretKey,
        body: { list: 'block', kind: 'ip', value: 'not-an-ip' },
      })
      expect(bad.status).toBe(400)
      expect(bad.json.error.issues[0].message).toMatch(/address or a CIDR/)
      // UK (for GB) would be stored and never match a number.
      const uk = await h.call('POST', '/v1/fraud/lists', {
        key: secretKey,
        body: { list: 'block', kind: 'country', value: 'UK' },
      })
      expect([uk.status, uk.json.error.code, uk.json.error.message]).toEqual([
        400,
        'invalid_request',
        '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)',
      ])
      expect(uk.json.error.issues).toEqual([{ path: 'value', message: uk.json.error.message }])
      const refused = await h.call('GET', '/v1/fraud/lists', { key: publishableKey })
      expect(refused.json.error.code).toBe('wrong_key_type')

      const entries = (await h.call('GET', '/v1/fraud/lists', { key: secretKey })).json
      expect(entries).toHaveLength(1)
      const removed = await h.call('DELETE', `/v1/fraud/lists/${entries[0].id}`, { key: secretKey })
      expect(removed.status).toBe(204)
      expect((await h.call('GET', '/v1/fraud/lists', { key: secretKey })).json).toEqual([])
    })
  })

  describe('velocity and the challenge', () => {
    it('asks for proof of work past the limit, accepts a solution once', async () => {
      const { publishableKey, secretKey } = await shop({
        velocity: { rules: [{ scope: 'phone', window: '1h', challengeAt: 2, blockAt: 10 }] },
      })
      const phone = '+447400444555'
      expect((await start(publishableKey, phone)).status).toBe(201)
      expect((await start(publishableKey, phone)).status).toBe(201)
      const third = await start(publishableKey, phone)
      expect(third.status).toBe(428)
      expect(third.json.error.code).toBe('challenge_required')
      expect(third.json.error.challenge).toMatchObject({ algorithm: 'SHA-256', maxnumber: 50_000 })

      const payload = solve(third.json.error.challenge)
      const solved = await start(publishableKey, phone, { challenge: payload })
      expect(solved.status).toBe(201)
      const row = await details(secretKey, solved.json.id)
      expect(row.risk).toEqual({ decision: 'challenge', reasons: ['challenge:velocity.phone.1h'] })
      expect(await h.inbox(secretKey, phone)).toHaveLength(3)

      const replayed = await start(publishableKey, phone, { challenge: payload })
      expect(replayed.status).toBe(428)
      const forged = await start(publishableKey, phone, {
        challenge: Buffer.from('{"salt":"x","signature":"y"}').toString('base64'),
      })
      expect(forged.status).toBe(428)
    })

    it("accepts the store's own Turnstile token instead, checked with siteverify", async () => {
      const received: URLSearchParams[] = []
      const siteverify = createServer((req, res) => {
        let body = ''
        req.on('data', (chunk) => {
          body += chunk
        })
        req.on('end', () => {
          const form = new URLSearchParams(body)
          received.push(form)
          res.setHeader('Content-Type', 'application/json')
          res.end(JSON.stringify({ success: form.get('response') === 'good-token' }))
        })
      })
      await new Promise<void>((resolve) => siteverify.listen(0, '127.0.0.1', resolve))
      const { port } = siteverify.address() as AddressInfo
      try {
        const { publishableKey } = await shop({
          velocity: { rules: [{ scope: 'phone', window: '1h', challengeAt: 1 }] },
          challenge: {
            captcha: {
              provider: 'turnstile',
              secret: 'turnstile-secret',
              verifyUrl: `http://127.0.0.1:${port}/siteverify`,
            },
          },
        })
        const phone = '+447400444666'
        expect((await start(publishableKey, phone)).status).toBe(201)
        const call = (token: string) =>
          h.call('POST', '/v1/verifications', {
            key: publishableKey,
            body: { phone, consent: CONSENT, captcha: { token } },
            headers: { 'X-Forwarded-For': '198.51.100.7' },
          })
        expect((await call('bad-token')).status).toBe(428)
        expect((await call('good-token')).status).toBe(201)
        expect(received.map((f) => Object.fromEntries(f))).toEqual([
          { secret: 'turnstile-secret', response: 'bad-token', remoteip: '198.51.100.7' },
          { secret: 'turnstile-secret', response: 'good-token', remoteip: '198.51.100.7' },
        ])
      } finally {
        siteverify.close()
      }
    })

    it('honours a solved puzzle at the price quoted for its number, even when the risk rose meanwhile', async () => {
      const { publishableKey } = await shop({
        velocity: {
          rules: [
            { scope: 'phone', window: '1h', challengeAt: 1 },
            { scope: 'ip', window: '1h', challengeAt: 2 },
            { scope: 'prefix', digits: 3, window: '1h', challengeAt: 2 },
          ],
        },
      })
      expect((await start(publishableKey, '+447400444701')).status).toBe(201)
      const quoted = await start(publishableKey, '+447400444701')
      expect(quoted.json.error.challenge.maxnumber).toBe(50_000)
      const payload = solve(quoted.json.error.challenge)
      // Another number in the prefix now asks twice the work: the puzzle quoted for the first
      // number is not its price.
      const other = await start(publishableKey, '+447400444702', { challenge: payload })
      expect(other.status).toBe(428)
      expect(other.json.error.challenge.maxnumber).toBe(100_000)
      // The shopper who solved it, though, is not asked again for the same number.
      const solved = await start(publishableKey, '+447400444701', { challenge: payload })
      expect(solved.status).toBe(201)
    })

    it('makes the puzzle harder as reasons pile up', async () => {
      const { publishableKey } = await shop({
        velocity: {
          rules: [
            { scope: 'phone', window: '1h', challengeAt: 1 },
            { scope: 'ip', window: '1h', challengeAt: 1 },
            { scope: 'prefix', digits: 3, window: '1h', challengeAt: 1 },
          ],
        },
      })
      await start(publishableKey, '+447400555666')
      const res = await start(publishableKey, '+447400555666')
      expect(res.json.error.challenge.maxnumber).toBe(200_000)
    })

    it('refuses an IP past its block limit with 429 and Retry-After', async () => {
      const { publishableKey } = await shop({
        velocity: { rules: [{ scope: 'ip', window: '10m', blockAt: 3 }] },
      })
      for (let i = 0; i < 3; i++) {
        expect((await start(publishableKey, `+44740066600${i}`, { ip: '192.0.2.10' })).status).toBe(
          201,
        )
      }
      const refused = await start(publishableKey, '+447400666009', { ip: '192.0.2.10' })
      expect(refused.status).toBe(429)
      expect(refused.json.error.code).toBe('rate_limited')
      expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0)
      // Another address is not affected; ten minutes later the first one is free again.
      expect((await start(publishableKey, '+447400666010', { ip: '192.0.2.11' })).status).toBe(201)
      h.advance(20 * 60_000)
      expect((await start(publishableKey, '+447400666011', { ip: '192.0.2.10' })).status).toBe(201)
    })

    it('counts an IPv4 /24 and an IPv6 /48 as one network', async () => {
      const { publishableKey } = await shop({
        velocity: { rules: [{ scope: 'network', window: '1h', blockAt: 2 }] },
      })
      expect((await start(publishableKey, '+447400777001', { ip: '192.0.2.1' })).status).toBe(201)
      expect((await start(publishableKey, '+447400777002', { ip: '192.0.2.200' })).status).toBe(201)
      expect((await start(publishableKey, '+447400777003', { ip: '192.0.2.77' })).status).toBe(429)
      expect((await start(publishableKey, '+447400777004', { ip: '2001:db8:1:2::1' })).status).toBe(
        201,
      )
      expect(
        (await start(publishableKey, '+447400777005', { ip: '2001:db8:1:ff::9' })).status,
      ).toBe(201)
      expect((await start(publishableKey, '+447400777006', { ip: '2001:db8:1::5' })).status).toBe(
        429,
      )
    })

    it('blocks sequential numbers in one range with decoys', async () => {
      const { publishableKey, secretKey } = await shop({
        velocity: { rules: [{ scope: 'prefix', digits: 3, window: '1h', blockAt: 3 }] },
      })
      const statuses: number[] = []
      const decisions: string[] = []
      for (let i = 0; i < 6; i++) {
        const res = await start(publishableKey, `+44740088800${i}`, { ip: `198.51.100.${i}` })
        statuses.push(res.status)
        decisions.push((await details(secretKey, res.json.id)).risk.decision)
      }
      expect(statuses).toEqual([201, 201, 201, 201, 201, 201])
      expect(decisions).toEqual(['allow', 'allow', 'allow', 'block', 'block', 'block'])
      await h.dispatcher.drain()
      const sent = await h.db
        .selectFrom('messages')
        .select('status')
        .where('status', '!=', 'suppressed')
        .execute()
      expect(sent).toHaveLength(3)
    })

    it('records but does not enforce a check in shadow mode', async () => {
      const { publishableKey, secretKey } = await shop({
        velocity: { mode: 'shadow', rules: [{ scope: 'phone', window: '1h', blockAt: 1 }] },
      })
      await start(publishableKey, '+447400999111')
      const second = await start(publishableKey, '+447400999111')
      const row = await details(secretKey, second.json.id)
      expect(row.risk).toEqual({ decision: 'allow', reasons: ['shadow:block:velocity.phone.1h'] })
      expect(await h.inbox(secretKey, '+447400999111')).toHaveLength(2)
    })
  })

  describe('conversion-rate breaker', () => {
    it('challenges then blocks a prefix whose codes nobody enters', async () => {
      const { publishableKey, secretKey } = await shop({
        velocity: { mode: 'off' },
        conversion: {
          minSentPerPrefix: 4,
          prefixDigits: 4,
          challengeBelow: 0.5,
          blockBelow: 0.21,
          minSent: 1000,
        },
      })
      // One good shopper in the range enters the code; four pumped numbers never do.
      const good = await start(publishableKey, '+447400130001')
      const [code] = await h.inbox(secretKey, '+447400130001')
      await h.call('POST', `/v1/verifications/${good.json.id}/check`, {
        key: publishableKey,
        body: { code },
      })
      for (let i = 2; i <= 4; i++) await start(publishableKey, `+44740013000${i}`)
      // 1 entered of 4 sent: 25 % < 50 % → challenge.
      const challenged = await start(publishableKey, '+447400130005')
      expect(challenged.status).toBe(428)
      expect((await start(publishableKey, '+447400139999')).json.error.code).toBe(
        'challenge_required',
      )
      // Solving lets it through; then 1 entered of 5 sent = 20 % < 21 % → block (a decoy).
      const payload = solve(challenged.json.error.challenge)
      expect((await start(publishableKey, '+447400130006', { challenge: payload })).status).toBe(
        201,
      )
      const blocked = await start(publishableKey, '+447400130007')
      expect(blocked.status).toBe(201)
      expect((await details(secretKey, blocked.json.id)).risk.reasons).toContain(
        'block:conversion.prefix',
      )
      // Another range of the same country is untouched.
      expect((await start(publishableKey, '+447400990001')).status).toBe(201)
    })
  })

  describe('daily spend caps', () => {
    it('stops texts to a country at its cap, and the whole project at its cap', async () => {
      const { publishableKey, secretKey } = await shop({
        velocity: { mode: 'off' },
        spend: { dailyCountryCap: 0.1, dailyProjectCap: 0.25, defaultCostPerSms: 0.05 },
      })
      const gb = []
      for (let i = 0; i < 3; i++) gb.push(await start(publishableKey, `+4474001400${i}0`))
      const decisions = await Promise.all(
        gb.map(async (r) => (await details(secretKey, r.json.id)).risk.decision),
      )
      expect(decisions).toEqual(['allow', 'allow', 'block'])
      expect(gb.map((r) => r.status)).toEqual([201, 201, 201])
      // The project has spent 0.10 (GB's decoy sent nothing and was not charged): France takes
      // two texts to its own cap, Germany one more to the project's 0.25, and the next is refused.
      expect((await start(publishableKey, '+33612345001')).status).toBe(201)
      expect((await start(publishableKey, '+33612345002')).status).toBe(201)
      expect((await start(publishableKey, '+4915112345001')).status).toBe(201)
      const over = await start(publishableKey, '+4915112345002')
      expect(over.status).toBe(403)
      expect(over.json.error.code).toBe('blocked')
      // A new UTC day, a new budget.
      h.advance(24 * 3_600_000)
      expect((await start(publishableKey, '+33612345004')).status).toBe(201)
    })

    it("charges the project nothing for a pumped country's decoys past its cap", async () => {
      const { publishableKey, secretKey } = await shop(
        capsOnly({ dailyCountryCap: 0.1, dailyProjectCap: 0.25, defaultCostPerSms: 0.05 }),
      )
      // GB's cap takes two texts; then forty more starts there are decoys.
      const pumped = []
      for (let i = 0; i < 42; i++) pumped.push(await start(publishableKey, `+4474001${500 + i}00`))
      expect(pumped.every((r) => r.status === 201)).toBe(true)
      const last = await details(secretKey, pumped[41]?.json.id)
      expect(last.risk.reasons).toContain('block:spend.country')
      // Shoppers elsewhere still get their texts: the project has spent 0.10 of its 0.25.
      for (const phone of ['+33612345101', '+33612345102', '+4915112345101']) {
        const shopper = await start(publishableKey, phone)
        expect(shopper.status).toBe(201)
        expect((await details(secretKey, shopper.json.id)).risk.decision).toBe('allow')
      }
      expect((await start(publishableKey, '+4915112345102')).status).toBe(403)
    })
  })

  describe('idempotent starts', () => {
    const racers = (key: string, phone: string) =>
      Array.from({ length: 8 }, () =>
        h.call('POST', '/v1/verifications', {
          key,
          body: { phone, consent: CONSENT },
          headers: { 'X-Forwarded-For': '198.51.100.7', 'Idempotency-Key': 'cart-7' },
        }),
      )

    it('assess requests that race with one Idempotency-Key once: counted and charged once', async () => {
      const { publishableKey, secretKey } = await shop({
        // One text's room left after the racers' and the number's second start.
        ...capsOnly({ dailyCountryCap: 1, dailyProjectCap: 0.15, defaultCostPerSms: 0.05 }),
        velocity: { rules: [{ scope: 'phone', window: '1h', challengeAt: 2 }] },
      })
      const results = await Promise.all(racers(publishableKey, '+447400160016'))
      expect(results.map((r) => r.status)).toEqual(Array(8).fill(201))
      expect(new Set(results.map((r) => r.json.id)).size).toBe(1)
      expect(await h.inbox(secretKey, '+447400160016')).toHaveLength(1)
      // The number was started once: its second start is let through, its third challenged.
      expect((await start(publishableKey, '+447400160016')).status).toBe(201)
      expect((await start(publishableKey, '+447400160016')).status).toBe(428)
      // Two texts sent (0.10 of the project's 0.15): one more fits, then the cap is reached.
      expect((await start(publishableKey, '+447400160020')).status).toBe(201)
      expect((await start(publishableKey, '+447400160021')).status).toBe(403)
    })

    it('charge the spend caps once for requests that race on two processes', async () => {
      // Room for all eight at once: each reserves before they learn which one is written.
      const { publishableKey, secretKey } = await shop(
        capsOnly({ dailyCountryCap: 1, dailyProjectCap: 0.4, defaultCostPerSms: 0.05 }),
      )
      // Another process on the same database: its starts race this one's.
      const other = createVerificationService({
        db: h.db,
        secrets: h.secrets,
        tokens: h.tokens,
        fraud: h.fraud,
        now: h.now,
      })
      const auth = await findApiKey(h.db, publishableKey)
      if (!auth) throw new Error('no key')
      const input = { phone: '+447400160016', consent: { accepted: true as const, version: 'v1' } }
      const meta = { origin: null, ip: '198.51.100.7', idempotencyKey: 'cart-7' }
      const results = await Promise.all([
        ...racers(publishableKey, input.phone).slice(0, 4),
        ...Array.from({ length: 4 }, () =>
          other.start(auth, input, meta).then((r) => ({ status: r.status, json: r.body })),
        ),
      ])
      expect(new Set(results.map((r) => r.json.id)).size).toBe(1)
      expect(await h.inbox(secretKey, input.phone)).toHaveLength(1)
      // One text sent (0.05 of the project's 0.40): seven more fit, then the cap is reached.
      for (let i = 0; i < 7; i++) {
        expect((await start(publishableKey, `+44740016002${i}`)).status).toBe(201)
      }
      expect((await start(publishableKey, '+447400160030')).status).toBe(403)
    })
  })

  describe('settings naming no country', () => {
    it('are refused when given, and still read when stored before the check', async () => {
      const { project, publishableKey } = await shop({ spend: { costs: { GB: 0.04 } } })
      const legacy = JSON.stringify({ spend: { costs: { UK: 0.04 } } })
      await expect(setFraudSettings(h.db, project.id, legacy)).rejects.toThrow(
        /spend\.costs\.UK: "UK" is not an ISO 3166-1 alpha-2 country code/,
      )
      const stored = await h.db
        .selectFrom('projects')
        .select('fraud_settings')
        .where('id', '=', project.id)
        .executeTakeFirstOrThrow()
      expect(JSON.parse(stored.fraud_settings ?? '{}')).toEqual({ spend: { costs: { GB: 0.04 } } })
      // As an older version could have stored them: starts go on.
      await h.db
        .updateTable('projects')
        .set({ fraud_settings: legacy })
        .where('id', '=', project.id)
        .execute()
      h.advance(60_000)
      expect((await start(publishableKey, '+447400123456')).status).toBe(201)
    })
  })

  describe('resends', () => {
    it('pay like first texts: past the cap a resend is a decoy', async () => {
      const { publishableKey, secretKey } = await shop({
        velocity: { mode: 'off' },
        spend: { dailyCountryCap: 0.1, dailyProjectCap: 0.15, defaultCostPerSms: 0.05 },
      })
      const started = await start(publishableKey, '+447400210021')
      const resend = () =>
        h.call('POST', `/v1/verifications/${started.json.id}/resend`, { key: publishableKey })
      h.advance(31_000)
      expect((await resend()).status).toBe(200)
      h.advance(61_000)
      const third = await resend()
      expect(third.status).toBe(200)
      expect(Object.keys(third.json).sort()).toEqual(['attemptsLeft', 'expiresAt', 'resendAfter'])
      const statuses = (await details(secretKey, started.json.id)).messages.map(
        (m: { status: string }) => m.status,
      )
      await h.dispatcher.drain()
      expect(statuses.slice(0, 2).every((s: string) => s !== 'suppressed')).toBe(true)
      expect(statuses[2]).toBe('suppressed')
      const events = (await h.call('GET', '/v1/fraud/events?limit=1', { key: secretKey })).json
      expect(events[0]).toMatchObject({
        outcome: 'resend_suppressed',
        reasons: ['block:spend.country'],
      })
      // The suppressed resend was not charged: the project has spent 0.10 of its 0.15.
      expect((await start(publishableKey, '+33612345201')).status).toBe(201)
      expect((await start(publishableKey, '+33612345202')).status).toBe(403)
    })
  })

  describe('guessing', () => {
    it('bounds wrong codes per number across verifications', async () => {
      const { publishableKey } = await shop({
        velocity: { mode: 'off' },
        maxWrongCodesPerNumber: 7,
      })
      const phone = '+447400150015'
      const codes: string[] = []
      const answers: { retry?: string; retryAfter: string | null }[] = []
      for (let v = 0; v < 2; v++) {
        const res = await start(publishableKey, phone)
        for (let i = 0; i < 5; i++) {
          const check = await h.call('POST', `/v1/verifications/${res.json.id}/check`, {
            key: publishableKey,
            body: { code: '000000' },
          })
          codes.push(check.json.error.code)
          answers.push({
            retry: check.json.error.retry,
            retryAfter: check.headers.get('Retry-After'),
          })
        }
      }
      // 5 on the first (the fifth fails it), then the second stops at the 7th wrong guess overall.
      expect(codes.slice(0, 5)).toEqual([
        ...Array(4).fill('incorrect_code'),
        'max_attempts_reached',
      ])
      expect(codes.slice(5, 7)).toEqual(['incorrect_code', 'max_attempts_reached'])
      // The first verification's checks ran out (a new one helps); the number's did on the
      // second (a new one would fail at its first check): come back in a day.
      expect(answers[4]).toMatchObject({ retry: 'new_verification', retryAfter: '600' })
      expect(answers[6]).toMatchObject({ retry: 'later', retryAfter: '86400' })
      expect(
        codes
          .slice(7)
          .every((c) => c === 'max_attempts_reached' || c === 'verification_not_pending'),
      ).toBe(true)
    })
  })

  describe('the operator sees every decision', () => {
    it('lists decisions with reasons through the API', async () => {
      const { publishableKey, secretKey } = await shop({
        velocity: { rules: [{ scope: 'phone', window: '1h', challengeAt: 1 }] },
      })
      await start(publishableKey, '+447400160016')
      await start(publishableKey, '+447400160016')
      const events = (await h.call('GET', '/v1/fraud/events?limit=10', { key: secretKey })).json
      expect(events.map((e: { outcome: string }) => e.outcome)).toEqual(['challenged', 'sent'])
      expect(events[0]).toMatchObject({
        decision: 'challenge',
        phone: '+447400160016',
        ip: '198.51.100.7',
        reasons: ['challenge:velocity.phone.1h'],
      })
      const bad = await h.call('GET', '/v1/fraud/events?decision=maybe', { key: secretKey })
      expect(bad.status).toBe(400)
    })

    it('holds the query to what the API documents, with a clear message', async () => {
      const { secretKey } = await shop({})
      for (const [query, message] of [
        ['/v1/fraud/events?limit=0', 'limit must be a whole number from 1 to 500'],
        ['/v1/fraud/events?limit=501', 'limit must be a whole number from 1 to 500'],
        ['/v1/fraud/events?limit=1e2', 'limit must be a whole number from 1 to 500'],
        ['/v1/fraud/events?limit=%2010', 'limit must be a whole number from 1 to 500'],
        ['/v1/fraud/events?decision=maybe', 'decision must be allow, challenge or block'],
        ['/v1/fraud/summary?hours=0', 'hours must be more than 0 and at most 720'],
        ['/v1/fraud/summary?hours=721', 'hours must be more than 0 and at most 720'],
        [
          '/v1/fraud/summary?hours=0x10',
          'hours must be a number of hours, more than 0 and at most 720',
        ],
        [
          '/v1/fraud/summary?hours=',
          'hours must be a number of hours, more than 0 and at most 720',
        ],
      ] as const) {
        const res = await h.call('GET', query, { key: secretKey })
        expect([query, res.status, res.json.error.code, res.json.error.message]).toEqual([
          query,
          400,
          'invalid_request',
          message,
        ])
      }
      for (const query of ['/v1/fraud/events?limit=500', '/v1/fraud/summary?hours=720']) {
        expect([query, (await h.call('GET', query, { key: secretKey })).status]).toEqual([
          query,
          200,
        ])
      }
    })

    it('sums up what the guard stopped', async () => {
      const { publishableKey, secretKey } = await shop({
        velocity: { rules: [{ scope: 'prefix', digits: 4, window: '1h', blockAt: 2 }] },
      })
      for (let i = 0; i < 5; i++) await start(publishableKey, `+44740017000${i}`)
      await start(publishableKey, '+449098765432')
      const res = await h.call('GET', '/v1/fraud/summary?hours=1', { key: secretKey })
      expect(res.json).toMatchObject({
        starts: 6,
        outcomes: { sent: 2, decoy: 3, refused: 1 },
        topStoppedRanges: [
          { key: '+44740017xxxx', count: 3 },
          { key: '+44909876xxxx', count: 1 },
        ],
        topStoppedCountries: [{ key: 'GB', count: 4 }],
      })
      expect(res.json.topReasons[0]).toEqual({ key: 'block:velocity.prefix4.1h', count: 3 })
      h.advance(2 * 3_600_000)
      expect((await h.call('GET', '/v1/fraud/summary', { key: secretKey })).json.starts).toBe(0)
    })
  })
})

describe.each(DIALECTS)('spend caps from route prices on %s', (dialect) => {
  it("counts the first live route's price, and the settings' cost in test mode", async () => {
    const storage = await createTestStorage(dialect)
    try {
      const guard = createFraudGuard({
        db: storage.db,
        challenges: createChallengeService(storage.db, Buffer.alloc(32, 7)),
        routeCost: (_projectId, phone) => (phone.startsWith('+234') ? 0.4 : undefined),
      })
      const fraudSettings = JSON.stringify({
        velocity: { mode: 'off' },
        // Nigeria without history is a cold destination: this test is about the spend cap.
        destinations: { mode: 'off' },
        callers: { mode: 'off' },
        spend: { dailyCountryCap: 1, dailyProjectCap: 100, defaultCostPerSms: 0.01 },
      })
      const assess = (mode: 'live' | 'test', phone: string, country: string) =>
        guard.assess({
          projectId: 'prj_spend',
          fraudSettings,
          mode,
          phone,
          country,
          numberType: 'mobile',
          ip: '198.51.100.1',
        })
      // 0.4 a text on the live route to Nigeria: the third passes the cap of 1.
      const live = []
      for (let i = 0; i < 3; i++) live.push((await assess('live', `+23480310000${i}`, 'NG')).decoy)
      expect(live).toEqual([false, false, true])
      // Test mode (sandbox) costs what the settings say: 0.01, far below the cap.
      expect((await assess('test', '+447400200200', 'GB')).decoy).toBe(false)
    } finally {
      await storage.dispose()
    }
  })
})

describe('tallies written behind the answer', () => {
  it('logs a tally that fails instead of failing the start, and close() waits for one under way', async () => {
    const storage = await createTestStorage('sqlite')
    try {
      let release!: () => void
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      let adds = 0
      const { logger, lines } = capturedLogger()
      const guard = createFraudGuard({
        db: storage.db,
        challenges: createChallengeService(storage.db, Buffer.alloc(32, 7)),
        logger,
        counters: {
          hit: async (refs) => refs.map(() => 0),
          read: async (refs) => refs.map(() => 0),
          add: async () => {
            adds++
            if (adds === 1) throw new Error('counter store down')
            await held
          },
        },
      })
      const assessment = await guard.assess({
        projectId: 'prj_tally',
        fraudSettings: null,
        mode: 'test',
        phone: '+447400300300',
        country: 'GB',
        numberType: 'mobile',
        ip: '198.51.100.9',
        request: { requestId: 'req-tally-1' },
      })
      await expect(guard.afterStart(assessment)).resolves.toBeUndefined()
      // The line names the request whose start it was, though written after its answer.
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: 'fraud guard: could not count a text sent',
          requestId: 'req-tally-1',
          err: expect.objectContaining({ message: 'counter store down' }),
        }),
      )
      // A second tally hangs until released: close() must not return before it is written.
      void guard.afterStart(assessment)
      let closed = false
      const closing = guard.close().then(() => {
        closed = true
      })
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(closed).toBe(false)
      release()
      await closing
      expect(closed).toBe(true)
    } finally {
      await storage.dispose()
    }
  })
})

describe('counting after the code was judged, while the counter store is away', () => {
  const away = () => Promise.reject(new CountersUnavailableError('connection is closed'))

  it('logs a tally of a code entered that fails, and never fails the approved check', async () => {
    const storage = await createTestStorage('sqlite')
    try {
      const { logger, lines } = capturedLogger()
      const guard = createFraudGuard({
        db: storage.db,
        challenges: createChallengeService(storage.db, Buffer.alloc(32, 7)),
        logger,
        counters: { hit: away, read: away, add: away },
      })
      const approved = guard.afterApproved({
        projectId: 'prj_away',
        fraudSettings: null,
        mode: 'live',
        phone: '+447400300301',
        country: 'GB',
      })
      await expect(approved).resolves.toBeUndefined()
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: 'fraud guard: could not count a code entered',
          err: expect.objectContaining({ name: 'CountersUnavailableError' }),
        }),
      )
    } finally {
      await storage.dispose()
    }
  })

  it('answers undefined for a wrong code it could not count, and lets other failures through', async () => {
    const storage = await createTestStorage('sqlite')
    try {
      const { logger, lines } = capturedLogger()
      let failure: () => Promise<never> = away
      const guard = createFraudGuard({
        db: storage.db,
        challenges: createChallengeService(storage.db, Buffer.alloc(32, 7)),
        logger,
        counters: { hit: () => failure(), read: () => failure(), add: () => failure() },
      })
      await expect(guard.countWrongCode('prj_away', '+447400300302')).resolves.toBeUndefined()
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 40, msg: 'fraud guard: could not count a wrong code' }),
      )
      // Not an outage (a bug, a refused script): the check fails rather than guess.
      failure = () => Promise.reject(new Error('WRONGTYPE'))
      await expect(guard.countWrongCode('prj_away', '+447400300302')).rejects.toThrow('WRONGTYPE')
      // Reading before the code is judged is not softened: the caller gives the check back.
      failure = away
      await expect(guard.wrongCodes('prj_away', '+447400300302')).rejects.toBeInstanceOf(
        CountersUnavailableError,
      )
    } finally {
      await storage.dispose()
    }
  })
})
