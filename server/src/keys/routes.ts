/**
 * The secret-key API of a project's keys: list, create one more (rotation without downtime:
 * create, deploy, then revoke the old one), revoke. A key acts only on keys of its own mode: a
 * test key can neither see nor revoke live keys.
 * @module
 */
import { Hono } from 'hono'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import * as v from 'valibot'
import { apiKeyAuth } from '../auth'
import { readJson } from '../http/body'
import { ApiError } from '../http/errors'
import { requestLog } from '../http/request-id'
import { isId } from '../ids'
import type { Database } from '../storage'
import { withFields } from '../with-fields'
import { createKey, listKeys, revokeKey } from './index'

const CreateKeyRequest = v.strictObject({
  kind: v.picklist(['publishable', 'secret'], 'kind must be publishable or secret'),
})

export function keyRoutes(db: Kysely<Database>, logger: Logger, now: () => number = Date.now) {
  const secret = apiKeyAuth({ db, kinds: ['secret'] })
  return new Hono()
    .get('/', secret, async (c) => {
      const { project, apiKey } = c.get('auth')
      return c.json(await listKeys(db, project.id, { mode: apiKey.mode }))
    })
    .post('/', secret, async (c) => {
      const { kind } = await readJson(c, CreateKeyRequest)
      const { project, apiKey } = c.get('auth')
      const { key, summary } = await createKey(db, project.id, kind, apiKey.mode, now())
      return c.json(withFields(summary, { key }), 201)
    })
    .post('/:id/revoke', secret, async (c) => {
      const id = c.req.param('id')
      if (!isId('key', id)) throw new ApiError('not_found')
      const { project, apiKey } = c.get('auth')
      const result = await revokeKey(db, project.id, id, {
        mode: apiKey.mode,
        now: now(),
        logger: requestLog(c, logger),
        by: apiKey.id,
      })
      if (!result.revoked && result.reason === 'not_found') throw new ApiError('not_found')
      return c.json(result.key)
    })
}
