/**
 * The benchmark's baseline: a bare Hono route on @hono/node-server that reads a JSON body and
 * answers JSON, with nothing else in the way. Same runtime, same HTTP stack as Textgate.
 * @module
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono()
app.get('/healthz', (c) => c.json({ status: 'ok' }))
app.post('/echo', async (c) => {
  const body = await c.req.json()
  return c.json({ id: 'ver_baseline', received: body }, 201)
})

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' })
process.once('SIGTERM', () => server.close(() => process.exit(0)))
