/**
 * DNS rebinding: a page at evil.example whose name resolves to this server's address is
 * same-origin with itself, so it sends `Host: evil.example` and `Origin: http://evil.example`.
 * The console answers only its own host names; everything a store, a carrier, a prober or a
 * load balancer calls answers whatever host it names. Real HTTP on 127.0.0.1, forged headers.
 */

import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness } from '../../testing/harness'
import { loadConfig } from '../config'
import { createLogger } from '../logger'
import { createProject } from '../projects'
import { type RunningServer, startServer } from '../server'
import { openStorage } from '../storage'

const SECRET = 'host-check-test-secret-0123456789-0123456789'
const METRICS_TOKEN = 'metrics-token-for-host-checks-0123'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  json: any
}

/** One request with exactly these headers (Host included), as a browser or proxy would send. */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        setHost: false,
        headers: payload ? Object.assign({ 'Content-Type': 'application/json' }, headers) : headers,
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => {
          text += chunk
        })
        res.on('end', () => {
          let json: unknown
          try {
            json = JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
        })
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

const LOGIN = { email: 'nobody@shop.example', password: 'not the password at all' }

function server(env: Record<string, string>, dir: string) {
  return startServer(
    loadConfig(
      Object.assign(
        {
          PORT: '0',
          DATABASE_URL: `sqlite:${join(dir, 'textgate.db')}`,
          TEXTGATE_SECRET: SECRET,
          METRICS_TOKEN,
          LOG_LEVEL: 'silent',
        },
        env,
      ),
    ),
    { logger: createLogger('silent'), hostname: '127.0.0.1' },
  )
}

describe('the console answers only its own host names (development, default PUBLIC_URL)', () => {
  let running: RunningServer
  let dir: string
  let port: number

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'textgate-hosts-'))
    running = await server({}, dir)
    port = running.port
  }, 30_000)
  afterAll(async () => {
    await running?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('refuses the sign-in and setup routes of a DNS-rebinding page (its own Host and Origin)', async () => {
    const evil = `evil.example:${port}`
    const login = await send(
      port,
      'POST',
      '/console/api/login',
      { Host: evil, Origin: `http://${evil}` },
      LOGIN,
    )
    expect(login.status).toBe(421)
    expect(login.json.error.code).toBe('misdirected_request')
    expect(login.json.error.message).toContain('http://localhost:0')
    const setup = await send(
      port,
      'POST',
      '/console/api/setup/describe',
      { Host: evil, Origin: `http://${evil}`, 'Sec-Fetch-Site': 'same-origin' },
      { token: 'x'.repeat(43) },
    )
    expect(setup.status).toBe(421)
    expect(setup.json.error.code).toBe('misdirected_request')
    const session = await send(port, 'GET', '/console/api/session', { Host: evil })
    expect(session.status).toBe(421)
    // The page and its assets too, in words rather than JSON.
    const page = await send(port, 'GET', '/console/', { Host: evil })
    expect(page.status).toBe(421)
    expect(page.headers['content-type']).toMatch(/^text\/plain/)
    expect(page.text).toContain('TEXTGATE_CONSOLE_ORIGINS')
  })

  it('answers at localhost, 127.0.0.1 and [::1] on its own port, and only from its own origins', async () => {
    for (const name of ['localhost', '127.0.0.1', '[::1]', 'LOCALHOST']) {
      const host = `${name}:${port}`
      const login = await send(
        port,
        'POST',
        '/console/api/login',
        { Host: host, Origin: `http://${host.toLowerCase()}` },
        LOGIN,
      )
      expect(login.status, host).toBe(401)
      expect(login.json.error.code).toBe('invalid_credentials')
    }
    // Another port on this machine is another site.
    const otherPort = await send(port, 'GET', '/console/api/session', {
      Host: `localhost:${port + 1}`,
    })
    expect(otherPort.status).toBe(421)
    // Our Host, someone else's Origin: the CSRF check compares with our origins, not the Host.
    const host = `127.0.0.1:${port}`
    for (const origin of [`http://evil.example:${port}`, `http://127.0.0.1:${port + 1}`]) {
      const login = await send(
        port,
        'POST',
        '/console/api/login',
        { Host: host, Origin: origin },
        LOGIN,
      )
      expect(login.status, origin).toBe(403)
      expect(login.json.error.code).toBe('csrf_failed')
    }
  })

  it('leaves what stores, carriers, probers and load balancers call answering under any host', async () => {
    const storage = openStorage(`sqlite:${join(dir, 'textgate.db')}`)
    const { publishableKey } = await createProject(storage.db, {
      name: 'Shop',
      origins: ['https://shop.example'],
    })
    await storage.close()
    const Host = 'internal-lb-1234.eu-west-1.elb.example'
    expect((await send(port, 'GET', '/healthz', { Host })).status).toBe(200)
    expect((await send(port, 'GET', '/readyz', { Host })).status).toBe(200)
    const jwks = await send(port, 'GET', '/.well-known/jwks.json', { Host })
    expect(jwks.status).toBe(200)
    expect(jwks.json.keys.length).toBeGreaterThan(0)
    const metrics = await send(port, 'GET', '/metrics', {
      Host,
      Authorization: `Bearer ${METRICS_TOKEN}`,
    })
    expect(metrics.status).toBe(200)
    // The widget's API from the store's page, with CORS.
    const config = await send(port, 'GET', '/v1/config', {
      Host: 'verify.shop.example',
      Authorization: `Bearer ${publishableKey}`,
      Origin: 'https://shop.example',
    })
    expect(config.status).toBe(200)
    expect(config.headers['access-control-allow-origin']).toBe('https://shop.example')
    // A carrier's delivery report reaches its route (no carrier of that id here: its 404).
    const report = await send(
      port,
      'POST',
      '/v1/carriers/twilio/reports',
      { Host, 'Content-Type': 'application/x-www-form-urlencoded' },
      'MessageSid=SM1',
    )
    expect(report.status).toBe(404)
    expect(report.json.error.code).toBe('not_found')
  })
})

describe('the console behind a proxy in production', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'textgate-hosts-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('answers PUBLIC_URL’s host, X-Forwarded-Host from a trusted proxy, and TEXTGATE_CONSOLE_ORIGINS', async () => {
    const running = await server(
      {
        NODE_ENV: 'production',
        PUBLIC_URL: 'https://verify.example',
        TRUST_PROXY: 'loopback',
        TEXTGATE_CONSOLE_ORIGINS: 'http://console.internal:8080',
      },
      dir,
    )
    const port = running.port
    const login = (headers: Record<string, string>) =>
      send(port, 'POST', '/console/api/login', headers, LOGIN)
    try {
      // The proxy passes the browser's Host on.
      for (const Host of ['verify.example', 'Verify.Example:443']) {
        const answer = await login({ Host, Origin: 'https://verify.example' })
        expect(answer.status, Host).toBe(401)
      }
      // Loopback names are not the console's in production with a PUBLIC_URL of its own.
      expect(
        (await login({ Host: `127.0.0.1:${port}`, Origin: 'https://verify.example' })).status,
      ).toBe(421)
      // A proxy (127.0.0.1 is trusted here) that rewrites Host says the original in
      // X-Forwarded-Host; the entry it wrote is the last one.
      const forwarded = await login({
        Host: `127.0.0.1:${port}`,
        'X-Forwarded-Host': 'verify.example',
        Origin: 'https://verify.example',
      })
      expect(forwarded.status).toBe(401)
      const rebound = await login({
        Host: `127.0.0.1:${port}`,
        'X-Forwarded-Host': 'verify.example, evil.example',
        Origin: 'https://evil.example',
      })
      expect(rebound.status).toBe(421)
      // The operator's extra origin.
      const internal = await login({
        Host: 'console.internal:8080',
        Origin: 'http://console.internal:8080',
      })
      expect(internal.status).toBe(401)
      expect(
        (await login({ Host: 'verify.example', Origin: 'https://evil.example' })).json.error.code,
      ).toBe('csrf_failed')
    } finally {
      await running.close()
    }
  })

  it('believes X-Forwarded-Host only from a trusted proxy', async () => {
    const running = await server(
      { NODE_ENV: 'production', PUBLIC_URL: 'https://verify.example' },
      dir,
    )
    try {
      const answer = await send(
        running.port,
        'POST',
        '/console/api/login',
        {
          Host: 'evil.example',
          'X-Forwarded-Host': 'verify.example',
          Origin: 'https://evil.example',
        },
        LOGIN,
      )
      expect(answer.status).toBe(421)
    } finally {
      await running.close()
    }
  })
})

describe('the console of an app built with createApp left to its defaults, and a public URL', () => {
  it('answers at that URL only, not at loopback names (as production’s config has it)', async () => {
    const h = await createHarness('sqlite', { publicUrl: 'https://verify.shop.example' })
    const listening = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' })
    try {
      await once(listening, 'listening')
      const port = (listening.address() as AddressInfo).port
      for (const name of ['localhost', '127.0.0.1', '[::1]']) {
        const answer = await send(port, 'GET', '/console/api/session', { Host: `${name}:${port}` })
        expect([name, answer.status]).toEqual([name, 421])
      }
      const own = await send(port, 'GET', '/console/api/session', { Host: 'verify.shop.example' })
      expect(own.status).toBe(401)
    } finally {
      await new Promise((resolve) => listening.close(resolve))
      await h.dispose()
    }
  })
})
