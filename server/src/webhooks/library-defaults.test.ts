import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { raiseKeyRevoked } from '../../testing/webhook-events'
import { type Receiver, startReceiver } from '../../testing/webhook-receiver'
import { createWebhookDispatcher } from './dispatcher'
import { newWebhookSecret } from './endpoints'
import { sendWebhook } from './send'
import { checkWebhookUrl, guardedLookup, literalAllowed } from './url-policy'

/**
 * What an embedder gets who builds the app or the dispatcher without naming webhook networks:
 * loopback is the store's own host (its database, Redis, metrics), closed to test keys as to
 * live ones. Only the development server's settings open it.
 */
describe('webhook networks left out', () => {
  it('closes loopback to test-mode endpoints in the URL policy', async () => {
    for (const url of ['http://127.0.0.1:8080/hooks', 'http://localhost:8080/hooks']) {
      expect(() => checkWebhookUrl(url, 'test')).toThrow('on this server')
    }
    expect(literalAllowed('http://127.0.0.1:8080/hooks', 'test')).toBe(false)
    const lookup = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      guardedLookup('test')('localhost', { all: true }, (error) => resolve(error)),
    )
    expect(lookup?.code).toBe('EADDRNOTALLOWED')
  })

  it('posts nothing to loopback from sendWebhook', async () => {
    const receiver = await startReceiver()
    try {
      const outcome = await sendWebhook({
        url: receiver.url,
        mode: 'test',
        messageId: 'msg_defaults',
        payload: '{}',
        secrets: [newWebhookSecret()],
        at: new Date(),
        timeoutMs: 2_000,
      })
      expect(outcome).toMatchObject({ ok: false, error: 'the address is private or reserved' })
      expect(receiver.requests).toBe(0)
    } finally {
      await receiver.close()
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`createApp and the dispatcher without webhook networks (${dialect})`, () => {
    let h: Harness
    let sk: string
    let projectId: string
    let receiver: Receiver

    beforeAll(async () => {
      h = await createHarness(dialect, { webhookNetworks: 'library default' })
      const created = await h.project({ name: 'Northwind' })
      sk = created.secretKey
      projectId = created.project.id
      receiver = await startReceiver()
    })
    afterAll(async () => {
      await receiver.close()
      await h.dispose()
    })
    afterEach(async () => {
      await h.db.deleteFrom('webhook_attempts').execute()
      await h.db.deleteFrom('webhook_deliveries').execute()
      await h.db.deleteFrom('webhook_endpoints').execute()
    })

    it('refuses a test-mode endpoint on loopback', async () => {
      for (const url of [receiver.url, receiver.url.replace('127.0.0.1', 'localhost')]) {
        const r = await h.call('POST', '/v1/webhooks/endpoints', { key: sk, body: { url } })
        expect([url, r.status, r.json.error?.code]).toEqual([url, 422, 'webhook_url_not_allowed'])
      }
      expect(receiver.requests).toBe(0)
    })

    it('never posts to a loopback endpoint stored before (or by hand)', async () => {
      await h.db
        .insertInto('webhook_endpoints')
        .values({
          id: 'we_loopback',
          project_id: projectId,
          mode: 'test',
          url: receiver.url,
          description: null,
          events: null,
          disabled_reason: null,
          failing_since: null,
          secret_encrypted: (await import('../secrets')).encrypt(
            h.secrets.encryptionKey,
            newWebhookSecret(),
          ),
          previous_secrets: null,
          created_at: h.now(),
          updated_at: h.now(),
        })
        .execute()
      await raiseKeyRevoked(h.db, projectId, h.now())
      const dispatcher = createWebhookDispatcher({
        storage: h.storage,
        encryptionKey: h.secrets.encryptionKey,
        logger: pino({ level: 'silent' }),
        now: h.now,
      })
      expect(await dispatcher.drain()).toBe(1)
      expect(receiver.requests).toBe(0)
      const attempts = await h.db.selectFrom('webhook_attempts').select('error').execute()
      expect(attempts).toEqual([{ error: 'the address is private or reserved' }])
    })
  })
}
