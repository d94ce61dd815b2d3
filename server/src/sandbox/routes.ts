/**
 * Sandbox endpoints, for test-mode keys only: a random test number per country, and the inbox
 * of messages the sandbox carrier "delivered" to a number.
 * @module
 */
import {
  asciiDigits,
  type SandboxMessage,
  SandboxMessagesQuery,
  SandboxRandomNumberQuery,
} from '@textgate/shared'
import { Hono } from 'hono'
import type { Kysely } from 'kysely'
import { apiKeyAuth } from '../auth'
import { validate } from '../http/body'
import { ApiError } from '../http/errors'
import { allowedCountries } from '../projects'
import { decrypt } from '../secrets'
import type { Database } from '../storage'
import { randomMobileNumber } from './numbers'

const INBOX_LIMIT = 50

/**
 * `?to=` as people write it: `?to=+447400123456` unencoded (its `+` arrives as a space, as in
 * any query string), or spaced and punctuated as the number is shown (`+44 7400 123456`).
 * @example
 * inboxNumber(' 447400123456') // '+447400123456'
 */
function inboxNumber(to: string | undefined): string | undefined {
  if (to === undefined) return undefined
  const text = asciiDigits(to)
  const number = text.replace(/[\s\p{Cf}\p{Pd}().]/gu, '')
  return /^\s+\d/.test(text) ? `+${number}` : number
}

export function sandboxRoutes(db: Kysely<Database>, encryptionKey: Buffer) {
  const testKey = apiKeyAuth({ db, kinds: ['publishable', 'secret'], testOnly: true })
  return new Hono()
    .get('/numbers/random', testKey, (c) => {
      const { country } = validate(SandboxRandomNumberQuery, { country: c.req.query('country') })
      const countries = allowedCountries(c.get('auth').project)
      if (countries && !countries.includes(country)) {
        throw new ApiError('country_not_allowed', { country })
      }
      const phone = randomMobileNumber(country, countries)
      if (!phone) {
        throw new ApiError('invalid_request', {
          issues: [
            {
              path: 'country',
              message: `no mobile number reads as ${country} for this project: it has none, or its numbers read as another country's (a project that allows ${country} and not that country reads them as ${country})`,
            },
          ],
        })
      }
      return c.json({ phone })
    })
    .get('/messages', testKey, async (c) => {
      const { to } = validate(SandboxMessagesQuery, { to: inboxNumber(c.req.query('to')) })
      const rows = await db
        .selectFrom('sandbox_messages')
        .selectAll()
        .where('project_id', '=', c.get('auth').project.id)
        .where('to', '=', to)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(INBOX_LIMIT)
        .execute()
      const messages: SandboxMessage[] = rows.map((row) => ({
        id: row.id,
        to: row.to,
        body: decrypt(encryptionKey, row.body_encrypted),
        createdAt: new Date(row.created_at).toISOString(),
        status: row.status,
      }))
      return c.json(messages)
    })
}
