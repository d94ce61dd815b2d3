/**
 * The console's read-only view of a project's webhook endpoints, both modes: their state (held
 * after a 429/503, disabled) and the earlier secrets still signing after rotations, each with
 * its end. Managed with a secret key or the CLI; never a secret here, and URLs without their
 * query (receivers keep tokens there).
 * @module
 */
import type { WebhookEndpoint } from '@textgate/shared'
import { Hono } from 'hono'
import { listEndpoints } from '../../webhooks'
import { withoutQuery } from '../../webhooks/dispatcher'
import { withFields } from '../../with-fields'
import type { ProjectRoutesDeps } from '../project-routes'
import { need } from '../security'

export function webhookRoutes({ db, now }: ProjectRoutesDeps) {
  return new Hono().get('/', need('keys.read'), async (c) => {
    const projectId = c.get('project').id
    const at = now()
    const endpoints: WebhookEndpoint[] = [
      ...(await listEndpoints(db, { projectId, mode: 'test' }, at)),
      ...(await listEndpoints(db, { projectId, mode: 'live' }, at)),
    ]
    return c.json({
      endpoints: endpoints.map((endpoint) =>
        withFields(endpoint, { url: withoutQuery(endpoint.url) }),
      ),
    })
  })
}
