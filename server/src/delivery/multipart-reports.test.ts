import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startVonageFake } from '../../testing/carriers/vonage'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import type { CallbackRequest, CarrierAdapter, ReportStatus } from '../carriers/types'
import { vonageCarrier } from '../carriers/vonage/index'
import { applyReports } from './reports'

const PUBLIC_URL = 'https://verify.example'
const callback = `${PUBLIC_URL}/v1/carriers/vonage/reports`
const signature = { secret: 'vonage-multipart-signature-secret', method: 'sha256' as const }
/** A brand long enough (and Cyrillic, so UCS-2) that the code text takes three parts. */
const LONG_BRAND = 'Ромашка '.repeat(8).trim()

/** Posts a carrier's callback to the app, as the carrier would. */
async function post(h: Harness, request: CallbackRequest) {
  const url = new URL(request.url)
  return h.call(request.method, `${url.pathname}${url.search}`, {
    body: request.body,
    headers: { 'Content-Type': request.headers['content-type'] ?? 'application/json' },
    origin: null,
  })
}

for (const dialect of DIALECTS) {
  describe(`vonage texts in parts: a receipt per part (${dialect})`, () => {
    let fake: Awaited<ReturnType<typeof startVonageFake>>
    let h: Harness
    beforeAll(async () => {
      fake = await startVonageFake({
        apiKey: 'k1',
        apiSecret: 's1',
        signature,
        callbackUrl: callback,
        pricePerPart: '0.04000000',
      })
    })
    afterAll(() => fake.close())
    afterEach(() => h?.dispose())

    const vonage = () =>
      vonageCarrier({
        apiKey: 'k1',
        signature,
        from: 'Shop',
        callbackUrl: callback,
        restHost: fake.baseUrl,
      })

    /** Starts a verification whose text takes three parts and lets the dispatcher send it. */
    async function sentInParts(carrier: CarrierAdapter = vonage()) {
      h = await createHarness(dialect, { publicUrl: PUBLIC_URL, liveCarrier: carrier })
      const { pk, sk } = await h.liveProject({ brand: LONG_BRAND })
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123779', consent: { accepted: true } },
      })
      expect(started.status).toBe(201)
      await h.dispatcher.drain()
      const path = `/v1/verifications/${started.json.id}`
      const message = async () => (await h.call('GET', path, { key: sk })).json.messages[0]
      const parts = await h.db
        .selectFrom('message_parts')
        .select(['carrier_message_id', 'part', 'carrier'])
        .orderBy('part')
        .execute()
      const ids = parts.map((p) => p.carrier_message_id)
      return { message, ids, parts }
    }

    const receipt = (id: string, status: ReportStatus, at: string, errorCode?: string) =>
      fake.deliveryReport(id, status, { at: Date.parse(at), ...(errorCode ? { errorCode } : {}) })

    it('stores every part id with the send, and is delivered once every part is', async () => {
      const { message, ids, parts } = await sentInParts()
      expect(ids).toHaveLength(3)
      expect(new Set(ids).size).toBe(3)
      expect(parts.every((p) => p.carrier === 'vonage')).toBe(true)
      expect(await message()).toMatchObject({
        status: 'sent',
        carrierMessageId: ids[0],
        segments: 3,
        cost: { amount: '0.12000000', currency: 'EUR' },
      })

      // Out of order: the last part first, then a duplicate of it.
      const third = receipt(ids[2]!, 'delivered', '2026-11-25T12:00:09Z')
      expect((await post(h, third)).json).toEqual({ received: 1, applied: 1 })
      // The very same signed callback again is a replay: acknowledged, not applied.
      expect((await post(h, third)).json).toEqual({ replayed: true })
      expect(await message()).toMatchObject({ status: 'sent', deliveredAt: null })

      await post(h, receipt(ids[0]!, 'delivered', '2026-11-25T12:00:07Z'))
      // A late "accepted" for the middle part changes nothing.
      expect((await post(h, receipt(ids[1]!, 'sent', '2026-11-25T12:00:05Z'))).json).toEqual({
        received: 1,
        applied: 0,
      })
      expect((await message()).status).toBe('sent')

      await post(h, receipt(ids[1]!, 'delivered', '2026-11-25T12:00:08Z'))
      expect(await message()).toMatchObject({
        status: 'delivered',
        // The last part to arrive was the third, at :09.
        deliveredAt: '2026-11-25T12:00:09.000Z',
        // Each receipt states its part's price (0.0333 in the fake): the message costs their sum.
        cost: { amount: '0.09990000', currency: 'EUR' },
      })
      // Forward only: a late failure for a delivered part does not undo the delivery.
      expect((await post(h, receipt(ids[0]!, 'failed', '2026-11-25T12:00:10Z'))).json).toEqual({
        received: 1,
        applied: 0,
      })
      expect((await message()).status).toBe('delivered')
    })

    it('fails as soon as one part fails; later deliveries of other parts do not revive it', async () => {
      const { message, ids } = await sentInParts()
      await post(h, receipt(ids[0]!, 'delivered', '2026-11-25T12:00:07Z'))
      await post(h, receipt(ids[1]!, 'failed', '2026-11-25T12:00:08Z', '6'))
      const failed = await message()
      expect(failed).toMatchObject({
        status: 'failed',
        errorCode: '6',
        failedAt: '2026-11-25T12:00:08.000Z',
        deliveredAt: null,
      })
      expect(failed.error).toMatch(/part 2 of 3/)
      await post(h, receipt(ids[2]!, 'delivered', '2026-11-25T12:00:09Z'))
      expect(await message()).toMatchObject({ status: 'failed', deliveredAt: null })
    })

    it('is delivered when the receipts of all parts are applied concurrently', async () => {
      const { message, ids } = await sentInParts()
      // Straight to the intake, without HTTP, so the three transactions overlap.
      const results = await Promise.all(
        ids.map((id, n) =>
          applyReports(
            h.db,
            'vonage',
            [
              {
                carrierMessageId: id,
                status: 'delivered',
                at: Date.parse(`2026-11-25T12:00:0${n + 1}Z`),
              },
            ],
            h.now(),
          ),
        ),
      )
      expect(results.map((r) => r.applied)).toEqual([1, 1, 1])
      expect(await message()).toMatchObject({
        status: 'delivered',
        deliveredAt: '2026-11-25T12:00:03.000Z',
      })
    })

    it('holds receipts for parts that beat our own commit, and applies them after it', async () => {
      const real = vonage()
      const held: unknown[] = []
      // Vonage's receipts for two parts arrive while the dispatcher has not stored the send yet.
      const racing: CarrierAdapter = {
        ...real,
        async send(outgoing) {
          const result = await real.send(outgoing)
          const [first, second] = result.sentParts ?? []
          held.push(
            (await post(h, receipt(second!.carrierMessageId, 'delivered', '2026-11-25T12:00:08Z')))
              .json,
          )
          held.push(
            (await post(h, receipt(first!.carrierMessageId, 'delivered', '2026-11-25T12:00:07Z')))
              .json,
          )
          return result
        },
      }
      const { message, ids } = await sentInParts(racing)
      expect(held).toEqual([
        { received: 1, applied: 0, held: 1 },
        { received: 1, applied: 0, held: 1 },
      ])
      expect(await h.db.selectFrom('early_reports').select('id').execute()).toEqual([])
      const statuses = await h.db
        .selectFrom('message_parts')
        .select('status')
        .orderBy('part')
        .execute()
      expect(statuses.map((p) => p.status)).toEqual(['delivered', 'delivered', 'sent'])
      expect((await message()).status).toBe('sent')
      await post(h, receipt(ids[2]!, 'delivered', '2026-11-25T12:00:09Z'))
      expect(await message()).toMatchObject({
        status: 'delivered',
        deliveredAt: '2026-11-25T12:00:09.000Z',
      })
    })
  })
}
