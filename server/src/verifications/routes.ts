/**
 * HTTP routes of verifications: the widget's start, check and resend (publishable key, or the
 * store's own server with its secret key: the fraud guard weighs it as the store's server) and
 * the store server's read and cancel (secret key).
 * @module
 */

import {
  CheckVerificationRequest,
  IdempotencyKey,
  ResendVerificationRequest,
  StartVerificationRequest,
} from '@textgate/shared'
import { type Context, Hono } from 'hono'
import type { Kysely } from 'kysely'
import * as v from 'valibot'
import { apiKeyAuth } from '../auth'
import { readJson, readOptionalJson } from '../http/body'
import { ApiError } from '../http/errors'
import { answerHeaders, jsonAnswer } from '../http/headers'
import { isId } from '../ids'
import type { Database } from '../storage'
import type { VerificationService } from './service'

/** The `:id` of the path, refused as unknown before any query when it is not a verification id. */
function verificationId(c: { req: { param(name: 'id'): string } }): string {
  const id = c.req.param('id')
  if (!isId('ver', id)) throw new ApiError('verification_not_found')
  return id
}

export function verificationRoutes(
  db: Kysely<Database>,
  verifications: VerificationService,
  /** The client's address (http/client-ip.ts, with the server's trusted proxies). */
  ipOf: (c: Context) => string | null = () => null,
) {
  const secret = apiKeyAuth({ db, kinds: ['secret'] })
  const either = apiKeyAuth({ db, kinds: ['publishable', 'secret'] })

  return new Hono()
    .post('/', either, async (c) => {
      const idempotencyKey = c.req.header('Idempotency-Key')
      if (idempotencyKey !== undefined && !v.is(IdempotencyKey, idempotencyKey)) {
        throw new ApiError('invalid_request', {
          issues: [
            { path: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' },
          ],
        })
      }
      const input = await readJson(c, StartVerificationRequest)
      const result = await verifications.start(c.get('auth'), input, {
        origin: c.req.header('Origin') ?? null,
        ip: ipOf(c),
        idempotencyKey,
        userAgent: c.req.header('User-Agent') ?? null,
        request: c.get('requestLog'),
      })
      if (result.replayed) answerHeaders(c)['idempotent-replayed'] = 'true'
      return jsonAnswer(c, result.body, result.status)
    })
    .post('/:id/check', either, async (c) => {
      const id = verificationId(c)
      const { code } = await readJson(c, CheckVerificationRequest)
      return jsonAnswer(c, await verifications.check(c.get('auth'), id, code))
    })
    .post('/:id/resend', either, async (c) => {
      const id = verificationId(c)
      // Optional: a client that sends no body (or an empty one) resends as before.
      const input = await readOptionalJson(c, ResendVerificationRequest, {})
      return c.json(
        await verifications.resend(c.get('auth'), id, input, {
          origin: c.req.header('Origin') ?? null,
          ip: ipOf(c),
          request: c.get('requestLog'),
        }),
      )
    })
    .post('/:id/cancel', secret, async (c) => {
      return c.json(await verifications.cancel(c.get('auth'), verificationId(c)))
    })
    .get('/:id', secret, async (c) => {
      return c.json(await verifications.get(c.get('auth'), verificationId(c)))
    })
}
