/**
 * Counters in Redis while Redis is away: a real server whose REDIS_URL goes through a loopback
 * proxy we can cut. Starts are refused at once with 503 and Retry-After (never let through
 * uncounted, never left waiting), readiness says why, and counting resumes when Redis is back.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CreatedProject,
  cliAsync,
  freePort,
  sandboxCode,
  sandboxNumber,
  startTextgate,
} from '../support/processes'

const redisUrl = process.env.TEXTGATE_TEST_REDIS_URL

/** A TCP proxy to Redis on `port` that can be cut (every connection dropped) and opened again. */
function cuttableProxy(port: number, target: URL) {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  return {
    open: () =>
      new Promise<void>((resolve, reject) => {
        server = createServer((client) => {
          const upstream = connect(Number(target.port || 6379), target.hostname)
          for (const socket of [client, upstream]) {
            sockets.add(socket)
            socket.on('close', () => sockets.delete(socket))
            socket.on('error', () => {})
          }
          client.pipe(upstream).pipe(client)
        })
        server.once('error', reject)
        server.listen(port, '127.0.0.1', () => resolve())
      }),
    cut: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        if (server) server.close(() => resolve())
        else resolve()
      }),
  }
}

describe.runIf(redisUrl)('counters in Redis while Redis is away', () => {
  let server: Awaited<ReturnType<typeof startTextgate>>
  let project: CreatedProject
  let proxy: ReturnType<typeof cuttableProxy>
  let sequence = 0

  const start = async () => {
    const began = performance.now()
    const res = await fetch(`${server.url}/v1/verifications`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${project.secretKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        phone: `+4474009${String(10_000 + sequence++)}`,
        consent: { accepted: true },
      }),
    })
    const body = (await res.json()) as { error?: { code: string; message: string } }
    return { res, body, ms: performance.now() - began }
  }
  const readiness = async () => {
    const res = await fetch(`${server.url}/readyz`)
    return { status: res.status, body: (await res.json()) as { checks: { counters?: string } } }
  }

  beforeAll(async () => {
    const port = await freePort()
    proxy = cuttableProxy(port, new URL(redisUrl as string))
    await proxy.open()
    server = await startTextgate({ env: { REDIS_URL: `redis://127.0.0.1:${port}/7` } })
    const created = await cliAsync(
      ['projects', 'create', '--name', 'Outage', '--origin', 'https://shop.example', '--json'],
      server.env,
    )
    expect(created.status, created.stderr).toBe(0)
    project = JSON.parse(created.stdout) as CreatedProject
  })

  afterAll(async () => {
    await server?.close()
    await proxy?.cut()
  })

  it('refuses starts at once with 503 while Redis is away, and counts again once it is back', async () => {
    expect((await start()).res.status).toBe(201)
    expect((await readiness()).body.checks.counters).toBe('ok')

    await proxy.cut()
    for (let i = 0; i < 3; i++) {
      const { res, body, ms } = await start()
      expect(res.status).toBe(503)
      expect(body.error?.code).toBe('service_unavailable')
      expect(res.headers.get('retry-after')).toBe('1')
      // Refused at once, not after ioredis's reconnection attempts (2 s and more before).
      expect(ms).toBeLessThan(1_000)
    }
    const away = await readiness()
    expect(away.status).toBe(503)
    expect(away.body.checks.counters).toBe('unreachable')

    await proxy.open()
    const until = Date.now() + 10_000
    while ((await readiness()).status !== 200 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect((await readiness()).body.checks.counters).toBe('ok')
    expect((await start()).res.status).toBe(201)
  })

  it('gives back the checks it could not judge while Redis is away', async () => {
    // Another range than the first test's, whose starts its velocity counts.
    const phone = await sandboxNumber(server.url, project)
    const headers = {
      Authorization: `Bearer ${project.secretKey}`,
      'Content-Type': 'application/json',
    }
    const started = await fetch(`${server.url}/v1/verifications`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ phone, consent: { accepted: true } }),
    })
    const startedBody = await started.text()
    expect(started.status, startedBody).toBe(201)
    const { id } = JSON.parse(startedBody) as { id: string }
    const code = await sandboxCode(server.url, project, phone)
    const check = (body: { code: string }) =>
      fetch(`${server.url}/v1/verifications/${id}/check`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      })

    await proxy.cut()
    // More checks than a verification has: none of them may use one up.
    for (let i = 0; i < 6; i++) {
      const res = await check({ code: i % 2 ? code : '000000' })
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('1')
    }
    await proxy.open()
    const until = Date.now() + 10_000
    while ((await readiness()).status !== 200 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const approved = await check({ code })
    expect(approved.status).toBe(200)
    expect(((await approved.json()) as { token?: string }).token).toMatch(/^ey/)
  })
})

if (!redisUrl) {
  describe('counters in Redis while Redis is away', () => {
    it.skip('needs TEXTGATE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379); CI sets it', () => {})
  })
}
