/**
 * The secret-key API for webhooks: endpoints (create, list, read, update, delete, rotate the
 * secret), their delivery log, and replays. A key sees only its own mode's endpoints.
 * @module
 */
import {
  CreateWebhookEndpointRequest,
  ReplayWebhooksRequest,
  RotateWebhookSecretRequest,
  UpdateWebhookEndpointRequest,
  WebhookDeliveriesQuery,
} from '@textgate/shared'
import { type Context, Hono } from 'hono'
import type { Kysely } from 'kysely'
import { apiKeyAuth } from '../auth'
import { readJson, readOptionalJson, validate } from '../http/body'
import type { Database } from '../storage'
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  replay,
  rotateSecret,
  type Scope,
  updateEndpoint,
} from './endpoints'
import { NO_WEBHOOK_NETWORKS, type WebhookNetworks } from './url-policy'

export function webhookRoutes(
  db: Kysely<Database>,
  encryptionKey: Buffer,
  now = Date.now,
  /** The operator's networks endpoints may be in besides the internet (TEXTGATE_WEBHOOK_NETWORKS). */
  networks: WebhookNetworks = NO_WEBHOOK_NETWORKS,
) {
  const scopeOf = (c: Context): Scope => {
    const { project, apiKey } = c.get('auth')
    return { projectId: project.id, mode: apiKey.mode, networks }
  }
  const routes = new Hono()
  routes.use(apiKeyAuth({ db, kinds: ['secret'] }))

  routes.get('/endpoints', async (c) =>
    c.json({ data: await listEndpoints(db, scopeOf(c), now()) }),
  )
  routes.post('/endpoints', async (c) => {
    const input = await readJson(c, CreateWebhookEndpointRequest)
    return c.json(await createEndpoint(db, encryptionKey, scopeOf(c), input, now()), 201)
  })
  routes.get('/endpoints/:id', async (c) =>
    c.json(await getEndpoint(db, scopeOf(c), c.req.param('id'), now())),
  )
  routes.patch('/endpoints/:id', async (c) => {
    const input = await readJson(c, UpdateWebhookEndpointRequest)
    return c.json(await updateEndpoint(db, scopeOf(c), c.req.param('id'), input, now()))
  })
  routes.delete('/endpoints/:id', async (c) => {
    await deleteEndpoint(db, scopeOf(c), c.req.param('id'))
    return c.body(null, 204)
  })
  routes.post('/endpoints/:id/rotate-secret', async (c) => {
    const input = await readOptionalJson(c, RotateWebhookSecretRequest, {})
    const keepMs =
      input.keepPreviousSeconds === undefined ? undefined : input.keepPreviousSeconds * 1000
    return c.json(
      await rotateSecret(db, encryptionKey, scopeOf(c), c.req.param('id'), keepMs, now()),
    )
  })
  routes.get('/endpoints/:id/deliveries', async (c) => {
    const query = validate(WebhookDeliveriesQuery, c.req.query())
    return c.json({ data: await listDeliveries(db, scopeOf(c), c.req.param('id'), query) })
  })
  routes.post('/endpoints/:id/replay', async (c) => {
    const input = await readOptionalJson(c, ReplayWebhooksRequest, {})
    const since = input.since === undefined ? undefined : Date.parse(input.since)
    const replayed = await replay(db, scopeOf(c), { endpointId: c.req.param('id'), since }, now())
    return c.json({ replayed })
  })
  routes.post('/deliveries/:id/replay', async (c) => {
    const replayed = await replay(db, scopeOf(c), { deliveryId: c.req.param('id') }, now())
    return c.json({ replayed })
  })
  return routes
}
