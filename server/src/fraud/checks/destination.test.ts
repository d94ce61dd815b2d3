import { describe, expect, it } from 'vitest'
import { fraudCheckContract, type TestStart } from '../../../testing/fraud-check.case'
import { createChallengeService } from '../challenge'
import { fraudContext } from '../context'
import { databaseCounters } from '../counters'
import { prefixLevelsOf, verifiedRefs } from '../destinations/verdict'
import { createFraudGuard } from '../guard'
import { recentEvents } from '../routes'
import { type FraudSettingsInput, parseFraudSettings } from '../settings'
import type { CallerSignals, CheckDeps } from '../types'
import { conversionCheck } from './conversion'
import { destinationCheck } from './destination'

const AT = Date.parse('2026-12-07T12:00:00Z')
const HOUR = 3_600_000
const HUMAN: CallerSignals = {
  deviceId: 'dev_human_0123456789',
  shownMs: 9_000,
  entry: 'typed',
  keys: 13,
  focuses: 1,
  visible: true,
  webdriver: false,
}

const liveStart = (overrides: Partial<TestStart> = {}): TestStart => ({
  projectId: 'prj_dest',
  mode: 'live',
  phone: '+2348031234567',
  country: 'NG',
  numberType: 'mobile',
  ip: '203.0.113.7',
  ...overrides,
})

/**
 * Texts sent to `start`'s country (as the guard counts them after each real start), to numbers
 * spread over many prefixes unless `samePrefix` (then all to the start's own prefix).
 */
async function sendTexts(
  deps: CheckDeps,
  start: TestStart,
  count: number,
  at: number,
  samePrefix = false,
) {
  const settings = parseFraudSettings({})
  for (let i = 0; i < count; i++) {
    const phone = samePrefix ? start.phone : spread(start.phone, i)
    await destinationCheck.afterSent?.(fraudContext({ ...start, phone }, { settings, at }), deps)
  }
}

/**
 * `phone` with the three digits before its last seven replaced by `i`: another block of
 * 10 000 000 numbers, so another prefix at every length the guard judges.
 */
const spread = (phone: string, i: number) =>
  `${phone.slice(0, -10)}${String(i % 1000).padStart(3, '0')}${phone.slice(-7)}`

fraudCheckContract({
  check: destinationCheck,
  settings: (mode) => ({ destinations: { mode } }),
  // Great Britain (a low-risk destination) past its hourly budget of 50 texts, for a caller
  // without signals: throttled (a refusal, never a decoy).
  provoke: async (start, { deps }) => {
    const judged = { ...start, mode: 'live' as const }
    await sendTexts(deps, judged, 50, Date.parse('2026-11-25T12:00:00Z'))
    return judged
  },
  additionalTests: ({ storage }) => {
    const deps = () => ({ db: storage().db, counters: databaseCounters(storage().db) })
    const guardAt = (at: () => number) =>
      createFraudGuard({
        db: storage().db,
        challenges: createChallengeService(storage().db, Buffer.alloc(32, 7)),
        now: at,
      })
    const run = (start: TestStart, settings: FraudSettingsInput = {}, at = AT) =>
      destinationCheck.run(
        fraudContext(start, { settings: parseFraudSettings(settings), at }),
        deps(),
      )
    const reasons = async (start: TestStart, settings: FraudSettingsInput = {}) =>
      (await run(start, settings)).findings.map((f) => `${f.decision}:${f.reason}`)

    it('weighs a cold high-risk country by the caller: no signals throttled, a person the interactive step, a trusted device through', async () => {
      expect(await reasons(liveStart())).toEqual([
        'block:destination.cold.high',
        'block:caller.no_signals',
      ])
      // Lacking signals is no reason for a decoy: the caller is told, with a Retry-After.
      const unsigned = await run(liveStart())
      expect(unsigned.findings.every((f) => f.scope === 'request')).toBe(true)
      expect(unsigned.findings[0]?.refusal).toMatchObject({ code: 'rate_limited' })
      // Medium risk too (Egypt): a pumper would simply pick the countries not called high.
      const egypt = await run(liveStart({ country: 'EG', phone: '+201001234567' }))
      expect(egypt.findings.map((f) => f.refusal?.code)).toContain('rate_limited')
      expect(
        (await run(liveStart({ country: 'EG', phone: '+201001234567', signals: HUMAN }))).findings
          .map((f) => f.decision)
          .every((d) => d === 'challenge'),
      ).toBe(true)
      // A store with a captcha: the interactive step instead, which a person can pass.
      const withCaptcha = await run(liveStart(), {
        challenge: { captcha: { provider: 'turnstile', secret: 's' } },
      })
      expect(withCaptcha.findings.length).toBeGreaterThan(0)
      expect(withCaptcha.findings.every((f) => f.decision === 'challenge' && f.interactive)).toBe(
        true,
      )
      const person = await run(liveStart({ signals: HUMAN }))
      expect(person.findings.map((f) => f.decision)).toEqual(['challenge', 'challenge'])
      expect(person.findings.every((f) => f.interactive)).toBe(true)
      // $0.30 × high risk × escalated: 50 000 × 6 × 4 × 1 × 4, capped at the maximum.
      expect(person.findings[0]?.difficulty).toBe(4_000_000)
      expect(await reasons(liveStart({ signals: { ...HUMAN, webdriver: true } }))).toContain(
        'block:caller.webdriver',
      )
      // A device that verified a number of another country is not trusted here: a code entered
      // on an attacker's own British SIM opens no high-risk country to its device.
      const laundered = { ...HUMAN, deviceId: 'dev-laundered' }
      const elsewhere = fraudContext(
        liveStart({ signals: laundered, country: 'GB', phone: '+447400123456' }),
        { settings: parseFraudSettings({}), at: AT - HOUR },
      )
      await destinationCheck.afterApproved?.(elsewhere, deps())
      expect(await reasons(liveStart({ signals: laundered, phone: '+2348039999999' }))).toEqual([
        'challenge:destination.cold.high',
        'challenge:caller.escalated',
      ])
      // A device that verified a number of this country here before is trusted in it.
      const approved = fraudContext(liveStart({ signals: HUMAN }), {
        settings: parseFraudSettings({}),
        at: AT - HOUR,
      })
      await destinationCheck.afterApproved?.(approved, deps())
      expect(await reasons(liveStart({ signals: HUMAN, phone: '+2348039999999' }))).toEqual([])
      // Test keys only text the sandbox: nothing to weigh.
      expect(await reasons(liveStart({ mode: 'test' }))).toEqual([])
    })

    it('opens a country once the store has steady history there', async () => {
      const settings = parseFraudSettings({})
      // Four verified shoppers a day in Kenya for a week.
      for (let h = 0; h < 7 * 24; h += 6) {
        const ctx = fraudContext(liveStart({ country: 'KE', phone: '+254712345678' }), {
          settings,
          at: AT - 7 * 24 * HOUR + h * HOUR,
        })
        await destinationCheck.afterApproved?.(ctx, deps())
      }
      const kenya = liveStart({ country: 'KE', phone: '+254712000111' })
      expect(await reasons(kenya)).toEqual([])
      // Nigeria, with no history, stays cold.
      expect(await reasons(liveStart())).toContain('block:destination.cold.high')
    })

    it('restricts a country over its ceiling once, lets a probe through, and lifts it later', async () => {
      const gb = liveStart({ country: 'GB', phone: '+447400123456' })
      await sendTexts(deps(), gb, 60, AT)
      const restricted = await run(gb)
      expect(restricted.findings.map((f) => f.reason)).toEqual([
        'destination.rate',
        'caller.no_signals',
      ])
      expect(restricted.findings[0]?.figures).toMatchObject({ sent1h: 60, rateCeiling: 50 })
      await run(gb)
      const events = await storage()
        .db.selectFrom('fraud_events')
        .select(['outcome', 'reasons', 'figures'])
        .where('outcome', 'in', ['restricted', 'lifted'])
        .execute()
      expect(events).toHaveLength(1)
      expect(events[0]?.outcome).toBe('restricted')
      expect(JSON.parse(events[0]?.reasons ?? '[]')).toEqual(['destination.rate'])
      expect(JSON.parse(events[0]?.figures ?? '{}')).toMatchObject({ country: 'GB', sent1h: 60 })

      // Half-open: an hour later one caller without signals may probe, with the hardest work.
      const later = AT + HOUR + 60_000
      const offer = await run(gb, {}, later)
      expect(offer.findings.map((f) => `${f.decision}:${f.reason}`)).toContain(
        'challenge:destination.probe',
      )
      const taken = await run({ ...gb, answered: true }, {}, later)
      expect(taken.findings.some((f) => f.reason === 'destination.probe')).toBe(true)
      const next = await run({ ...gb, answered: true }, {}, later + 1000)
      expect(next.findings.every((f) => f.decision === 'block')).toBe(true)

      // Two quiet hours later the rate is back under the ceiling: lifted, once.
      const quiet = later + 2 * HOUR + 60_000
      expect(await reasons(gb, {})).not.toEqual([])
      expect((await run(gb, {}, quiet)).findings).toEqual([])
      await run(gb, {}, quiet + 1000)
      const lifted = await storage()
        .db.selectFrom('fraud_events')
        .select('outcome')
        .where('outcome', '=', 'lifted')
        .execute()
      expect(lifted).toHaveLength(1)
    })

    describe('per-prefix ceilings from the baseline', () => {
      // Great Britain: low risk, so open without history; its prefixes are 100 000-number blocks.
      const GB = liveStart({ country: 'GB', phone: '+447400123456' })
      const inPrefix = (i: number) => ({ ...GB, phone: `+4474001${String(i).padStart(5, '0')}` })
      const restrictionEvents = () =>
        storage()
          .db.selectFrom('fraud_events')
          .select(['outcome', 'phone', 'country', 'reasons', 'figures'])
          .where('outcome', 'in', ['restricted', 'lifted'])
          .orderBy('created_at')
          .execute()

      it('holds a prefix without history to its budget inside an open country, weighing the caller, and tells the operator once', async () => {
        // Five texts to one block of GB an hour: the budget of a low-risk country's prefix.
        await sendTexts(deps(), GB, 5, AT - 60_000, true)
        const unsigned = await run(inPrefix(777))
        expect(unsigned.findings.map((f) => `${f.decision}:${f.reason}`)).toEqual([
          'block:destination.prefix.rate',
          'block:caller.no_signals',
        ])
        // A caller without signals is told (429), never decoyed; the figures explain it.
        expect(unsigned.findings[0]?.refusal?.code).toBe('rate_limited')
        expect(unsigned.findings[0]?.figures).toMatchObject({
          prefixSent1h: 5,
          prefixRateCeiling: 5,
          prefixBaselinePerHour: 0,
        })
        // A person gets the escalation and so their code; a bot (two strikes) the decoy.
        const person = await run({ ...inPrefix(778), signals: HUMAN })
        expect(person.findings.length).toBeGreaterThan(0)
        expect(person.findings.every((f) => f.decision === 'challenge' && f.interactive)).toBe(true)
        const bot = await run({ ...inPrefix(779), signals: { ...HUMAN, webdriver: true } })
        expect(bot.findings.every((f) => f.decision === 'block' && f.scope === 'number')).toBe(true)
        // The rest of the country, and the same block in another project, are untouched.
        expect(await reasons({ ...GB, phone: '+447400923456' })).toEqual([])
        expect(await reasons({ ...inPrefix(780), projectId: 'prj_other' })).toEqual([])
        // One restricted event for the block, with the reason and the figures.
        const events = await restrictionEvents()
        expect(events).toHaveLength(1)
        expect(events[0]).toMatchObject({ outcome: 'restricted', phone: '+4474001', country: '' })
        expect(JSON.parse(events[0]?.reasons ?? '[]')).toEqual(['destination.prefix.rate'])
        expect(JSON.parse(events[0]?.figures ?? '{}')).toMatchObject({
          country: 'GB',
          prefix: '+4474001',
          prefixSent1h: 5,
          prefixRateCeiling: 5,
        })
      })

      it('holds the resends of an unchallenged start once its prefix is restricted, not those of a start that passed a challenge', async () => {
        const guard = guardAt(() => AT)
        const resend = (answered: boolean, phone = inPrefix(1).phone) =>
          guard
            .reserveResend({ ...GB, phone, fraudSettings: null, answered })
            .then(async (reservation) => {
              await guard.afterResend(reservation)
              return reservation.decoy
            })
        // Open: a resend is sent.
        expect(await resend(false)).toBe(false)
        // Its block restricted: the texts of a start let through while it was open stop here...
        await sendTexts(deps(), GB, 5, AT - 60_000, true)
        await run(inPrefix(777))
        expect(await resend(false)).toBe(true)
        // ...but a person who passed the escalation there keeps theirs, and the rest of the
        // country is untouched.
        expect(await resend(true)).toBe(false)
        expect(await resend(false, '+447400923456')).toBe(false)
        const held = await storage()
          .db.selectFrom('fraud_events')
          .select('reasons')
          .where('outcome', '=', 'resend_suppressed')
          .execute()
        expect(held.map((r) => JSON.parse(r.reasons))).toEqual([
          ['block:destination.resend_restricted'],
        ])
      })

      it('restricts a prefix as the starts come (surge), before the texts', async () => {
        // 15 starts to one block in an hour (none texted here) are within 3 × the budget of 5.
        for (let i = 0; i < 15; i++) expect(await reasons(inPrefix(i))).toEqual([])
        const surge = await run(inPrefix(15))
        expect(surge.findings.map((f) => f.reason)).toContain('destination.prefix.surge')
        expect(surge.findings[0]?.figures).toMatchObject({
          prefixStarts1h: 16,
          prefixSurgeCeiling: 15,
        })
        // A start sent again with the answer to its challenge is not counted twice.
        const again = await run({ ...inPrefix(15), answered: true })
        expect(again.findings[0]?.figures).toMatchObject({ prefixStarts1h: 16 })
      })

      it("makes room from the prefix's own history and from the shoppers verifying in it now", async () => {
        const settings = parseFraudSettings({})
        // Its shoppers verifying right now (a flash sale): 8 texts, 6 codes entered.
        await sendTexts(deps(), GB, 8, AT - 60_000, true)
        for (let i = 0; i < 6; i++) {
          const ctx = fraudContext(inPrefix(100 + i), { settings, at: AT - 30_000 })
          await destinationCheck.afterApproved?.(ctx, deps())
        }
        const sale = await run(inPrefix(200))
        expect(sale.findings).toEqual([])
        // Another block with the same texts and nobody entering them is held.
        const other = { ...GB, phone: '+447400234567' }
        await sendTexts(deps(), other, 8, AT - 60_000, true)
        expect(await reasons(other)).toContain('block:destination.prefix.rate')

        // (Each block below in a block of 10 000 000 of its own: those above hold 16 texts.)
        // A block with steady history: 4 shoppers an hour for a day that ended two days ago (an
        // EWMA of about 0.6 an hour now, none of them in the last day's counts) gets
        // 5 + 4 × 0.6: 8 texts an hour.
        const busy = { ...GB, phone: '+447420345678' }
        for (let h = 72; h > 48; h--) {
          for (let i = 0; i < 4; i++) {
            const ctx = fraudContext(busy, { settings, at: AT - h * HOUR + i * 60_000 })
            await destinationCheck.afterApproved?.(ctx, deps())
          }
        }
        await sendTexts(deps(), busy, 7, AT - 60_000, true)
        expect((await run(busy)).findings).toEqual([])
        await sendTexts(deps(), busy, 1, AT - 60_000, true)
        const over = await run(busy)
        expect(over.findings.map((f) => f.reason)).toContain('destination.prefix.rate')
        expect(over.findings[0]?.figures).toMatchObject({
          prefixRateCeiling: 8,
          prefixSent1h: 8,
          prefixVerified24h: 0,
        })
        expect(over.findings[0]?.figures?.prefixBaselinePerHour).toBeGreaterThan(0.5)

        // A block whose shoppers verified all through the last day without a stored baseline:
        // 4 texts an hour until two hours ago, 2 codes entered. Its texts nobody entered (33 in
        // the counters' estimate of the last 24 h, which slides over whole days) are within
        // 20 + 4 × the 33 entered; the same texts with no code entered are not.
        const daily = { ...GB, phone: '+447430456789' }
        // (The one without codes in the United States: Great Britain's own texts nobody entered
        // are over its country's ceiling by now.)
        const unentered = { ...GB, country: 'US', phone: '+12125550123' }
        for (let h = 23; h >= 2; h--) {
          await sendTexts(deps(), daily, 4, AT - h * HOUR, true)
          await sendTexts(deps(), unentered, 4, AT - h * HOUR, true)
          await deps().counters.add(
            verifiedRefs('prj_dest', 'GB', undefined, [
              'prefix:+4474304',
              'prefix:+447430',
              'prefix:+44743',
            ]),
            AT - h * HOUR,
            2,
          )
        }
        const steady = await run(daily)
        expect(steady.findings).toEqual([])
        const held = await run(unentered)
        expect(held.findings.map((f) => f.reason)).toContain('destination.prefix.unconverted')
        expect(held.findings[0]?.figures).toMatchObject({
          prefixUnconverted24h: 66,
          prefixUnconvertedCeiling: 20,
        })
        // Its figures, through a bot's start (decoyed: findings with figures either way).
        const bot = { ...daily, signals: { ...HUMAN, webdriver: true } }
        expect((await run(bot)).findings[0]?.figures).toMatchObject({
          prefixSent1h: 0,
          prefixVerified24h: 33,
          prefixUnconverted24h: 33,
          prefixUnconvertedCeiling: 152,
        })
      })

      it('lets a probe through a restricted prefix, then lifts it once the texts stop', async () => {
        await sendTexts(deps(), GB, 6, AT - 60_000, true)
        expect(await reasons(inPrefix(1))).toContain('block:destination.prefix.rate')
        const later = AT + HOUR + 60_000
        await sendTexts(deps(), GB, 6, later - 60_000, true)
        const taken = await run({ ...inPrefix(2), answered: true }, {}, later)
        expect(taken.findings.map((f) => f.reason)).toContain('destination.probe')
        expect(taken.findings.every((f) => f.decision === 'challenge')).toBe(true)
        const next = await run({ ...inPrefix(3), answered: true }, {}, later + 1000)
        expect(next.findings.every((f) => f.decision === 'block')).toBe(true)
        // Two quiet hours later: lifted, once, with the figures.
        const quiet = later + 2 * HOUR + 60_000
        expect((await run(inPrefix(4), {}, quiet)).findings).toEqual([])
        await run(inPrefix(5), {}, quiet + 20_000)
        const events = await restrictionEvents()
        expect(events.map((e) => e.outcome)).toEqual(['restricted', 'lifted'])
        expect(events[1]).toMatchObject({ phone: '+4474001' })
        expect(JSON.parse(events[1]?.reasons ?? '[]')).toEqual(['lifted:destination.prefix.rate'])
        expect(
          await storage().db.selectFrom('fraud_restrictions').select('subject').execute(),
        ).toEqual([])
      })

      it("lifts the conversion breaker's prefix restriction too once its rate recovers", async () => {
        const settings = parseFraudSettings({})
        const phone = '+447400555123'
        const ctx = fraudContext({ ...GB, phone }, { settings, at: AT - 60_000 })
        // 8 texts, none entered, to a 10 000-number block: the breaker's block rate.
        for (let i = 0; i < 8; i++) await conversionCheck.afterSent?.(ctx, deps())
        expect(await reasons({ ...GB, phone: '+447400555999' })).toContain(
          'block:conversion.prefix',
        )
        const later = AT + 3 * HOUR
        expect(await reasons({ ...GB, phone: '+447400555998' })).not.toEqual([])
        expect((await run({ ...GB, phone: '+447400555997' }, {}, later)).findings).toEqual([])
        const events = await restrictionEvents()
        expect(events.map((e) => [e.outcome, e.phone])).toEqual([
          ['restricted', '+44740055'],
          ['lifted', '+44740055'],
        ])
      })

      describe('ranges wider than one prefix', () => {
        const settings = parseFraudSettings({})
        /** A real text to `phone` at `at`, counted as the guard counts it. */
        const textTo = (phone: string, at = AT - 60_000) =>
          destinationCheck.afterSent?.(fraudContext({ ...GB, phone }, { settings, at }), deps())
        const gb = (phone: string) => ({ ...GB, phone })

        it('holds a range of 1 000 000 numbers at its own budget, not at ten budgets of 100 000', async () => {
          // Eight texts an hour spread over the blocks of 100 000 of +447410…: one each, far
          // under their own budget of 5, but the budget of the block of 1 000 000 (5 × 1.5).
          for (let i = 0; i < 8; i++) await textTo(`+447410${i}12345`)
          const shadow = await run(gb('+447410912345'), {
            destinations: { prefix: { mode: 'shadow' } },
          })
          expect(shadow.findings).toEqual([])
          expect(shadow.shadowReasons).toContain('block:destination.prefix.rate')
          const held = await run(gb('+447410912345'))
          expect(held.findings.map((f) => `${f.decision}:${f.reason}`)).toEqual([
            'block:destination.prefix.rate',
            'block:caller.no_signals',
          ])
          expect(held.findings[0]?.figures).toMatchObject({
            prefixSent1h: 0,
            prefixRateCeiling: 5,
            prefix6Sent1h: 8,
            prefix6RateCeiling: 8,
            prefix7Sent1h: 8,
            prefix7RateCeiling: 12,
          })
          // A person in the range gets the escalation (and so the code), as for any prefix.
          const person = await run({ ...gb('+447410912346'), signals: HUMAN })
          expect(person.findings.every((f) => f.decision === 'challenge' && f.interactive)).toBe(
            true,
          )
          // Restricted as the block it is, once; the numbers around it are untouched.
          expect(await reasons(gb('+447411912345'))).toEqual([])
          const events = await restrictionEvents()
          expect(events.map((e) => [e.outcome, e.phone])).toEqual([['restricted', '+447410']])
          expect(JSON.parse(events[0]?.figures ?? '{}')).toMatchObject({
            country: 'GB',
            prefix: '+447410',
            prefixDigits: 6,
            prefixSent1h: 8,
            prefixRateCeiling: 8,
          })
          const listed = await recentEvents(storage().db, 'prj_dest')
          expect(listed.find((e) => e.outcome === 'restricted')).toMatchObject({
            phone: '+447410',
            range: '+447410xxxxxx',
          })

          // Two quiet hours later: lifted, once, with the block's figures.
          const quiet = AT + 2 * HOUR
          expect((await run(gb('+447410912345'), {}, quiet)).findings).toEqual([])
          await run(gb('+447410812345'), {}, quiet + 20_000)
          const after = await restrictionEvents()
          expect(after.map((e) => [e.outcome, e.phone])).toEqual([
            ['restricted', '+447410'],
            ['lifted', '+447410'],
          ])
          expect(JSON.parse(after[1]?.reasons ?? '[]')).toEqual(['lifted:destination.prefix.rate'])
          expect(JSON.parse(after[1]?.figures ?? '{}')).toMatchObject({ prefixDigits: 6 })
        })

        it('holds a range of 10 000 000 numbers at the block of 10 000 000, by its texts and as its starts come', async () => {
          // Twelve texts over the ten blocks of 1 000 000 of +44742…: at most two each.
          for (let i = 0; i < 12; i++)
            await textTo(`+44742${i % 10}${String(i).padStart(2, '0')}4321`)
          const held = await run(gb('+447429000000'))
          expect(held.findings.map((f) => f.reason)).toContain('destination.prefix.rate')
          expect(held.findings[0]?.figures).toMatchObject({
            prefix6Sent1h: 1,
            prefix7Sent1h: 12,
            prefix7RateCeiling: 12,
          })
          expect((await restrictionEvents()).map((e) => e.phone)).toEqual(['+44742'])
          // Starts, sent or not, over three times that: a surge, before the texts (+44743…,
          // four starts in each block of 1 000 000, under its surge ceiling of 24).
          for (let i = 0; i < 36; i++) {
            expect(await reasons(gb(`+44743${i % 10}${String(i).padStart(6, '0')}`))).toEqual([])
          }
          const surge = await run(gb('+447439999999'))
          expect(surge.findings.map((f) => f.reason)).toContain('destination.prefix.surge')
          expect(surge.findings[0]?.figures).toMatchObject({
            prefix7Starts1h: 37,
            prefix7SurgeCeiling: 36,
          })
        })

        it('leaves the wider blocks alone when one range inside them is held at its own budget', async () => {
          // Five texts to +4474301…, then forty more starts there (restricted: throttled).
          for (let i = 0; i < 5; i++) await textTo(`+4474301${String(i).padStart(5, '0')}`)
          for (let i = 0; i < 40; i++) {
            expect(await reasons(gb(`+4474301${String(100 + i).padStart(5, '0')}`))).toContain(
              'block:destination.prefix.rate',
            )
          }
          // A text to it now (a person who passed the escalation) counts there only.
          await textTo('+447430199999', AT)
          // The rest of its blocks of 1 000 000 and 10 000 000: the five texts and the starts
          // before it was restricted, within their budgets (8 and 12 texts, 24 and 36 starts).
          const next = await run(gb('+447430212345'))
          expect(next.findings).toEqual([])
          const restricted = await storage()
            .db.selectFrom('fraud_restrictions')
            .select('subject')
            .execute()
          expect(restricted).toEqual([{ subject: 'prefix:+4474301' }])
          const figures = (
            await run({ ...gb('+447430212346'), signals: { ...HUMAN, webdriver: true } })
          ).findings[0]?.figures
          expect(figures).toMatchObject({ prefix6Sent1h: 5, prefix7Sent1h: 5 })
          expect(figures?.prefix6Starts1h).toBeLessThan(5)
        })

        it('lets real shoppers sharing a wide block through: their codes make its room', async () => {
          // A flash sale over +44744…: 40 texts in the hour, 36 codes entered, spread over its
          // blocks of 1 000 000 (four texts each). Its block of 10 000 000 took 40 texts, over
          // its bare budget of 12, but its shoppers' codes give it 12 + 4 × 36.
          for (let i = 0; i < 40; i++) {
            const phone = `+44744${i % 10}${String(i).padStart(6, '0')}`
            await textTo(phone, AT - 50 * 60_000 + i * 60_000)
            if (i % 10 !== Math.floor(i / 10)) {
              const ctx = fraudContext(gb(phone), { settings, at: AT - 49 * 60_000 + i * 60_000 })
              await destinationCheck.afterApproved?.(ctx, deps())
            }
          }
          const shopper = await run(gb('+447449999999'))
          expect(shopper.findings).toEqual([])
          expect(shopper.shadowReasons ?? []).toEqual([])
          expect(await storage().db.selectFrom('fraud_restrictions').selectAll().execute()).toEqual(
            [],
          )
        })
      })

      it('prefix in shadow: records what it would do, acts as if open; off: not judged', async () => {
        await sendTexts(deps(), GB, 5, AT - 60_000, true)
        const shadow = await run(inPrefix(9), { destinations: { prefix: { mode: 'shadow' } } })
        expect(shadow.findings).toEqual([])
        expect(shadow.shadowReasons).toEqual([
          'block:destination.prefix.rate',
          'block:caller.no_signals',
        ])
        const off = await run(inPrefix(10), { destinations: { prefix: { mode: 'off' } } })
        expect(off.findings).toEqual([])
        expect(off.shadowReasons ?? []).toEqual([])
        expect(await storage().db.selectFrom('fraud_restrictions').selectAll().execute()).toEqual(
          [],
        )
        // Destinations in shadow: the prefix is judged and only recorded, through the guard.
        const guard = guardAt(() => AT)
        const assessment = await guard.assess({
          ...inPrefix(11),
          fraudSettings: JSON.stringify({ destinations: { mode: 'shadow' } }),
        })
        expect(assessment.decoy).toBe(false)
        expect(assessment.shadowReasons).toContain('block:destination.prefix.rate')
        expect(await storage().db.selectFrom('fraud_restrictions').selectAll().execute()).toEqual(
          [],
        )
      })
    })

    it('weighs the store server (secret key) as itself: the cold budget, then probes and throttling, never a decoy', async () => {
      const server = liveStart({ keyKind: 'secret', phone: '+2348031110000' })
      // Cold Nigeria, no signals: through while the cold budget lasts.
      expect(await reasons(server)).toEqual([])
      // Past the budget (3 an hour for a high-risk country): restricted, and the server is told.
      await sendTexts(deps(), server, 3, AT)
      const over = await run(server)
      expect(over.findings.length).toBeGreaterThan(0)
      for (const f of over.findings) {
        expect(f).toMatchObject({ decision: 'block', scope: 'request' })
        expect(f.refusal?.code).toBe('rate_limited')
      }
      expect(over.findings.map((f) => f.reason)).toContain('caller.store_server')
      // An hour later one start of the server's is the half-open probe, as it is (no puzzle).
      const later = AT + HOUR + 60_000
      await sendTexts(deps(), server, 3, later - 60_000)
      expect((await run(server, {}, later)).findings).toEqual([])
      expect((await run(server, {}, later + 1000)).findings[0]?.refusal?.code).toBe('rate_limited')
      // The same start with a publishable key and no signals gets no probe without a puzzle.
      const browserless = liveStart({ phone: '+2348031110001' })
      const restricted = await run(browserless, {}, later + 2000)
      expect(
        restricted.findings.every((f) => f.decision === 'block' && f.scope === 'request'),
      ).toBe(true)
    })

    it('counts one device across rotating addresses', async () => {
      const start = liveStart({ country: 'GB', phone: '+447400123456', signals: HUMAN })
      for (let i = 0; i < 4; i++) {
        expect(await reasons({ ...start, ip: `198.51.100.${i + 1}` })).toEqual([])
      }
      expect(await reasons({ ...start, ip: '198.51.100.99' })).toEqual([
        'challenge:caller.device_velocity',
      ])
    })

    it('counts a start once, not again when it comes back with the answer to its challenge', async () => {
      const device = { ...HUMAN, deviceId: 'dev_retrying_0123456789' }
      const start = liveStart({ country: 'GB', phone: '+447400123999', signals: device })
      for (let i = 0; i < 4; i++) {
        expect(await reasons({ ...start, ip: `198.51.100.${i + 1}` })).toEqual([])
        expect(await reasons({ ...start, ip: `198.51.100.${i + 1}`, answered: true })).toEqual([])
      }
      expect(await reasons({ ...start, ip: '198.51.100.99' })).toEqual([
        'challenge:caller.device_velocity',
      ])
      // Answered or not, the device's figure is there for the decision log.
      const answered = await run({ ...start, ip: '198.51.100.99', answered: true })
      expect(answered.findings[0]?.figures?.deviceStarts1h).toBe(5)
    })

    it('callers in shadow: records what the signals would change, acts as for a person', async () => {
      const start = liveStart({ signals: { ...HUMAN, webdriver: true } })
      const shadow = await run(start, { callers: { mode: 'shadow' } })
      expect(shadow.findings.every((f) => f.decision === 'challenge')).toBe(true)
      expect(shadow.shadowReasons).toContain('block:caller.webdriver')
      // Through the guard: the decision log keeps the shadow reason, the start is challenged.
      const guard = guardAt(() => AT)
      await expect(
        guard.assess({
          ...start,
          fraudSettings: JSON.stringify({ callers: { mode: 'shadow' } }),
        }),
      ).rejects.toMatchObject({ code: 'challenge_required' })
      const logged = await storage()
        .db.selectFrom('fraud_events')
        .select(['shadow_reasons', 'outcome'])
        .execute()
      expect(JSON.parse(logged[0]?.shadow_reasons ?? '[]')).toContain('block:caller.webdriver')
    })

    it('destinations in shadow: the guard sends, and logs the decoy it would have made', async () => {
      const guard = guardAt(() => AT)
      const assessment = await guard.assess({
        ...liveStart(),
        fraudSettings: JSON.stringify({ destinations: { mode: 'shadow' } }),
      })
      expect(assessment.decoy).toBe(false)
      expect(assessment.shadowReasons).toEqual([
        'block:destination.cold.high',
        'block:caller.no_signals',
      ])
      expect(await storage().db.selectFrom('fraud_restrictions').selectAll().execute()).toEqual([])
    })
  },
})

describe('destination prefix settings', () => {
  it('defaults to blocks of 100 000, 1 000 000 and 10 000 000 numbers and names a bad value', () => {
    const { prefix } = parseFraudSettings({}).destinations
    expect(prefix).toEqual({
      mode: 'enforce',
      digits: [5, 6, 7],
      budgetPerHour: { low: 5, medium: 3, high: 2 },
      unconvertedPerDay: { low: 20, medium: 10, high: 5 },
      budgetGrowth: 1.5,
    })
    // One length as before, or a list (kept in order, narrowest first).
    const digits = (value: unknown) =>
      parseFraudSettings({ destinations: { prefix: { digits: value } } }).destinations.prefix.digits
    expect(digits(5)).toEqual([5])
    expect(digits([7, 4])).toEqual([4, 7])
    expect(() => digits(2)).toThrow('destinations.prefix.digits: digits must be 3 to 8')
    expect(() => digits([5, 9])).toThrow('destinations.prefix.digits.1: digits must be 3 to 8')
    expect(() => digits([5, 5])).toThrow('digits lists each prefix length once')
    expect(() => digits([])).toThrow('digits needs at least one prefix length')
    expect(() => digits([3, 4, 5, 6, 7])).toThrow('digits takes at most four prefix lengths')
    expect(() => digits('5')).toThrow(
      'destinations.prefix.digits: digits is a prefix length (3 to 8) or a list of up to four',
    )
    expect(() => parseFraudSettings({ destinations: { prefix: { budgetGrowth: 0.5 } } })).toThrow(
      'destinations.prefix.budgetGrowth: budgetGrowth must be 1 to 10',
    )
    expect(() =>
      parseFraudSettings({ destinations: { prefix: { budgetPerHour: { low: 0 } } } }),
    ).toThrow(/destinations\.prefix\.budgetPerHour/)
    expect(() => parseFraudSettings({ destinations: { prefix: { mode: 'loud' } } })).toThrow(
      'destinations.prefix.mode: mode must be enforce, shadow or off',
    )
  })

  it('judges each length that keeps at least two digits of the national number', () => {
    const levels = (phone: string, settings: FraudSettingsInput = {}) =>
      prefixLevelsOf({
        destination: fraudContext(
          { projectId: 'prj_levels', mode: 'live', phone, country: 'XX', ip: null },
          { settings: parseFraudSettings(settings), at: AT },
        ).destination,
        settings: parseFraudSettings(settings),
      }).map((level) => `${level.digits} ${level.subject}`)
    // Great Britain, ten national digits: all three.
    expect(levels('+447400123456')).toEqual([
      '5 prefix:+4474001',
      '6 prefix:+447400',
      '7 prefix:+44740',
    ])
    // Denmark, eight: a block of 10 000 000 would be a tenth of the country (the country's
    // ceilings judge that).
    expect(levels('+4520123456')).toEqual(['5 prefix:+45201', '6 prefix:+4520'])
    // Iceland, seven: the 100 000-number block only.
    expect(levels('+3546111234')).toEqual(['5 prefix:+35461'])
    // One length, as configured before.
    expect(levels('+447400123456', { destinations: { prefix: { digits: 5 } } })).toEqual([
      '5 prefix:+4474001',
    ])
  })
})
