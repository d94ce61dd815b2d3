/**
 * A live text through the routing file to a real SMPP peer on loopback, and its delivery
 * receipt (deliver_sm) stored on the message, as the store's server sees it.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeSmsc, startFakeSmsc } from '../../server/src/carriers/smpp/testing'
import { createApiKey, createProject } from '../../server/src/projects'
import { openStorage } from '../../server/src/storage'
import { startTextgate, tempDir } from '../support/processes'

const ORIGIN = 'https://shop.example'

describe('live texts over SMPP', () => {
  const dir = tempDir('tg-smpp-')
  let smsc: FakeSmsc
  let server: Awaited<ReturnType<typeof startTextgate>>
  let keys: { publishable: string; secret: string }

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
    const storage = openStorage(String(server.env.DATABASE_URL))
    const { project } = await createProject(storage.db, { name: 'Live shop', origins: [ORIGIN] })
    keys = {
      publishable: await createApiKey(storage.db, project.id, 'publishable', 'live'),
      secret: await createApiKey(storage.db, project.id, 'secret', 'live'),
    }
    await storage.close()
  })

  afterAll(async () => {
    await server?.close()
    await smsc?.close()
    dir.remove()
  })

  it('sends through the route and stores the receipt: delivered, with carrier and cost', async () => {
    const started = await fetch(`${server.url}/v1/verifications`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${keys.publishable}`,
        'Content-Type': 'application/json',
        Origin: ORIGIN,
      },
      body: JSON.stringify({ phone: '+447400321321', consent: { accepted: true } }),
    })
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
