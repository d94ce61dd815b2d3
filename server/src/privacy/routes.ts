/**
 * `POST /v1/erasures` (secret key): erase a number from the project's records.
 * @module
 */
import { CountryCode } from '@textgate/shared'
import { Hono } from 'hono'
import * as v from 'valibot'
import { apiKeyAuth } from '../auth'
import { readJson } from '../http/body'
import { parsePhoneAnyType } from '../phone'
import type { Storage } from '../storage'
import { eraseNumber } from './erasure'

export const ErasureRequest = v.strictObject({
  phone: v.pipe(
    v.string('phone must be a string'),
    v.minLength(1),
    v.maxLength(40),
    v.regex(/^[+\d\s().-]+$/, 'phone must be a number, E.164 or national with country'),
  ),
  country: v.optional(CountryCode),
  /** Also remove allow/block list entries made for exactly this number. */
  includeLists: v.optional(v.boolean()),
})

export function erasureRoutes(storage: Storage, now: () => number = Date.now) {
  return new Hono().post('/', apiKeyAuth({ db: storage.db, kinds: ['secret'] }), async (c) => {
    const input = await readJson(c, ErasureRequest)
    const { e164 } = parsePhoneAnyType(input.phone, input.country)
    const { project, apiKey } = c.get('auth')
    const erased = await eraseNumber(storage, {
      phone: e164,
      projectId: project.id,
      includeLists: input.includeLists ?? false,
      requestedBy: apiKey.id,
      at: now(),
    })
    return c.json({ id: erased.id, rows: erased.rows })
  })
}
