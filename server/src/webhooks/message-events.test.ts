import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { type CarrierAdapter, CarrierError } from '../carriers/types'

/** A live carrier that refuses every text for good, with its own error code. */
const refusing: CarrierAdapter = {
  id: 'refusing',
  capabilities: { unicode: true, deliveryReports: false, maxParts: 10 },
  async send() {
    throw new CarrierError('refusing', 'number not reachable', { permanent: true, code: '21614' })
  },
}

for (const dialect of DIALECTS) {
  describe(`message events (${dialect})`, () => {
    let h: Harness
    beforeAll(async () => {
      h = await createHarness(dialect, { liveCarrier: refusing })
    })
    afterAll(() => h.dispose())

    it('raises message.failed with the carrier and its code, never the text', async () => {
      const { pk, sk } = await h.liveProject()
      const endpoint = await h.call('POST', '/v1/webhooks/endpoints', {
        key: sk,
        body: { url: 'https://93.184.215.14/hooks', events: ['message.failed'] },
      })
      expect(endpoint.status).toBe(201)
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123777', consent: { accepted: true } },
      })
      expect(started.status).toBe(201)
      await h.dispatcher.drain()
      const events = await h.db.selectFrom('webhook_messages').selectAll().execute()
      expect(events.map((e) => e.type)).toEqual(['message.failed'])
      const payload = JSON.parse(events[0]?.payload ?? '{}')
      expect(payload.data).toMatchObject({
        mode: 'live',
        verificationId: started.json.id,
        carrier: 'refusing',
        status: 'failed',
        errorCode: '21614',
        to: '+447400123777',
      })
      expect(events[0]?.payload).not.toMatch(/verification code|\d{6} is/)
    })
  })
}
