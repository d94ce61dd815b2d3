/**
 * A live text through the routing file to a real SMPP peer on loopback, and its delivery
 * receipt (deliver_sm) stored on the message, as the store's server sees it.
 */
import { type FakeSmsc, startFakeSmsc } from '@textgate/server/testing/carriers/smpp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LiveTextgate, liveMessages, startLive, startLiveTextgate } from '../support/live'

const ORIGIN = 'https://shop.example'

describe('live texts over SMPP', () => {
  let smsc: FakeSmsc
  let live: LiveTextgate

  beforeAll(async () => {
    smsc = await startFakeSmsc({ receipts: 'tlv', receiptDelayMs: 50 })
    live = await startLiveTextgate(
      {
        carriers: [
          {
            id: 'local-smsc',
            type: 'smpp',
            host: smsc.host,
            port: smsc.port,
            systemId: smsc.options.systemId,
            passwordEnv: 'TG_RECEIPT_SMSC_PASSWORD',
            sourceAddr: 'Shop',
          },
        ],
        projects: {
          '*': { rules: [{ routes: [{ carrier: 'local-smsc', costPerSegment: 0.03 }] }] },
        },
      },
      { TG_RECEIPT_SMSC_PASSWORD: smsc.options.password },
      ORIGIN,
    )
  })

  afterAll(async () => {
    await live?.close()
    await smsc?.close()
  })

  it('sends through the route and stores the receipt: delivered, with carrier and cost', async () => {
    const { server, keys } = live
    const started = await startLive(server.url, keys, ORIGIN, '+447400321321')
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }

    const read = () => liveMessages(server.url, keys, id)
    await expect
      .poll(async () => (await read())[0]?.status, { timeout: 15_000, interval: 100 })
      .toBe('delivered')
    const [message] = await read()
    expect(message).toMatchObject({ carrier: 'local-smsc' })
    expect(message?.deliveredAt).not.toBeNull()
    expect(smsc.submitted.map((m) => m.to)).toEqual(['+447400321321'])
  })
})
