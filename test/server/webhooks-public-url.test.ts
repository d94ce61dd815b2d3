/**
 * A server that names a public host in PUBLIC_URL serves the internet, whatever NODE_ENV says:
 * a test key must not make it post to loopback (its own database, Redis, metrics port). The
 * real server runs with NODE_ENV unset and PUBLIC_URL=https://verify.shop.example: an endpoint on
 * 127.0.0.1 is refused when created, and endpoints saved while it was a development server
 * (PUBLIC_URL on loopback) get no request at delivery time, an address or a name (`localhost`,
 * refused after its lookup).
 */

import { startReceiver } from '@textgate/server/testing/webhook-receiver'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type CreatedProject,
  createProject,
  restartTextgate,
  type Started,
  startTextgate,
  verifyThroughApi,
} from '../support/processes'

interface Delivery {
  state: string
  attempts: number
  log: { error: string | null; statusCode: number | null }[]
}

describe('test-mode webhooks on a server with a public PUBLIC_URL and NODE_ENV unset', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  it('refuses loopback endpoints on creation and at delivery', async () => {
    const receiver = await startReceiver()
    cleanups.push(() => receiver.close())
    const local = new URL(receiver.url)
    const byName = `http://localhost:${local.port}${local.pathname}`
    // A development server first (PUBLIC_URL on loopback): loopback endpoints are a developer's.
    const dev = await startTextgate({ direct: true, env: { NODE_ENV: '' } })
    cleanups.push(() => dev.close())
    const project: CreatedProject = createProject(dev.env, 'Shop', ['https://shop.example'])
    const secret = {
      authorization: `Bearer ${project.secretKey}`,
      'content-type': 'application/json',
    }
    const create = (base: string, url: string) =>
      fetch(`${base}/v1/webhooks/endpoints`, {
        method: 'POST',
        headers: secret,
        body: JSON.stringify({ url }),
      })
    const ids: string[] = []
    for (const url of [receiver.url, byName]) {
      const res = await create(dev.url, url)
      expect(res.status, url).toBe(201)
      const body = (await res.json()) as { id: string; secret: string }
      ids.push(body.id)
      receiver.secrets.push(body.secret)
    }
    await dev.stop()

    // The same database, now serving a public host; NODE_ENV still unset.
    const server: Started = await restartTextgate({
      ...dev.env,
      PUBLIC_URL: 'https://verify.shop.example',
      NODE_ENV: '',
    })
    cleanups.push(() => server.stop())
    for (const url of [receiver.url, byName, 'http://[::1]:9/hooks', 'https://127.0.0.1/hooks']) {
      const res = await create(server.url, url)
      expect(res.status, url).toBe(422)
      expect(await res.json(), url).toMatchObject({
        error: { code: 'webhook_url_not_allowed', reason: expect.stringMatching(/loopback/) },
      })
    }

    await verifyThroughApi(server.url, project, '+447400123456')
    const deliveries = async (id: string) => {
      const res = await fetch(`${server.url}/v1/webhooks/endpoints/${id}/deliveries`, {
        headers: secret,
      })
      return ((await res.json()) as { data: Delivery[] }).data
    }
    const deadline = Date.now() + 15_000
    let seen: Delivery[][] = []
    for (;;) {
      seen = await Promise.all(ids.map(deliveries))
      if (seen.every((list) => list.some((d) => d.log.length > 0))) break
      if (Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(receiver.requests).toBe(0)
    const [byAddress, byLookup] = seen.map((list) => list.flatMap((d) => d.log))
    expect(byAddress?.[0]).toMatchObject({
      statusCode: null,
      error: 'the address is private or reserved',
    })
    expect(byLookup?.[0]).toMatchObject({
      statusCode: null,
      error: 'EADDRNOTALLOWED: localhost resolves only to private or reserved addresses',
    })
  }, 60_000)
})
