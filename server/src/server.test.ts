import { describe, expect, it } from 'vitest'
import { sendRaw } from '../testing/raw-http'
import { loadConfig } from './config'
import { requestTimeouts } from './http/client-error'
import { createLogger } from './logger'
import { startServer } from './server'

describe('requests that arrive slowly', () => {
  it('gives a request 30 s to arrive, its headers 15 s (Node: 300 s, checked every 30 s)', () => {
    expect(requestTimeouts()).toEqual({
      requestTimeout: 30_000,
      headersTimeout: 15_000,
      connectionsCheckingInterval: 5_000,
    })
  })

  it('answers a request that stops arriving with 408, and goes on serving', async () => {
    const server = await startServer(
      loadConfig({
        PORT: '0',
        DATABASE_URL: 'sqlite::memory:',
        TEXTGATE_SECRET: 'slow-request-test-secret-0123456789-0123456789',
      }),
      { logger: createLogger('silent'), hostname: '127.0.0.1', requestTimeoutMs: 1_000 },
    )
    try {
      // Headers begun, never ended: with Node's defaults, a minute of waiting (a body that stops
      // arriving after a publishable key's headers, five minutes).
      const answer = await sendRaw(
        server.port,
        'POST /v1/verifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n',
      )
      expect(answer).toMatch(/^HTTP\/1\.1 408 /)
      expect(answer).toContain('{"error":{"code":"request_timeout"')
      const health = await fetch(`http://127.0.0.1:${server.port}/healthz`)
      expect(health.status).toBe(200)
    } finally {
      await server.close()
    }
  }, 15_000)
})
