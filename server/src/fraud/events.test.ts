/**
 * Restriction events are atomic with the restriction: a restriction opened or lifted always has
 * its decision-log entry and its webhook event, and a failure to write them leaves the
 * restriction as it was (so the next start tries again, and the event is not lost).
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { capturedLogger } from '../../testing/log-capture'
import {
  createTestStorage,
  DIALECTS,
  insertTestWebhookEndpoint,
  type TestStorage,
} from '../../testing/storage'
import { createProject } from '../projects'
import { createRestrictions, onRestrictionEvent, type RestrictionEvent } from './events'
import { recentEvents } from './routes'

const AT = Date.parse('2026-12-07T12:00:00Z')
const HOUR = 3_600_000
const SUBJECT = 'country:NG'

for (const dialect of DIALECTS) {
  describe(`restriction events (${dialect})`, () => {
    let storage: TestStorage
    let projectId = ''
    const heard: RestrictionEvent[] = []
    let stopListening: (() => void) | undefined

    beforeAll(async () => {
      storage = await createTestStorage(dialect)
      projectId = (
        await createProject(storage.db, { name: 'Events', origins: ['https://shop.example'] })
      ).project.id
      // A live endpoint that wants every event (written directly: no address to resolve).
      await insertTestWebhookEndpoint(storage.db, { id: 'whe_events', projectId, now: AT })
      stopListening = onRestrictionEvent((event) => {
        if (event.projectId === projectId) heard.push(event)
      })
    })
    afterAll(async () => {
      stopListening?.()
      await storage.dispose()
    })

    const rows = async () => ({
      restrictions: await storage.db
        .selectFrom('fraud_restrictions')
        .select('subject')
        .where('project_id', '=', projectId)
        .execute(),
      events: await storage.db
        .selectFrom('fraud_events')
        .select('outcome')
        .where('project_id', '=', projectId)
        .orderBy('created_at')
        .execute(),
      webhooks: await storage.db
        .selectFrom('webhook_messages')
        .select('type')
        .where('project_id', '=', projectId)
        .orderBy('created_at')
        .execute(),
    })

    /** Makes every write to the decision log fail, then puts it back. */
    async function withoutDecisionLog(run: () => Promise<unknown>) {
      await sql`alter table fraud_events rename to fraud_events_away`.execute(storage.db)
      try {
        await expect(run()).rejects.toThrow()
      } finally {
        await sql`alter table fraud_events_away rename to fraud_events`.execute(storage.db)
      }
    }

    it('opens and lifts a restriction together with its decision-log entry and webhook, or not at all', async () => {
      const { logger, lines } = capturedLogger()
      // A fresh process view each time, so no cache of this one skips the database.
      const restrictions = () => createRestrictions(storage.db, logger)
      // Opened by a start: its line names the request.
      const restrict = (at: number) =>
        restrictions().restrict(projectId, SUBJECT, ['destination.rate'], { sent1h: 9 }, at, HOUR, {
          requestId: 'req-restricting',
        })

      await withoutDecisionLog(() => restrict(AT))
      expect(await rows()).toEqual({ restrictions: [], events: [], webhooks: [] })
      expect(heard).toEqual([])

      await restrict(AT + 1000)
      expect(await rows()).toEqual({
        restrictions: [{ subject: SUBJECT }],
        events: [{ outcome: 'restricted' }],
        webhooks: [{ type: 'fraud.restricted' }],
      })
      expect(heard.map((e) => e.type)).toEqual(['fraud.restricted'])
      expect(lines).toEqual([
        expect.objectContaining({
          event: 'fraud.restricted',
          subject: SUBJECT,
          requestId: 'req-restricting',
        }),
      ])

      const lift = (at: number) => restrictions().lift(projectId, SUBJECT, { sent1h: 0 }, at, 0)
      await withoutDecisionLog(() => lift(AT + HOUR))
      expect((await rows()).restrictions).toEqual([{ subject: SUBJECT }])
      expect((await rows()).events).toEqual([{ outcome: 'restricted' }])

      expect(await lift(AT + HOUR + 1000)).toBe(false)
      expect(await rows()).toEqual({
        restrictions: [],
        events: [{ outcome: 'restricted' }, { outcome: 'lifted' }],
        webhooks: [{ type: 'fraud.restricted' }, { type: 'fraud.lifted' }],
      })
      expect(heard.map((e) => e.type)).toEqual(['fraud.restricted', 'fraud.lifted'])
      // Lifted with no request at hand: the line carries no id rather than a wrong one.
      expect(lines[1]).toMatchObject({ event: 'fraud.lifted', subject: SUBJECT })
      expect(lines[1]).not.toHaveProperty('requestId')
    })

    it("tells a prefix restriction's length: the webhook's subject and the decision log's range", async () => {
      const restrictions = createRestrictions(storage.db)
      const figures = { country: 'GB', prefix: '+447400', prefixDigits: 6, prefixSent1h: 8 }
      await restrictions.restrict(
        projectId,
        'prefix:+447400',
        ['destination.prefix.rate'],
        figures,
        AT + 5 * HOUR,
        HOUR,
      )
      const message = await storage.db
        .selectFrom('webhook_messages')
        .select('payload')
        .where('project_id', '=', projectId)
        .where('created_at', '=', AT + 5 * HOUR)
        .executeTakeFirstOrThrow()
      expect(JSON.parse(message.payload).data.subject).toEqual({
        kind: 'prefix',
        value: '+447400',
        digits: 6,
      })
      const [logged] = await recentEvents(storage.db, projectId, { limit: 1 })
      expect(logged).toMatchObject({
        outcome: 'restricted',
        phone: '+447400',
        range: '+447400xxxxxx',
      })
      // A country has no range.
      await restrictions.restrict(
        projectId,
        'country:GB',
        ['destination.rate'],
        {},
        AT + 6 * HOUR,
        HOUR,
      )
      const [country] = await recentEvents(storage.db, projectId, { limit: 1 })
      expect(country).toMatchObject({ outcome: 'restricted', country: 'GB' })
      expect(country).not.toHaveProperty('range')
    })
  })
}
