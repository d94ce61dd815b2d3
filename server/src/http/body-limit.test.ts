import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bodyLimit } from './body-limit'

const LIMIT = 64

/** A POST over a real socket: `chunks` sent chunked unless `length` sets a Content-Length. */
function post(
  port: number,
  chunks: string[],
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { port, host: '127.0.0.1', method: 'POST', path: '/echo', headers },
      (res) => {
        let body = ''
        res.on('data', (chunk) => {
          body += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    for (const chunk of chunks) req.write(chunk)
    req.end()
  })
}

describe('body limit over a real socket', () => {
  let server: ReturnType<typeof serve>
  let port = 0
  beforeAll(async () => {
    const app = new Hono()
    app.use(bodyLimit({ maxSize: LIMIT, onError: (c) => c.text('too large', 413) }))
    app.post('/echo', async (c) => c.text(`got:${await c.req.text()}`))
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve())
    })
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('lets a body within the limit through, read in full (Content-Length)', async () => {
    const body = JSON.stringify({ phone: '+447400123456' })
    const res = await post(port, [body], { 'content-length': String(Buffer.byteLength(body)) })
    expect(res).toEqual({ status: 200, body: `got:${body}` })
  })

  it('refuses a Content-Length over the limit without reading the body', async () => {
    const body = 'x'.repeat(LIMIT + 1)
    const res = await post(port, [body], { 'content-length': String(body.length) })
    expect(res.status).toBe(413)
  })

  it('counts a chunked body as it streams: over the limit is refused, within is read', async () => {
    const over = await post(port, ['x'.repeat(40), 'y'.repeat(40)])
    expect(over.status).toBe(413)
    const within = await post(port, ['ab', 'cd'])
    expect(within).toEqual({ status: 200, body: 'got:abcd' })
  })

  it('reads an empty body (Content-Length: 0) as empty', async () => {
    const res = await post(port, [], { 'content-length': '0' })
    expect(res).toEqual({ status: 200, body: 'got:' })
  })
})
