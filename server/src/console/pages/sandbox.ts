import { CountryCode } from '@textgate/shared'
import type { Context } from 'hono'
import { Hono } from 'hono'
import * as v from 'valibot'
import { readJson, validate } from '../../http/body'
import { ApiError } from '../../http/errors'
import { can } from '../../operators'
import { maskPhone } from '../../outbox/status'
import { parsePhoneAnyType } from '../../phone'
import { allowedCountries } from '../../projects'
import { randomMobileNumber } from '../../sandbox/numbers'
import { decrypt } from '../../secrets'
import { ASK_EXAMPLES, parseAsk } from '../ask'
import type { ProjectRoutesDeps } from '../project-routes'
import { auditNote, need } from '../security'

const Send = v.strictObject({ phone: v.pipe(v.string(), v.maxLength(40)) })
const Ask = v.strictObject({ text: v.pipe(v.string(), v.maxLength(300)) })
const INBOX_LIMIT = 50

export function sandboxRoutes({ db, encryptionKey, verifications }: ProjectRoutesDeps) {
  async function inbox(projectId: string, to?: string, limit = INBOX_LIMIT) {
    let query = db
      .selectFrom('sandbox_messages')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
    if (to) query = query.where('to', '=', to)
    const rows = await query.execute()
    return rows.map((row) => {
      const body = decrypt(encryptionKey, row.body_encrypted)
      return {
        id: row.id,
        to: row.to,
        body,
        code: /\b(\d{4,10})\b/.exec(body)?.[1] ?? null,
        status: row.status,
        createdAt: row.created_at,
      }
    })
  }

  function randomNumber(c: Context, country: string) {
    const countries = allowedCountries(c.get('project'))
    if (countries && !countries.includes(country))
      throw new ApiError('country_not_allowed', { country })
    const phone = randomMobileNumber(country)
    if (!phone) {
      throw new ApiError('invalid_request', {
        issues: [{ path: 'country', message: `no test numbers are known for ${country}` }],
      })
    }
    return phone
  }

  async function sendTest(c: Context, raw: string) {
    if (!verifications) throw new ApiError('service_unavailable')
    const project = c.get('project')
    const key = await db
      .selectFrom('api_keys')
      .selectAll()
      .where('project_id', '=', project.id)
      .where('kind', '=', 'publishable')
      .where('mode', '=', 'test')
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .executeTakeFirst()
    if (!key) {
      throw new ApiError('invalid_request', {
        message: 'Create test keys first (Settings and keys).',
      })
    }
    const phone = parsePhoneAnyType(raw).e164
    const started = await verifications.start(
      { apiKey: key, project },
      { phone, consent: { accepted: true, version: 'console-sandbox' } },
      {
        origin: null,
        ip: c.get('clientIp') ?? null,
        userAgent: c.req.header('User-Agent') ?? null,
      },
    )
    auditNote(c, {
      action: 'sandbox.send',
      target: maskPhone(phone),
      after: { id: started.body.id },
    })
    return { phone, verification: started.body }
  }

  return new Hono()
    .get('/inbox', need('sandbox.use'), async (c) => {
      const to = c.req.query('to') || undefined
      return c.json({ messages: await inbox(c.get('project').id, to) })
    })
    .get('/number', need('sandbox.use'), (c) => {
      const { country } = validate(v.object({ country: CountryCode }), {
        country: c.req.query('country') ?? '',
      })
      return c.json({ phone: randomNumber(c, country) })
    })
    .post('/send', need('sandbox.use'), async (c) => {
      const { phone } = await readJson(c, Send)
      return c.json(await sendTest(c, phone), 201)
    })
    .post('/ask', need('sandbox.use'), async (c) => {
      const { text } = await readJson(c, Ask)
      const intent = parseAsk(text)
      const projectId = c.get('project').id
      switch (intent.kind) {
        case 'random_number':
          return c.json({ intent, phone: randomNumber(c, intent.country) })
        case 'send_code':
          return c.json({ intent, ...(await sendTest(c, intent.phone)) })
        case 'last_messages':
          return c.json({ intent, messages: await inbox(projectId, intent.phone, intent.count) })
        case 'why_blocked': {
          // The fraud log is not a developer's to read: the same rule as the fraud page.
          if (!can(c.get('role'), 'fraud.read'))
            throw new ApiError('forbidden', { permission: 'fraud.read' })
          const events = await db
            .selectFrom('fraud_events')
            .select([
              'decision',
              'outcome',
              'reasons',
              'shadow_reasons',
              'created_at',
              'verification_id',
            ])
            .where('project_id', '=', projectId)
            .where('phone', '=', intent.phone)
            .orderBy('created_at', 'desc')
            .limit(5)
            .execute()
          auditNote(c, {
            action: 'sandbox.ask.why_blocked',
            target: maskPhone(intent.phone),
            force: true,
          })
          return c.json({
            intent,
            decisions: events.map((e) => ({
              decision: e.decision,
              outcome: e.outcome,
              reasons: JSON.parse(e.reasons),
              shadowReasons: JSON.parse(e.shadow_reasons),
              at: e.created_at,
              verificationId: e.verification_id,
            })),
          })
        }
        default:
          return c.json({ intent, examples: ASK_EXAMPLES })
      }
    })
}
