import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startInfobipFake } from '../../testing/carriers/infobip'
import { startTwilioFake } from '../../testing/carriers/twilio'
import { startVonageFake } from '../../testing/carriers/vonage'
import { createHarness, type Harness, METRICS_TOKEN } from '../../testing/harness'
import { DIALECT_NOTE, DIALECTS } from '../../testing/storage'
import { alibabaCarrier } from '../carriers/alibaba/index'
import { infobipCarrier } from '../carriers/infobip/index'
import { tencentCarrier } from '../carriers/tencent/index'
import { twilioCarrier } from '../carriers/twilio/index'
import { type CallbackRequest, CarrierError } from '../carriers/types'
import { vonageCarrier } from '../carriers/vonage/index'
import { forgetEndpointAbsence } from '../webhooks/emit'
import { statusesBefore } from './reports'

const PUBLIC_URL = 'https://verify.example'
const accountSid = `AC${'fedcba9876543210'.repeat(2)}`
const authToken = 'twilio-reports-auth-token'
const twilioCallback = `${PUBLIC_URL}/v1/carriers/twilio/reports`
const infobipKey = 'infobip-reports-key'
const infobipToken = 'cbt_reports_token'
const infobipCallback = `${PUBLIC_URL}/v1/carriers/infobip/reports`

console.info(DIALECT_NOTE)

it('orders statuses: queued < sending < sent < final', () => {
  expect(statusesBefore('sent')).toEqual(['queued', 'sending'])
  expect(statusesBefore('delivered')).toEqual(['queued', 'sending', 'sent'])
  expect(statusesBefore('queued')).toEqual([])
})

/** Posts a carrier's callback to the app, as the carrier would. */
async function deliver(h: Harness, request: CallbackRequest) {
  const url = new URL(request.url)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name === 'content-type' ? 'Content-Type' : name] = value
  }
  return h.call(request.method, `${url.pathname}${url.search}`, {
    body: request.method === 'GET' ? undefined : request.body,
    headers,
    origin: null,
  })
}

for (const dialect of DIALECTS) {
  describe(`delivery reports over HTTP: twilio (${dialect})`, () => {
    let fake: Awaited<ReturnType<typeof startTwilioFake>>
    let h: Harness
    beforeAll(async () => {
      fake = await startTwilioFake({ accountSid, authToken, callbackUrl: twilioCallback })
    })
    afterAll(() => fake.close())
    afterEach(() => h?.dispose())

    async function sentMessage(brand = 'Shop') {
      h = await createHarness(dialect, {
        publicUrl: PUBLIC_URL,
        liveCarrier: twilioCarrier({
          accountSid,
          authToken,
          from: '+15005550006',
          statusCallbackUrl: twilioCallback,
          baseUrl: fake.baseUrl,
        }),
      })
      const { pk, sk } = await h.liveProject({ brand })
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123778', consent: { accepted: true } },
      })
      expect(started.status).toBe(201)
      await h.dispatcher.drain()
      const details = await h.call('GET', `/v1/verifications/${started.json.id}`, { key: sk })
      return { id: started.json.id as string, sk, message: details.json.messages[0] }
    }

    it('records the send: carrier id, encoding and part count', async () => {
      const { message } = await sentMessage()
      expect(message).toMatchObject({
        status: 'sent',
        carrier: 'twilio',
        carrierMessageId: expect.stringMatching(/^SM/),
        encoding: 'GSM-7',
        segments: 1,
        errorCode: null,
        cost: null,
      })
      expect(fake.sends.at(-1)?.to).toBe('+447400123778')
    })

    it('records UCS-2 and two parts for a Cyrillic brand', async () => {
      const { message } = await sentMessage('Магазин Ромашка')
      expect(message).toMatchObject({ encoding: 'UCS-2', segments: 2 })
    })

    it('moves the status forward only; duplicates and late reports are no-ops', async () => {
      const { id, sk, message } = await sentMessage()
      const sid = message.carrierMessageId as string

      const delivered = await deliver(h, fake.deliveryReport(sid, 'delivered'))
      expect(delivered).toMatchObject({ status: 200, json: { received: 1, applied: 1 } })
      const receivedAt = new Date(h.now()).toISOString()

      for (const late of ['delivered', 'sent', 'failed'] as const) {
        const again = await deliver(h, fake.deliveryReport(sid, late, { errorCode: '30008' }))
        expect(again).toMatchObject({ status: 200, json: { received: 1, applied: 0 } })
      }
      const details = await h.call('GET', `/v1/verifications/${id}`, { key: sk })
      expect(details.json.messages[0]).toMatchObject({
        status: 'delivered',
        deliveredAt: receivedAt,
        statusAt: receivedAt,
        failedAt: null,
        errorCode: null,
      })
    })

    /** What an operator and a store see of the message: its row, events, /metrics figures. */
    async function observed(messageId: string) {
      const row = await h.db
        .selectFrom('messages')
        .select(['status', 'status_at', 'updated_at', 'delivered_at', 'failed_at', 'error_code'])
        .where('id', '=', messageId)
        .executeTakeFirstOrThrow()
      const events = await h.db
        .selectFrom('webhook_messages')
        .select('type')
        .where('type', 'like', 'message.%')
        .execute()
      const scraped = await h.app.request('http://textgate.test/metrics', {
        headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
      })
      const text = await scraped.text()
      const figure = (name: string) =>
        Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)
      return {
        row,
        events: events.map((e) => e.type),
        held: (await h.db.selectFrom('early_reports').select('id').execute()).length,
        metrics: Object.fromEntries<number>(
          ['sent', 'delivered', 'undelivered', 'failed'].map((status) => [
            status,
            figure(`textgate_messages_total\\{carrier="twilio",status="${status}"\\}`),
          ]),
        ),
        latencies: figure('textgate_message_delivery_seconds_count\\{carrier="twilio"\\}'),
      }
    }

    it.each(['delivered', 'undelivered'] as const)(
      'changes nothing when status callbacks are replayed, before and after %s',
      async (final) => {
        const { message } = await sentMessage()
        const sid = message.carrierMessageId as string
        const { id: messageId, project_id: projectId } = await h.db
          .selectFrom('messages')
          .select(['id', 'project_id'])
          .where('carrier_message_id', '=', sid)
          .executeTakeFirstOrThrow()
        // An endpoint that wants every event: a second message.* event would be written for it.
        await h.db
          .insertInto('webhook_endpoints')
          .values({
            id: 'we_replays',
            project_id: projectId,
            mode: 'live',
            url: 'https://hooks.shop.example/textgate',
            description: null,
            events: null,
            enabled: 1,
            disabled_reason: null,
            failing_since: null,
            secret_encrypted: 'unused',
            previous_secrets: null,
            created_at: h.now(),
            updated_at: h.now(),
          })
          .execute()
        forgetEndpointAbsence()
        // Twilio's callbacks as an attacker captured them: the same signed body, sent again.
        const sent = fake.deliveryReport(sid, 'sent')
        const ended = fake.deliveryReport(
          sid,
          final,
          final === 'undelivered' ? { errorCode: '30003' } : {},
        )

        const atSend = await observed(messageId)
        // The same status twice, while it is the message's own (the dispatcher recorded sent).
        for (let i = 0; i < 2; i++) {
          expect(await deliver(h, sent)).toMatchObject({ status: 200, json: { applied: 0 } })
        }
        expect(await observed(messageId)).toEqual(atSend)

        expect(await deliver(h, ended)).toMatchObject({ status: 200, json: { applied: 1 } })
        const atEnd = await observed(messageId)
        expect(atEnd.row.status).toBe(final)
        expect(atEnd.events).toEqual([
          final === 'delivered' ? 'message.delivered' : 'message.failed',
        ])
        expect(Number(atEnd.metrics[final]) - Number(atSend.metrics[final])).toBe(1)
        expect(atEnd.latencies - atSend.latencies).toBe(final === 'delivered' ? 1 : 0)

        // After the final state: the final callback again, then the earlier one, later on.
        h.advance(60_000)
        for (const replay of [ended, ended, sent]) {
          expect(await deliver(h, replay)).toMatchObject({
            status: 200,
            json: { received: 1, applied: 0 },
          })
        }
        expect(await observed(messageId)).toEqual(atEnd)
        expect(atEnd.held).toBe(0)
      },
    )

    it('records a failure with the carrier error code', async () => {
      const { id, sk, message } = await sentMessage()
      const sid = message.carrierMessageId as string
      const failed = await deliver(
        h,
        fake.deliveryReport(sid, 'undelivered', { errorCode: '30003' }),
      )
      expect(failed.json).toEqual({ received: 1, applied: 1 })
      const details = await h.call('GET', `/v1/verifications/${id}`, { key: sk })
      expect(details.json.messages[0]).toMatchObject({
        status: 'undelivered',
        errorCode: '30003',
        error: 'twilio reported undelivered (error 30003)',
        deliveredAt: null,
        failedAt: expect.any(String),
      })
    })

    it('rejects a tampered or unsigned callback and changes nothing', async () => {
      const { id, sk, message } = await sentMessage()
      const sid = message.carrierMessageId as string
      const genuine = fake.deliveryReport(sid, 'failed')
      const tampered = { ...genuine, body: genuine.body.replace('failed', 'delivered') }
      expect(await deliver(h, tampered)).toMatchObject({
        status: 401,
        json: { error: { code: 'invalid_signature' } },
      })
      const unsigned = fake.deliveryReport(sid, 'failed', { unsigned: true })
      expect((await deliver(h, unsigned)).status).toBe(401)
      // Signed for another URL: Twilio signs the URL it called.
      const elsewhere = { ...genuine, url: `${twilioCallback}?x=1` }
      expect((await deliver(h, elsewhere)).status).toBe(401)
      const details = await h.call('GET', `/v1/verifications/${id}`, { key: sk })
      expect(details.json.messages[0].status).toBe('sent')
    })

    it('checks the signature over statusCallbackUrl when it names another host than PUBLIC_URL', async () => {
      // Callbacks through an ingress of their own: Twilio signs the URL it was given.
      const ingress = 'https://carrier-callbacks.example/v1/carriers/twilio/reports'
      const other = await startTwilioFake({ accountSid, authToken, callbackUrl: ingress })
      try {
        h = await createHarness(dialect, {
          publicUrl: PUBLIC_URL,
          liveCarrier: twilioCarrier({
            accountSid,
            authToken,
            from: '+15005550006',
            statusCallbackUrl: ingress,
            baseUrl: other.baseUrl,
          }),
        })
        const { pk, sk } = await h.liveProject({ brand: 'Shop' })
        const started = await h.call('POST', '/v1/verifications', {
          key: pk,
          body: { phone: '+447400123778', consent: { accepted: true } },
        })
        await h.dispatcher.drain()
        const details = await h.call('GET', `/v1/verifications/${started.json.id}`, { key: sk })
        const sid = details.json.messages[0].carrierMessageId as string
        const genuine = other.deliveryReport(sid, 'delivered')
        expect(await deliver(h, genuine)).toMatchObject({ status: 200, json: { applied: 1 } })
        // Still over the URL it came to: another query is refused.
        const moved = other.deliveryReport(sid, 'failed')
        expect((await deliver(h, { ...moved, url: `${ingress}?x=1` })).status).toBe(401)
      } finally {
        await other.close()
      }
    })

    it('ignores a report for a message it does not know, and 404s an unknown carrier', async () => {
      await sentMessage()
      const unknown = await deliver(h, fake.deliveryReport('SMnope', 'delivered'))
      expect(unknown).toMatchObject({ status: 200, json: { received: 1, applied: 0 } })
      const other = await h.call('POST', '/v1/carriers/nobody/reports', {
        body: '{}',
        origin: null,
      })
      expect(other.status).toBe(404)
    })
  })

  describe(`delivery reports over HTTP: vonage receipts as GET query strings (${dialect})`, () => {
    let h: Harness
    afterEach(() => h?.dispose())

    it('checks the signature over the query and records price and carrier time', async () => {
      const signature = { secret: 'vonage-reports-signature-secret', method: 'sha256' as const }
      const callback = `${PUBLIC_URL}/v1/carriers/vonage/reports`
      const fake = await startVonageFake({
        apiKey: 'k1',
        apiSecret: 's1',
        signature,
        callbackUrl: callback,
      })
      try {
        h = await createHarness(dialect, {
          publicUrl: PUBLIC_URL,
          liveCarrier: vonageCarrier({
            apiKey: 'k1',
            signature,
            from: 'Shop',
            callbackUrl: callback,
            restHost: fake.baseUrl,
          }),
        })
        const { pk, sk } = await h.liveProject()
        const started = await h.call('POST', '/v1/verifications', {
          key: pk,
          body: { phone: '+447400123778', consent: { accepted: true } },
        })
        await h.dispatcher.drain()
        const path = `/v1/verifications/${started.json.id}`
        const sent = (await h.call('GET', path, { key: sk })).json.messages[0]
        expect(sent).toMatchObject({
          status: 'sent',
          carrier: 'vonage',
          cost: { amount: '0.03330000', currency: 'EUR' },
        })
        expect(fake.sends.at(-1)).toMatchObject({
          clientRef: expect.stringMatching(/^msg_/),
          callback,
        })

        const at = Date.parse('2026-11-25T12:00:07Z')
        const post = fake.deliveryReport(sent.carrierMessageId, 'delivered', { at })
        const query = new URLSearchParams(JSON.parse(post.body) as Record<string, string>)
        const get = { method: 'GET', url: `${callback}?${query}`, headers: {}, body: '' }
        const tampered = { ...get, url: get.url.replace('status=delivered', 'status=failed') }
        expect((await deliver(h, tampered)).status).toBe(401)
        expect((await deliver(h, get)).json).toEqual({ received: 1, applied: 1 })
        const after = (await h.call('GET', path, { key: sk })).json.messages[0]
        expect(after).toMatchObject({
          status: 'delivered',
          deliveredAt: '2026-11-25T12:00:07.000Z',
        })
      } finally {
        await fake.close()
      }
    })
  })

  describe(`carrier refusals over HTTP (${dialect})`, () => {
    let h: Harness
    afterEach(() => h?.dispose())

    it("records a permanent refusal with the carrier's error code", async () => {
      h = await createHarness(dialect, {
        liveCarrier: {
          id: 'refusing',
          capabilities: { unicode: true, deliveryReports: false, maxParts: 1 },
          async send() {
            throw new CarrierError('refusing', 'HTTP 400: 21211 not a valid number', {
              permanent: true,
              code: '21211',
            })
          },
        },
      })
      const { pk, sk } = await h.liveProject()
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123778', consent: { accepted: true } },
      })
      await h.dispatcher.drain()
      const details = await h.call('GET', `/v1/verifications/${started.json.id}`, { key: sk })
      expect(details.json.messages[0]).toMatchObject({
        status: 'failed',
        carrier: 'refusing',
        errorCode: '21211',
        error: expect.stringContaining('not a valid number'),
      })
    })
  })

  describe(`delivery reports over HTTP: infobip batches with prices (${dialect})`, () => {
    let fake: Awaited<ReturnType<typeof startInfobipFake>>
    let h: Harness
    beforeAll(async () => {
      fake = await startInfobipFake({
        apiKey: infobipKey,
        notifyUrl: `${infobipCallback}?token=${infobipToken}`,
      })
    })
    afterAll(() => fake.close())
    afterEach(() => h?.dispose())

    /** A server whose live texts go to the Infobip fake, and a project's live keys. */
    async function liveOnInfobip() {
      h = await createHarness(dialect, {
        publicUrl: PUBLIC_URL,
        liveCarrier: infobipCarrier({
          baseUrl: fake.baseUrl,
          apiKey: infobipKey,
          from: 'Shop',
          notifyUrl: infobipCallback,
          callbackToken: infobipToken,
        }),
      })
      const { pk, sk } = await h.liveProject()
      return { pk, sk }
    }

    it('applies each report of a batch, with cost and the carrier time', async () => {
      const { pk, sk } = await liveOnInfobip()
      const ids: string[] = []
      for (const phone of ['+447400123778', '+447400123779']) {
        const started = await h.call('POST', '/v1/verifications', {
          key: pk,
          body: { phone, consent: { accepted: true } },
        })
        ids.push(started.json.id)
      }
      await h.dispatcher.drain()
      const messages = await Promise.all(
        ids.map(
          async (id) =>
            (await h.call('GET', `/v1/verifications/${id}`, { key: sk })).json.messages[0],
        ),
      )
      const doneAt = Date.parse('2026-11-25T12:00:05Z')
      const first = fake.deliveryReport(messages[0].carrierMessageId, 'delivered', { at: doneAt })
      const second = fake.deliveryReport(messages[1].carrierMessageId, 'failed', {
        at: doneAt,
        errorCode: '27',
      })
      const batch = {
        ...first,
        body: JSON.stringify({
          results: [...JSON.parse(first.body).results, ...JSON.parse(second.body).results],
        }),
      }
      const answer = await deliver(h, batch)
      expect(answer).toMatchObject({ status: 200, json: { received: 2, applied: 2 } })
      const [a, b] = await Promise.all(
        ids.map(
          async (id) =>
            (await h.call('GET', `/v1/verifications/${id}`, { key: sk })).json.messages[0],
        ),
      )
      expect(a).toMatchObject({
        status: 'delivered',
        deliveredAt: '2026-11-25T12:00:05.000Z',
        cost: { amount: '0.0125', currency: 'EUR' },
      })
      expect(b).toMatchObject({
        status: 'failed',
        errorCode: '27',
        failedAt: '2026-11-25T12:00:05.000Z',
        cost: { amount: '0.0125', currency: 'EUR' },
      })

      const wrongToken = { ...first, url: first.url.replace(infobipToken, 'guess') }
      expect((await deliver(h, wrongToken)).status).toBe(401)
    })

    it('acknowledges malformed batches, applying only their well-formed reports', async () => {
      const { pk, sk } = await liveOnInfobip()
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123778', consent: { accepted: true } },
      })
      await h.dispatcher.drain()
      const message = async () =>
        (await h.call('GET', `/v1/verifications/${started.json.id}`, { key: sk })).json.messages[0]
      const { carrierMessageId } = await message()
      const valid = JSON.parse(
        fake.deliveryReport(carrierMessageId, 'delivered', { at: Date.now() }).body,
      ).results[0]
      const post = (results: unknown) => {
        const genuine = fake.deliveryReport(carrierMessageId, 'delivered')
        return deliver(h, { ...genuine, body: JSON.stringify(results) })
      }
      const stray = { ...valid, status: { groupName: 'constructor' } }
      for (const body of [
        null,
        5,
        { results: 5 },
        { results: [null] },
        { results: [{ ...valid, messageId: { $ne: 1 } }] },
        { results: [stray] },
        { results: [{ ...valid, messageId: 'x'.repeat(10_000) }] },
      ]) {
        const answer = await deliver(h, {
          ...fake.deliveryReport(carrierMessageId, 'delivered'),
          body: JSON.stringify(body),
        })
        expect([body, answer.status, answer.json.applied]).toEqual([body, 200, 0])
        expect((await message()).status).toBe('sent')
      }
      expect(await h.db.selectFrom('early_reports').selectAll().execute()).toEqual([])
      // The good report of a batch with bad ones still counts.
      const answer = await post({ results: [null, stray, 7, valid] })
      expect(answer).toMatchObject({ status: 200, json: { applied: 1 } })
      expect((await message()).status).toBe('delivered')
    })
  })

  describe(`delivery reports over HTTP: the answer each carrier waits for (${dialect})`, () => {
    let h: Harness | undefined
    afterEach(() => h?.dispose())

    // Bodies as the carriers document their pushes: a JSON array of reports, a URL token.
    const pushes = [
      {
        carrier: tencentCarrier({
          secretId: 'AKIDexample',
          secretKey: 'tencent-secret',
          smsSdkAppId: '1400006666',
          callbackToken: 'cbt_tencent',
        }),
        token: 'cbt_tencent',
        body: [
          {
            user_receive_time: '2026-11-25 20:03:04',
            nationcode: '86',
            mobile: '13800000000',
            report_status: 'SUCCESS',
            errmsg: 'DELIVRD',
            description: '用户短信送达成功',
            sid: '2640:3453453453453453453',
          },
        ],
        // Tencent: `result` 0 is success; anything else (or none) is pushed again.
        answer: { result: 0 },
      },
      {
        carrier: alibabaCarrier({
          accessKeyId: 'LTAIexample',
          accessKeySecret: 'alibaba-secret',
          callbackToken: 'cbt_alibaba',
        }),
        token: 'cbt_alibaba',
        body: [
          {
            phone_number: '13800000000',
            send_time: '2026-11-25 20:00:00',
            report_time: '2026-11-25 20:00:05',
            success: true,
            err_code: 'DELIVERED',
            err_msg: '用户接收成功',
            sms_size: '1',
            biz_id: '123456789^0',
            out_id: '',
          },
        ],
        // Alibaba's SmsReport: a numeric `code` in the answer, or it pushes again.
        answer: { code: 0 },
      },
    ]

    for (const push of pushes) {
      it(`answers ${push.carrier.id}'s push in the form it counts as received`, async () => {
        h = await createHarness(dialect, { publicUrl: PUBLIC_URL, liveCarrier: push.carrier })
        const post = () =>
          h!.call('POST', `/v1/carriers/${push.carrier.id}/reports?token=${push.token}`, {
            body: JSON.stringify(push.body),
            headers: { 'Content-Type': 'application/json' },
            origin: null,
          })
        const answer = await post()
        expect(answer.status).toBe(200)
        // Held (no such message yet), and still acknowledged as the carrier wants.
        expect(answer.json).toMatchObject(push.answer)
        expect(answer.json).toMatchObject({ received: 1 })
        const again = await post()
        expect(again.json).toMatchObject(push.answer)
      })
    }
  })
}
