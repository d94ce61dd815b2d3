import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { allowOrigin, disallowOrigin } from '../auth/cors'
import { answerHeaders, jsonAnswer, responseHeaders } from './headers'

const ORIGIN = 'https://shop.example'

function app() {
  const hono = new Hono()
  hono.use(responseHeaders())
  hono.use(async (c, next) => {
    answerHeaders(c)['x-request-id'] = 'req-1'
    allowOrigin(c, ORIGIN)
    await next()
  })
  hono.get('/plain', (c) => jsonAnswer(c, { ok: true }, 201))
  hono.get('/cached', (c) => {
    answerHeaders(c)['cache-control'] = 'private, max-age=60'
    return jsonAnswer(c, { ok: true })
  })
  hono.get('/hono', (c) => {
    c.header('Vary', 'Accept-Language', { append: true })
    return c.json({ ok: true })
  })
  hono.get('/secret', (c) => {
    disallowOrigin(c)
    return jsonAnswer(c, { ok: true })
  })
  hono.get('/fails', () => {
    throw new Error('boom')
  })
  hono.onError((_error, c) => c.json({ error: 'internal_error' }, 500))
  return hono
}

describe("the request's header record", () => {
  it('goes whole onto an answer made with it, as one plain set of headers', async () => {
    const res = await app().request('/plain')
    expect(res.status).toBe(201)
    expect(await res.json()).toEqual({ ok: true })
    expect(Object.fromEntries(res.headers)).toEqual({
      'access-control-allow-origin': ORIGIN,
      'access-control-expose-headers': 'Retry-After, Idempotent-Replayed',
      'cache-control': 'no-store',
      'content-type': 'application/json',
      vary: 'Origin',
      'x-content-type-options': 'nosniff',
      'x-request-id': 'req-1',
    })
  })

  it("keeps a handler's own cache policy", async () => {
    const res = await app().request('/cached')
    expect(res.headers.get('cache-control')).toBe('private, max-age=60')
  })

  it("goes onto any other answer on the way out, adding to the handler's Vary", async () => {
    for (const path of ['/hono', '/fails']) {
      const res = await app().request(path)
      expect(res.headers.get('x-request-id'), path).toBe('req-1')
      expect(res.headers.get('access-control-allow-origin'), path).toBe(ORIGIN)
      expect(res.headers.get('cache-control'), path).toBe('no-store')
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
    }
    const hono = await app().request('/hono')
    expect(hono.headers.get('vary')).toBe('Accept-Language, Origin')
  })

  it('loses CORS headers taken back before the answer', async () => {
    const res = await app().request('/secret')
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(res.headers.get('access-control-expose-headers')).toBeNull()
    expect(res.headers.get('x-request-id')).toBe('req-1')
  })
})
