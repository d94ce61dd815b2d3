/**
 * A project's having no webhook endpoints is kept for a second (the dispatcher asks every round
 * of texts); an endpoint created in this process is seen at once, one written by another
 * process within the second, and a project with endpoints is read every time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { DEVELOPMENT_WEBHOOK_NETWORKS } from '../../testing/harness'
import {
  createTestStorage,
  DIALECTS,
  insertTestWebhookEndpoint,
  type TestStorage,
} from '../../testing/storage'
import { createProject } from '../projects'
import { ENDPOINT_ABSENCE_KEPT_MS, emitWebhookEvent, forgetEndpointAbsence } from './emit'
import { createEndpoint } from './endpoints'

const AT = Date.parse('2026-12-07T12:00:00Z')
const KEY = Buffer.alloc(32, 7)

for (const dialect of DIALECTS) {
  describe(`webhook endpoints read for an event (${dialect})`, () => {
    let storage: TestStorage

    beforeAll(async () => {
      storage = await createTestStorage(dialect)
    })
    afterAll(() => storage.close())
    afterEach(() => {
      vi.useRealTimers()
      forgetEndpointAbsence()
    })

    const project = async (name: string) =>
      (await createProject(storage.db, { name, origins: ['https://shop.example'] })).project.id

    const emit = (projectId: string, mode: 'live' | 'test' = 'live') =>
      emitWebhookEvent(storage.db, {
        type: 'message.delivered',
        projectId,
        mode,
        data: {
          messageId: 'msg_test',
          verificationId: 'ver_test',
          to: '+447700900123',
          carrier: 'sandbox',
          status: 'delivered',
          errorCode: null,
          segments: 1,
          at: new Date(AT).toISOString(),
        },
        at: AT,
      })

    /** An endpoint as another process sharing the database would write it. */
    const writtenElsewhere = (projectId: string, id: string) =>
      insertTestWebhookEndpoint(storage.db, { id, projectId, now: AT })

    it('sees an endpoint another process created within the second the absence is kept', async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: AT })
      const projectId = await project('Elsewhere')
      expect(await emit(projectId)).toBeNull()
      await writtenElsewhere(projectId, 'we_elsewhere')
      // Still taken as having none…
      vi.setSystemTime(AT + ENDPOINT_ABSENCE_KEPT_MS - 1)
      expect(await emit(projectId)).toBeNull()
      // …and no longer once the second is over.
      vi.setSystemTime(AT + ENDPOINT_ABSENCE_KEPT_MS + 1)
      expect(await emit(projectId)).toMatch(/^msg_/)
    })

    it('sees an endpoint created in this process at once', async () => {
      const projectId = await project('Here')
      expect(await emit(projectId, 'test')).toBeNull()
      // (Test mode on a development server: a loopback address is allowed, no name to resolve.)
      await createEndpoint(
        storage.db,
        KEY,
        { projectId, mode: 'test', networks: DEVELOPMENT_WEBHOOK_NETWORKS },
        { url: 'http://127.0.0.1:9/hook' },
      )
      expect(await emit(projectId, 'test')).toMatch(/^msg_/)
    })

    it('reads a project with endpoints every time, so one deleted elsewhere gets nothing', async () => {
      const projectId = await project('Deleted')
      await writtenElsewhere(projectId, 'we_deleted')
      expect(await emit(projectId)).toMatch(/^msg_/)
      await storage.db.deleteFrom('webhook_deliveries').execute()
      await storage.db.deleteFrom('webhook_endpoints').where('id', '=', 'we_deleted').execute()
      // A delivery for the deleted endpoint would break its foreign key: there is none.
      expect(await emit(projectId)).toBeNull()
    })
  })
}
