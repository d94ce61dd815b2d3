import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { createApiKey } from '../projects'

const PHONE = '+447400123777'

for (const dialect of DIALECTS) {
  describe(`a test-mode token never passes as live (${dialect})`, () => {
    let h: Harness
    let projectId: string
    let pkTest: string
    let skTest: string
    let skLive: string

    beforeAll(async () => {
      h = await createHarness(dialect)
      const created = await h.project({ name: 'Modes' })
      projectId = created.project.id
      pkTest = created.publishableKey
      skTest = created.secretKey
      skLive = await createApiKey(h.db, projectId, 'secret', 'live')
    })
    afterAll(() => h.dispose())

    it('refuses a sandbox-made token at redeem with a live key, and shows the mode', async () => {
      // What anyone holding a page's pk_test_ can do: start, read the sandbox inbox, check.
      const started = await h.call('POST', '/v1/verifications', {
        key: pkTest,
        body: { phone: PHONE, consent: { accepted: true } },
      })
      expect(started.status).toBe(201)
      const [code] = await h.inbox(skTest, PHONE)
      const checked = await h.call('POST', `/v1/verifications/${started.json.id}/check`, {
        key: pkTest,
        body: { code },
      })
      expect(checked.status).toBe(200)
      expect(decodeJwt(checked.json.token)).toMatchObject({
        mode: 'test',
        aud: `${projectId}:test`,
      })

      const asLive = await h.call('POST', '/v1/tokens/redeem', {
        key: skLive,
        origin: null,
        body: { token: checked.json.token },
      })
      expect(asLive.json).toEqual({ valid: false, reason: 'wrong_mode' })

      const read = await h.call('GET', `/v1/verifications/${started.json.id}`, {
        key: skLive,
        origin: null,
      })
      expect(read.json).toMatchObject({ mode: 'test', status: 'approved' })

      const asTest = await h.call('POST', '/v1/tokens/redeem', {
        key: skTest,
        origin: null,
        body: { token: checked.json.token },
      })
      expect(asTest.json).toMatchObject({ valid: true, claims: { mode: 'test' } })
    })

    it('keeps live verifications from test keys: not found to read, cancel, check or resend', async () => {
      const pkLive = await createApiKey(h.db, projectId, 'publishable', 'live')
      const started = await h.call('POST', '/v1/verifications', {
        key: pkLive,
        body: { phone: '+447400123779', consent: { accepted: true } },
      })
      expect(started.status).toBe(201)
      const path = `/v1/verifications/${started.json.id}`
      for (const [method, suffix] of [
        ['GET', ''],
        ['POST', '/cancel'],
      ] as const) {
        const res = await h.call(method, path + suffix, { key: skTest, origin: null })
        expect(res.status).toBe(404)
        expect(res.json.error.code).toBe('verification_not_found')
      }
      // Nor does the page's public test key check its code (no attempt used) or resend it.
      for (const [suffix, body] of [
        ['/check', { code: '123456' }],
        ['/resend', undefined],
      ] as const) {
        const res = await h.call('POST', path + suffix, { key: pkTest, body })
        expect(res.status).toBe(404)
        expect(res.json.error.code).toBe('verification_not_found')
      }
      const row = await h.db
        .selectFrom('verifications')
        .select(['attempts', 'sends'])
        .where('id', '=', started.json.id)
        .executeTakeFirstOrThrow()
      expect(row).toEqual({ attempts: 0, sends: 1 })
      const asLive = await h.call('GET', path, { key: skLive, origin: null })
      expect(asLive.json).toMatchObject({ mode: 'live', status: 'pending' })
    })

    it('does not count a test verification checked with a live key as a live shopper verified', async () => {
      // Live destination figures grow with verified shoppers: a sandbox code (readable by anyone
      // with the page's pk_test_) checked with the page's pk_live_ must not feed them.
      const pkLive = await createApiKey(h.db, projectId, 'publishable', 'live')
      const phone = '+447400123778'
      const started = await h.call('POST', '/v1/verifications', {
        key: pkTest,
        body: { phone, consent: { accepted: true } },
      })
      expect(started.status).toBe(201)
      const [code] = await h.inbox(skTest, phone)
      const checked = await h.call('POST', `/v1/verifications/${started.json.id}/check`, {
        key: pkLive,
        body: { code },
      })
      expect(checked.status).toBe(200)
      expect(decodeJwt(checked.json.token)).toMatchObject({ mode: 'test' })
      const baselines = await h.db
        .selectFrom('fraud_baselines')
        .select('subject')
        .where('project_id', '=', projectId)
        .execute()
      expect(baselines).toEqual([])
    })
  })
}
