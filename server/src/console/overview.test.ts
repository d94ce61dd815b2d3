import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, makeOperator } from '../../testing/console'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { newId } from '../ids'

/** A seeded random generator: the same data on both dialects. */
function rng(seed: number) {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31
    return s / 2 ** 31
  }
}

interface Seeded {
  id: string
  country: string
  createdAt: number
  approvedAt: number | null
  redeemedAt: number | null
  message: {
    carrier: string
    sentAt: number | null
    deliveredAt: number | null
    cost: number | null
  } | null
}

function nearestRank(values: number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.ceil((p / 100) * sorted.length) - 1]!
}

for (const dialect of DIALECTS) {
  describe(`console overview figures (${dialect})`, () => {
    let h: Harness
    let projectId: string
    const seeded: Seeded[] = []
    const from = Date.parse('2026-11-01T00:00:00Z')
    const to = Date.parse('2026-11-08T00:00:00Z')

    beforeAll(async () => {
      h = await createHarness(dialect)
      projectId = (await h.project()).project.id
      const random = rng(7)
      const countries = ['GB', 'FR', 'NG', 'US']
      const carriers = ['twilio-uk', 'vonage-eu', 'smpp-ng']
      // Some rows fall outside the range on purpose: they must not count.
      for (let i = 0; i < 240; i += 1) {
        const createdAt = from - 86_400_000 + Math.floor(random() * 9 * 86_400_000)
        const sent = random() < 0.9
        const delivered = sent && random() < 0.85
        const approved = delivered && random() < 0.7
        const row: Seeded = {
          id: newId('ver'),
          country: countries[Math.floor(random() * countries.length)]!,
          createdAt,
          approvedAt: approved ? createdAt + 5_000 + Math.floor(random() * 120_000) : null,
          redeemedAt: approved && random() < 0.8 ? createdAt + 200_000 : null,
          message: {
            carrier: carriers[Math.floor(random() * carriers.length)]!,
            sentAt: sent ? createdAt + 100 : null,
            deliveredAt: delivered ? createdAt + 500 + Math.floor(random() * 20_000) : null,
            cost: sent ? Math.round(random() * 1000) / 10_000 + 0.01 : null,
          },
        }
        seeded.push(row)
        await h.db
          .insertInto('verifications')
          .values({
            id: row.id,
            project_id: projectId,
            mode: 'live',
            phone: `+4474001${String(i).padStart(5, '0')}`,
            country: row.country,
            channel: 'sms',
            locale: null,
            status: approved ? 'approved' : 'expired',
            code_hmac: 'x',
            code_length: 6,
            consent_version: 'v1',
            consent_at: createdAt,
            origin: null,
            ip: null,
            created_at: createdAt,
            expires_at: createdAt + 600_000,
            resend_after: createdAt + 30_000,
            approved_at: row.approvedAt,
            token_redeemed_at: row.redeemedAt,
          })
          .execute()
        const m = row.message!
        await h.db
          .insertInto('messages')
          .values({
            id: newId('msg'),
            verification_id: row.id,
            project_id: projectId,
            mode: 'live',
            to: '+447400100000',
            body_encrypted: null,
            status: m.deliveredAt ? 'delivered' : m.sentAt ? 'sent' : 'failed',
            carrier: m.carrier,
            carrier_message_id: null,
            error: null,
            created_at: createdAt,
            sent_at: m.sentAt,
            delivered_at: m.deliveredAt,
            updated_at: createdAt,
            cost_amount: m.cost === null ? null : m.cost.toFixed(4),
            cost_currency: m.cost === null ? null : 'EUR',
          })
          .execute()
      }
      const outcomes: [string, string][] = [
        ['block', 'refused'],
        ['block', 'refused'],
        ['block', 'decoy'],
        ['challenge', 'solved'],
        ['challenge', 'challenged'],
        ['allow', 'sent'],
      ]
      for (const [i, [decision, outcome]] of outcomes.entries()) {
        await h.db
          .insertInto('fraud_events')
          .values({
            id: newId('fev'),
            project_id: projectId,
            verification_id: null,
            phone: '+2348000000000',
            country: 'NG',
            ip: null,
            decision,
            outcome,
            reasons: '[]',
            shadow_reasons: '[]',
            created_at: from + i * 1000,
          })
          .execute()
      }
      const owner = await makeOperator(h, 'owner@shop.example', 'owner', projectId)
      ownerLogin = () => login(h, owner)
    }, 120_000)
    afterAll(() => h?.dispose())
    let ownerLogin: () => ReturnType<typeof login>

    it('matches direct counts of the seeded rows', async () => {
      const owner = await ownerLogin()
      const { status, json } = await owner.call(
        'GET',
        `/projects/${projectId}/overview?from=${from}&to=${to}`,
      )
      expect(status).toBe(200)
      const inRange = seeded.filter((r) => r.createdAt >= from && r.createdAt < to)
      expect(inRange.length).toBeGreaterThan(150)
      expect(inRange.length).toBeLessThan(seeded.length)
      expect(json.funnel).toEqual({
        started: inRange.length,
        sent: inRange.filter((r) => r.message?.sentAt).length,
        delivered: inRange.filter((r) => r.message?.deliveredAt).length,
        verified: inRange.filter((r) => r.approvedAt).length,
        redeemed: inRange.filter((r) => r.redeemedAt).length,
      })
      for (const country of ['GB', 'FR', 'NG', 'US']) {
        const rows = inRange.filter((r) => r.country === country)
        expect(json.byCountry).toContainEqual({
          country,
          started: rows.length,
          verified: rows.filter((r) => r.approvedAt).length,
          conversion:
            Math.round((rows.filter((r) => r.approvedAt).length / rows.length) * 10_000) / 10_000,
        })
      }
      for (const carrier of ['twilio-uk', 'vonage-eu', 'smpp-ng']) {
        const rows = inRange.filter((r) => r.message?.carrier === carrier)
        expect(json.byCarrier).toContainEqual(
          expect.objectContaining({
            carrier,
            texts: rows.length,
            delivered: rows.filter((r) => r.message?.deliveredAt).length,
            verified: rows.filter((r) => r.approvedAt).length,
          }),
        )
      }
      const deliver = inRange
        .filter((r) => r.message?.deliveredAt)
        .map((r) => r.message!.deliveredAt! - r.createdAt)
      const verify = inRange.filter((r) => r.approvedAt).map((r) => r.approvedAt! - r.createdAt)
      expect(json.timings).toEqual({
        deliverMs: {
          median: nearestRank(deliver, 50),
          p95: nearestRank(deliver, 95),
          count: deliver.length,
        },
        verifyMs: {
          median: nearestRank(verify, 50),
          p95: nearestRank(verify, 95),
          count: verify.length,
        },
      })
      const paid = inRange.filter((r) => r.message?.cost !== null)
      const spend = paid.reduce((sum, r) => sum + r.message!.cost!, 0)
      expect(json.spend).toHaveLength(1)
      expect(json.spend[0].currency).toBe('EUR')
      expect(json.spend[0].amount).toBeCloseTo(spend, 4)
      expect(json.costPerVerified[0].amount).toBeCloseTo(spend / json.funnel.verified, 4)
      expect(json.fraud).toMatchObject({ blocked: 2, challenged: 2, decoyed: 1 })
      expect(json.fraud.estimatedSaved[0].amount).toBeCloseTo((spend / paid.length) * 3, 4)
      const hourlyTotal = json.hourly.reduce(
        (sum: number, b: { started: number }) => sum + b.started,
        0,
      )
      expect(hourlyTotal).toBe(inRange.length)
    })

    it('refuses a range that is backwards or too long', async () => {
      const owner = await ownerLogin()
      expect(
        (await owner.call('GET', `/projects/${projectId}/overview?from=${to}&to=${from}`)).status,
      ).toBe(400)
      expect(
        (await owner.call('GET', `/projects/${projectId}/overview?from=abc&to=${from}`)).status,
      ).toBe(400)
    })
  })
}
