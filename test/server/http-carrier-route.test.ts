/**
 * A live text through the routing file to an HTTP carrier (the local Twilio fake on loopback),
 * and its signed status callback taken at /v1/carriers/{id}/reports, as the store's server sees
 * it. The callback is signed over PUBLIC_URL, as Twilio signs the URL it was given, while the
 * test posts to the server's own loopback address (a proxy in between, as in production).
 */
import { startTwilioFake } from '@textgate/server/testing/carriers/twilio'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LiveTextgate, liveMessages, startLive, startLiveTextgate } from '../support/live'
import { cliAsync } from '../support/processes'

const ORIGIN = 'https://shop.example'
const PUBLIC_URL = 'https://verify.shop.example'
const CARRIER = 'twilio-eu'
const ACCOUNT_SID = 'AC00000000000000000000000000000001'
const AUTH_TOKEN = 'local-twilio-auth-token'
const REPORTS_URL = `${PUBLIC_URL}/v1/carriers/${CARRIER}/reports`

describe('live texts over an HTTP carrier (Twilio)', () => {
  let twilio: Awaited<ReturnType<typeof startTwilioFake>>
  let live: LiveTextgate

  beforeAll(async () => {
    twilio = await startTwilioFake({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      callbackUrl: REPORTS_URL,
    })
    live = await startLiveTextgate(
      {
        carriers: [
          {
            id: CARRIER,
            type: 'twilio',
            accountSid: ACCOUNT_SID,
            authTokenEnv: 'TG_HTTP_TWILIO_TOKEN',
            from: '+15005550006',
            baseUrl: twilio.baseUrl,
          },
        ],
        projects: { '*': { rules: [{ routes: [{ carrier: CARRIER, costPerSegment: 0.05 }] }] } },
      },
      { TG_HTTP_TWILIO_TOKEN: AUTH_TOKEN, PUBLIC_URL },
      ORIGIN,
    )
  })

  afterAll(async () => {
    await live?.close()
    await twilio?.close()
  })

  it('sends through the route, then a signed status callback marks the text delivered', async () => {
    const { server, keys } = live
    const started = await startLive(server.url, keys, ORIGIN, '+447400321321')
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }

    const read = () => liveMessages(server.url, keys, id)
    await expect
      .poll(async () => (await read())[0]?.status, { timeout: 15_000, interval: 100 })
      .toBe('sent')

    // What Twilio received: the account's credentials, the number, the code text, our callback.
    expect(twilio.accepted).toHaveLength(1)
    const [request] = twilio.accepted
    expect(request).toMatchObject({ user: ACCOUNT_SID, password: AUTH_TOKEN })
    expect(request?.form).toMatchObject({
      To: '+447400321321',
      From: '+15005550006',
      StatusCallback: REPORTS_URL,
    })
    expect(request?.form.Body).toMatch(/^\d{4,10} is your Live shop verification code\./)

    const report = twilio.deliveryReport(request!.sid, 'delivered')
    const post = (headers: Record<string, string>) =>
      fetch(`${server.url}/v1/carriers/${CARRIER}/reports`, {
        method: 'POST',
        headers,
        body: report.body,
      })

    // A forged callback (signature of another token) changes nothing.
    const forged = await post({ ...report.headers, 'x-twilio-signature': 'AAAA' })
    expect(forged.status).toBe(401)
    expect((await read())[0]?.status).toBe('sent')

    const accepted = await post(report.headers)
    expect(accepted.status).toBe(200)
    expect(await accepted.json()).toEqual({ received: 1, applied: 1 })

    const [message] = await read()
    expect(message).toMatchObject({ status: 'delivered', carrier: CARRIER })
    expect(message?.deliveredAt).not.toBeNull()

    // The operator's view of the same database: nothing waiting, the route's figures.
    const status = await cliAsync(['outbox', 'status', '--json'], server.env)
    expect(status.stderr).toBe('')
    expect(JSON.parse(status.stdout)).toMatchObject({
      pending: { due: 0, claimed: 0, retrying: 0 },
      dead: 0,
      carriers: [{ carrier: CARRIER, sent: 1, delivered: 1, failed: 0, deliveryRate: 1 }],
    })
  })
})
