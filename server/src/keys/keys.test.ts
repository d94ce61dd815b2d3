import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { createApiKey } from '../projects'
import { createEndpoint } from '../webhooks/endpoints'
import { createKeyCache } from './cache'

const PHONE = '+447400123456'

for (const dialect of DIALECTS) {
  describe(`API keys: list, create, revoke (${dialect})`, () => {
    let h: Harness
    let projectId: string
    let pk: string
    let sk: string

    beforeAll(async () => {
      h = await createHarness(dialect)
      const created = await h.project({ name: 'Keys' })
      projectId = created.project.id
      pk = created.publishableKey
      sk = created.secretKey
    })
    afterAll(() => h.dispose())

    const asStore = (key: string, method: string, path: string, body?: unknown) =>
      h.call(method, path, { key, origin: null, body })

    it('lists kind, mode, prefix, created and last used, never the key itself', async () => {
      await asStore(sk, 'GET', '/v1/fraud/lists')
      // Written off the request's path: it lands a moment later.
      const secretOf = (json: { kind: string; lastUsedAt: string | null }[]) =>
        json.find((k) => k.kind === 'secret')
      await expect
        .poll(async () => secretOf((await asStore(sk, 'GET', '/v1/keys')).json)?.lastUsedAt)
        .not.toBeNull()
      const { status, json } = await asStore(sk, 'GET', '/v1/keys')
      expect(status).toBe(200)
      expect(json).toHaveLength(2)
      const secret = json.find((k: { kind: string }) => k.kind === 'secret')
      expect(secret).toMatchObject({
        projectId,
        mode: 'test',
        prefix: `${sk.slice(0, 12)}…${sk.slice(-4)}`,
        revokedAt: null,
      })
      expect(Date.parse(secret.createdAt)).not.toBeNaN()
      expect(Date.parse(secret.lastUsedAt)).not.toBeNaN()
      expect(json.find((k: { kind: string }) => k.kind === 'publishable').lastUsedAt).toBeNull()
      expect(JSON.stringify(json)).not.toContain(sk)
      expect(JSON.stringify(json)).not.toMatch(/[0-9a-f]{64}/)
    })

    it('rotates a secret key without downtime: create, switch, revoke the old one', async () => {
      const created = await asStore(sk, 'POST', '/v1/keys', { kind: 'secret' })
      expect(created.status).toBe(201)
      expect(created.json).toMatchObject({ kind: 'secret', mode: 'test', revokedAt: null })
      const next = created.json.key as string
      expect(next).toMatch(/^sk_test_/)
      // Both work while the store deploys the new one.
      expect((await asStore(sk, 'GET', '/v1/fraud/lists')).status).toBe(200)
      expect((await asStore(next, 'GET', '/v1/fraud/lists')).status).toBe(200)

      const list = await asStore(next, 'GET', '/v1/keys')
      const old = list.json.find((k: { prefix: string }) => k.prefix.endsWith(sk.slice(-4)))
      const revoked = await asStore(next, 'POST', `/v1/keys/${old.id}/revoke`)
      expect(revoked.status).toBe(200)
      expect(Date.parse(revoked.json.revokedAt)).not.toBeNaN()
      // At once in this process.
      const refused = await asStore(sk, 'GET', '/v1/fraud/lists')
      expect(refused.status).toBe(401)
      expect(refused.json.error.code).toBe('invalid_api_key')
      expect((await asStore(next, 'GET', '/v1/fraud/lists')).status).toBe(200)
      // Again: still revoked, same answer.
      const again = await asStore(next, 'POST', `/v1/keys/${old.id}/revoke`)
      expect(again.json.revokedAt).toBe(revoked.json.revokedAt)
      sk = next
    })

    it('raises the key.revoked webhook event with the revocation, never the key', async () => {
      await createEndpoint(
        h.db,
        h.secrets.encryptionKey,
        { projectId, mode: 'test' },
        { url: 'https://hooks.shop.example/textgate', events: ['key.revoked'] },
      )
      const created = await asStore(sk, 'POST', '/v1/keys', { kind: 'secret' })
      await asStore(sk, 'POST', `/v1/keys/${created.json.id}/revoke`)
      const events = await h.db
        .selectFrom('webhook_messages')
        .selectAll()
        .where('type', '=', 'key.revoked')
        .execute()
      expect(events).toHaveLength(1)
      expect(JSON.parse(events[0]!.payload).data).toMatchObject({
        keyId: created.json.id,
        kind: 'secret',
        mode: 'test',
        hint: created.json.prefix,
      })
      expect(events[0]!.payload).not.toContain(created.json.key)
      // Revoking again raises nothing more.
      await asStore(sk, 'POST', `/v1/keys/${created.json.id}/revoke`)
      const after = await h.db
        .selectFrom('webhook_messages')
        .select('id')
        .where('type', '=', 'key.revoked')
        .execute()
      expect(after).toHaveLength(1)
    })

    it('revokes a publishable key: the widget is refused', async () => {
      const before = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: PHONE, consent: { accepted: true } },
      })
      expect(before.status).toBe(201)
      const list = await asStore(sk, 'GET', '/v1/keys')
      const pub = list.json.find((k: { kind: string }) => k.kind === 'publishable')
      expect((await asStore(sk, 'POST', `/v1/keys/${pub.id}/revoke`)).status).toBe(200)
      const after = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: PHONE, consent: { accepted: true } },
      })
      expect(after.status).toBe(401)
    })

    it('keeps test keys away from live keys, and refuses unknown or malformed ids', async () => {
      const live = await createApiKey(h.db, projectId, 'secret', 'live')
      const liveList = await asStore(live, 'GET', '/v1/keys')
      const liveId = liveList.json[0].id
      expect(liveList.json.every((k: { mode: string }) => k.mode === 'live')).toBe(true)
      const testList = await asStore(sk, 'GET', '/v1/keys')
      expect(testList.json.every((k: { mode: string }) => k.mode === 'test')).toBe(true)
      const tried = await asStore(sk, 'POST', `/v1/keys/${liveId}/revoke`)
      expect(tried.status).toBe(404)
      expect((await asStore(live, 'GET', '/v1/keys')).status).toBe(200)
      for (const id of ['key_aaaaaaaaaaaaaaaaaaaa', '%00', 'x']) {
        const res = await asStore(sk, 'POST', `/v1/keys/${id}/revoke`)
        expect(res.status).toBe(404)
        expect(res.json.error.code).toBe('not_found')
      }
      // A publishable key cannot manage keys.
      expect((await h.call('GET', '/v1/keys', { key: pk })).status).toBe(401)
    })

    it('serves a cached lookup for at most its lifetime after another process revoked the key', async () => {
      let clock = 1_000_000
      const cache = createKeyCache(h.db, { ttlMs: 2_000, now: () => clock })
      const key = await createApiKey(h.db, projectId, 'secret', 'test')
      expect(await cache.find(key)).toBeDefined()
      // Another process revokes it (straight in the database: this cache is not told).
      await h.db
        .updateTable('api_keys')
        .set({ revoked_at: clock })
        .where('project_id', '=', projectId)
        .execute()
      clock += 1_999
      expect(await cache.find(key)).toBeDefined()
      clock += 2
      expect(await cache.find(key)).toBeUndefined()
      expect(await cache.find('sk_test_malformed!')).toBeUndefined()
    })

    it('keeps the cache bounded', async () => {
      const cache = createKeyCache(h.db, { maxEntries: 5 })
      for (let i = 0; i < 40; i++) {
        await cache.find(`sk_test_${String(i).padStart(30, 'x')}`)
      }
      expect(cache.size).toBeLessThanOrEqual(5)
    })
  })
}
