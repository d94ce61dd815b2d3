import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { ERROR_CODES } from '@textgate/shared'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendRaw } from '../../testing/raw-http'
import { jsonClientErrors } from './client-error'

function parse(answer: string) {
  const [head = '', body = ''] = answer.split('\r\n\r\n')
  const [statusLine = '', ...headerLines] = head.split('\r\n')
  const headers = Object.fromEntries(
    headerLines.map((line) => {
      const at = line.indexOf(':')
      return [line.slice(0, at).toLowerCase(), line.slice(at + 1).trim()]
    }),
  )
  return { status: Number(statusLine.split(' ')[1]), headers, json: JSON.parse(body) }
}

describe('requests the HTTP parser refuses', () => {
  let server: Server
  let port: number

  beforeAll(async () => {
    const app = new Hono().get('/healthz', (c) => c.json({ status: 'ok' }))
    server = await new Promise<Server>((resolve) => {
      const listening = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(listening as Server),
      ) as Server
    })
    jsonClientErrors(server)
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it.each([
    [
      'a URL over the header size limit',
      `GET /v1/verifications/ver_${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    [
      'a header over the limit',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    [
      'a malformed Content-Length',
      'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      400,
      'malformed_request',
    ],
    [
      'two Content-Lengths that differ',
      'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      400,
      'malformed_request',
    ],
    ['no request line at all', 'GARBAGE\r\n\r\n', 400, 'malformed_request'],
  ])('answers %s with a JSON error', async (_, request, status, code) => {
    const answer = parse(await sendRaw(port, request))
    expect(answer.status).toBe(status)
    expect(answer.headers['content-type']).toBe('application/json')
    expect(answer.headers['x-content-type-options']).toBe('nosniff')
    expect(answer.json).toEqual({ error: { code, message: expect.any(String) } })
    expect(ERROR_CODES).toContain(code)
  })

  it('still serves well-formed requests', async () => {
    const answer = await sendRaw(
      port,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    )
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
  })
})
