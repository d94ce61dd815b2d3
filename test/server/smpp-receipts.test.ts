/**
 * A live text through the routing file to a real SMPP peer on loopback, and its delivery
 * receipt (deliver_sm) stored on the message, as the store's server sees it.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type FakeSmsc, startFakeSmsc } from '@textgate/server/testing/carriers/smpp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLiveProject, type LiveKeys, startLive } from '../support/live'
import { startTextgate, tempDir } from '../support/processes'

const ORIGIN = 'https://shop.example'

describe('live texts over SMPP', () => {
  const dir = tempDir('tg-smpp-')
  let smsc: FakeSmsc
  let server: Awaited<ReturnType<typeof startTextgate>>
  let keys: LiveKeys

  beforeAll(async () => {
    smsc = await startFakeSmsc({ receipts: 'tlv', receiptDelayMs: 50 })
    const routesFile = join(dir.path, 'routes.json')
    writeFileSync(
      routesFile,
      JSON.stringify({
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
      }),
    )
    server = await startTextgate({
      env: { TEXTGATE_ROUTES_FILE: routesFile, TG_RECEIPT_SMSC_PASSWORD: smsc.options.password },
    })
    keys = await createLiveProject(String(server.env.DATABASE_URL), ORIGIN)
  })

  afterAll(async () => {
    await server?.close()
    await smsc?.close()
    dir.remove()
  })

  it('sends through the route and stores the receipt: delivered, with carrier and cost', async () => {
    const started = await startLive(server.url, keys, ORIGIN, '+447400321321')
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }

    const read = async () => {
      const res = await fetch(`${server.url}/v1/verifications/${id}`, {
        headers: { Authorization: `Bearer ${keys.secret}` },
      })
      return (await res.json()) as {
        messages: { status: string; carrier: string | null; deliveredAt: string | null }[]
      }
    }
    await expect
      .poll(async () => (await read()).messages[0]?.status, { timeout: 15_000, interval: 100 })
      .toBe('delivered')
    const [message] = (await read()).messages
    expect(message).toMatchObject({ carrier: 'local-smsc' })
    expect(message?.deliveredAt).not.toBeNull()
    expect(smsc.submitted.map((m) => m.to)).toEqual(['+447400321321'])
  })
})
