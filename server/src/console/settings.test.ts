import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ConsoleClient, login, makeOperator, type TestOperator } from '../../testing/console'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECT_NOTE, DIALECTS } from '../../testing/storage'
import { startReceiver } from '../../testing/webhook-receiver'

console.info(DIALECT_NOTE)

for (const dialect of DIALECTS) {
  describe(`console settings, keys and fraud lists (${dialect})`, () => {
    let h: Harness
    let projectId: string
    let publishableKey: string
    let secretKey: string
    const clients: Record<string, ConsoleClient> = {}
    const ops: Record<string, TestOperator> = {}

    beforeAll(async () => {
      h = await createHarness(dialect)
      const created = await h.project({ name: 'Shop' })
      projectId = created.project.id
      publishableKey = created.publishableKey
      secretKey = created.secretKey
      for (const role of ['owner', 'developer', 'analyst', 'support'] as const) {
        ops[role] = await makeOperator(h, `${role}@shop.example`, role, projectId)
        clients[role] = await login(h, ops[role])
      }
    }, 60_000)
    afterAll(() => h?.dispose())

    const base = () => `/projects/${projectId}`
    const start = (phone: string, version?: string) =>
      h.call('POST', '/v1/verifications', {
        key: publishableKey,
        body: { phone, consent: { accepted: true, ...(version ? { version } : {}) } },
      })

    it('keeps consent versions: the current one is recorded, unknown ones are refused', async () => {
      expect((await start('+447400100001', 'anything')).status).toBe(201)
      const saved = await clients.developer!.call('PUT', `${base()}/settings`, {
        body: { consentVersions: ['2026-11', '2026-01'] },
      })
      expect(saved.status).toBe(200)
      expect(saved.json.consentVersions).toEqual(['2026-11', '2026-01'])
      expect((await clients.owner!.call('GET', `${base()}/settings`)).json.consentVersions).toEqual(
        ['2026-11', '2026-01'],
      )
      const refused = await start('+447400100002', '2025-01')
      expect(refused.status).toBe(400)
      expect(refused.json.error.issues[0].path).toBe('consent.version')
      const current = await start('+447400100003')
      expect(current.status).toBe(201)
      const older = await start('+447400100004', '2026-01')
      expect(older.status).toBe(201)
      const rows = await h.db
        .selectFrom('verifications')
        .select(['id', 'consent_version'])
        .where('id', 'in', [current.json.id, older.json.id])
        .execute()
      expect(Object.fromEntries(rows.map((r) => [r.id, r.consent_version]))).toEqual({
        [current.json.id]: '2026-11',
        [older.json.id]: '2026-01',
      })
      const bad = await clients.owner!.call('PUT', `${base()}/settings`, {
        body: { consentVersions: ['no\nnewlines'] },
      })
      expect(bad.status).toBe(400)
      expect(
        (
          await clients.analyst!.call('PUT', `${base()}/settings`, {
            body: { consentVersions: [] },
          })
        ).status,
      ).toBe(403)
      // Empty: any version again.
      await clients.owner!.call('PUT', `${base()}/settings`, { body: { consentVersions: [] } })
      expect((await start('+447400100005', '2025-01')).status).toBe(201)
    })

    it('keeps allowed countries to real ones: UK is refused by name, gb is GB', async () => {
      const put = (allowedCountries: string[] | null) =>
        clients.owner!.call('PUT', `${base()}/settings`, { body: { allowedCountries } })
      const refused = await put(['gb', 'UK'])
      expect(refused.status).toBe(400)
      expect(refused.json.error).toMatchObject({
        code: 'invalid_request',
        message: '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)',
        issues: [{ path: 'allowedCountries.1' }],
      })
      for (const wrong of ['ZZ', 'XX', 'EU', 'G', 'GBR', ' ']) {
        expect([wrong, (await put([wrong])).status]).toEqual([wrong, 400])
      }
      // Nothing was saved: numbers of every country still start.
      expect((await clients.owner!.call('GET', `${base()}/settings`)).json.allowedCountries).toBe(
        null,
      )
      const saved = await put(['gb', ' fr ', 'GB'])
      expect(saved.status).toBe(200)
      expect(saved.json.allowedCountries).toEqual(['GB', 'FR'])
      expect((await start('+33612345678')).status).toBe(201)
      expect((await put(null)).json.allowedCountries).toBe(null)
    })

    it('says what a number or a time out of range should be, and saves nothing', async () => {
      const cases: [string, unknown, string][] = [
        // The settings form sends an emptied code length field as 0.
        ['settings', { codeLength: 0 }, 'codeLength must be at least 4'],
        ['settings', { codeLength: 11 }, 'codeLength must be at most 10'],
        ['settings', { codeLength: 6.5 }, 'codeLength must be a whole number'],
        // The origins box emptied: a list, counted in entries, not characters.
        ['settings', { allowedOrigins: [] }, 'allowedOrigins must be at least 1 entry'],
        [
          'settings',
          { ipAllowlist: Array.from({ length: 101 }, (_, i) => `10.0.0.${i}`) },
          'ipAllowlist must be at most 100 entries',
        ],
        [
          'fraud/lists',
          { list: 'block', kind: 'phone', value: '+447400123456', expiresAt: 'tomorrow' },
          'expiresAt must be a date and time such as 2026-12-31T00:00:00Z',
        ],
      ]
      for (const [path, body, message] of cases) {
        const method = path === 'settings' ? 'PUT' : 'POST'
        const refused = await clients.owner!.call(method, `${base()}/${path}`, { body })
        expect([path, refused.status, refused.json.error.message]).toEqual([path, 400, message])
      }
      expect((await clients.owner!.call('GET', `${base()}/settings`)).json.codeLength).toBe(6)
      expect((await clients.owner!.call('GET', `${base()}/fraud/lists`)).json.entries).toEqual([])
    })

    it('rotates a key: a replacement of the same kind and mode, the old one revoked now or later', async () => {
      const keys = (await clients.developer!.call('GET', `${base()}/settings/keys`)).json.keys
      const secret = keys.find((k: { kind: string }) => k.kind === 'secret')
      expect(secret.lastUsedAt).toBeNull()
      const lookup = (key: string) => h.call('GET', '/v1/fraud/lists', { key, origin: null })
      expect((await lookup(secretKey)).status).toBe(200)
      // "Last used" is written off the request's path: it shows up shortly after.
      await expect
        .poll(async () => {
          const used = (await clients.developer!.call('GET', `${base()}/settings/keys`)).json.keys
          return used.find((k: { id: string }) => k.id === secret.id).lastUsedAt
        })
        .not.toBeNull()

      const later = await clients.developer!.call(
        'POST',
        `${base()}/settings/keys/${secret.id}/rotate`,
        { body: {} },
      )
      expect(later.status).toBe(201)
      expect(later.json.replacement).toMatchObject({ kind: 'secret', mode: 'test' })
      expect(later.json.key).toMatch(/^sk_test_/)
      expect((await lookup(secretKey)).status).toBe(200)
      expect((await lookup(later.json.key)).status).toBe(200)

      const now = await clients.owner!.call(
        'POST',
        `${base()}/settings/keys/${later.json.replacement.id}/rotate`,
        { body: { revokeOld: true } },
      )
      expect(now.status).toBe(201)
      h.advance(5_000) // past the key cache's lifetime
      expect((await lookup(later.json.key)).status).toBe(401)
      expect((await lookup(now.json.key)).status).toBe(200)
      const again = await clients.owner!.call(
        'POST',
        `${base()}/settings/keys/${later.json.replacement.id}/rotate`,
        { body: {} },
      )
      expect(again.status).toBe(400)
      expect(
        (
          await clients.analyst!.call('POST', `${base()}/settings/keys/${secret.id}/rotate`, {
            body: {},
          })
        ).status,
      ).toBe(403)
      const audit = await h.db
        .selectFrom('audit_log')
        .select('action')
        .where('action', '=', 'keys.rotate')
        .where('status', '=', 201)
        .execute()
      expect(audit).toHaveLength(2)
    })

    const jwksKids = async (): Promise<string[]> =>
      (await h.call('GET', '/.well-known/jwks.json')).json.keys.map((k: { kid: string }) => k.kid)
    /** The kid of a token issued now. */
    const signingKid = async () => {
      const token = await h.tokens.issue({
        projectId,
        verificationId: 'ver_signing',
        phone: '+447400100010',
        mode: 'test',
        consent: { version: 'v1', at: h.now() },
      })
      return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string
    }

    it('rotates the signing key (owner of every project only): the new key is published first and signs after the wait; the JWKS keeps the old key', async () => {
      const before = await jwksKids()
      // The one key signs every project's tokens: one project's owner may not rotate it either.
      for (const role of ['developer', 'analyst', 'support', 'owner']) {
        const refused = await clients[role]!.call('POST', `${base()}/settings/signing-key/rotate`)
        expect([role, refused.status]).toEqual([role, 403])
      }
      const session = await clients.owner!.call('GET', '/session')
      expect(session.json.projects[0].everyProjectOwner).toBe(false)
      const root = await login(h, await makeOperator(h, 'root@shop.example', 'owner', '*'))
      expect((await root.call('GET', '/session')).json.projects[0].everyProjectOwner).toBe(true)
      const rotated = await root.call('POST', `${base()}/settings/signing-key/rotate`, {
        body: { publishFirst: true },
      })
      expect(rotated.status).toBe(200)
      expect(before).toContain(rotated.json.retiredKid)
      expect(before).not.toContain(rotated.json.kid)
      expect(await jwksKids()).toEqual(
        expect.arrayContaining([rotated.json.kid, rotated.json.retiredKid]),
      )
      expect(Date.parse(rotated.json.signsFrom) - h.now()).toBeGreaterThan(300_000)
      // Published, not signing yet: the list shows it as the next key and when it signs.
      expect(await signingKid()).toBe(rotated.json.retiredKid)
      const listed = (await root.call('GET', `${base()}/settings/signing-keys`)).json.keys
      expect(listed.slice(0, 2)).toMatchObject([
        { kid: rotated.json.kid, next: true, current: false, signsFrom: rotated.json.signsFrom },
        { kid: rotated.json.retiredKid, current: true, retiredAt: rotated.json.signsFrom },
      ])
      h.advance(Date.parse(rotated.json.signsFrom) - h.now())
      expect(await signingKid()).toBe(rotated.json.kid)
      const audit = await h.db
        .selectFrom('audit_log')
        .select(['action', 'target', 'after'])
        .where('action', '=', 'signing_key.rotate')
        .where('status', '=', 200)
        .execute()
      expect(audit).toMatchObject([{ action: 'signing_key.rotate', target: rotated.json.kid }])
      expect(JSON.parse(String(audit[0]?.after))).toMatchObject({
        kid: rotated.json.kid,
        signsFrom: rotated.json.signsFrom,
      })
    })

    it('rotates the signing key at once by default: the next token carries the new kid', async () => {
      const root = await login(h, await makeOperator(h, 'root2@shop.example', 'owner', '*'))
      const rotated = await root.call('POST', `${base()}/settings/signing-key/rotate`)
      expect(rotated.status).toBe(200)
      expect(Date.parse(rotated.json.signsFrom)).toBeLessThanOrEqual(h.now())
      expect(await signingKid()).toBe(rotated.json.kid)
      expect(await jwksKids()).toEqual(
        expect.arrayContaining([rotated.json.kid, rotated.json.retiredKid]),
      )
    })

    it('withdraws a signing key at once (owner of every project only), the signing one only with a new key, audited', async () => {
      const root = await login(h, await makeOperator(h, 'root-withdraw@shop.example', 'owner', '*'))
      const listed = await root.call('GET', `${base()}/settings/signing-keys`)
      expect(listed.status).toBe(200)
      const signing = listed.json.keys.find((k: { current: boolean }) => k.current).kid as string
      expect(await jwksKids()).toContain(signing)
      for (const role of ['developer', 'analyst', 'support', 'owner']) {
        const path = `${base()}/settings/signing-keys/${signing}/withdraw`
        const refused = await clients[role]!.call('POST', path, { body: { rotate: true } })
        expect([role, refused.status]).toEqual([role, 403])
        const list = await clients[role]!.call('GET', `${base()}/settings/signing-keys`)
        expect([role, list.status]).toEqual([role, 403])
      }
      const withdraw = (kid: string, body: unknown) =>
        root.call('POST', `${base()}/settings/signing-keys/${kid}/withdraw`, { body })
      const alone = await withdraw(signing, {})
      expect(alone.status).toBe(409)
      expect(alone.json.error.code).toBe('signing_key_in_use')
      expect(await jwksKids()).toContain(signing)
      expect((await withdraw('2026-01-01_nosuchkey00000', { rotate: true })).status).toBe(404)
      expect((await withdraw(signing, { rotate: 'yes' })).status).toBe(400)
      const done = await withdraw(signing, { rotate: true })
      expect(done.status).toBe(200)
      expect(done.json).toMatchObject({ withdrawn: true, key: { kid: signing, published: false } })
      expect(await jwksKids()).not.toContain(signing)
      expect(await jwksKids()).toContain(done.json.newKid)
      expect(await signingKid()).toBe(done.json.newKid)
      expect((await withdraw(signing, { rotate: true })).json).toMatchObject({
        withdrawn: false,
        reason: 'already_withdrawn',
      })
      const audit = await h.db
        .selectFrom('audit_log')
        .select(['action', 'target', 'status', 'after'])
        .where('action', '=', 'signing_key.withdraw')
        .orderBy('seq')
        .execute()
      expect(audit.map((a) => [a.target, a.status])).toEqual([
        [signing, 409],
        ['2026-01-01_nosuchkey00000', 404],
        [signing, 200],
        [signing, 200],
      ])
      expect(JSON.parse(audit[2]!.after ?? 'null')).toMatchObject({
        withdrawn: true,
        newKid: done.json.newKid,
      })
    })

    it('adds a list entry with a note and an expiry; once expired no list shows it', async () => {
      const expiresAt = new Date(h.now() + 3_600_000).toISOString()
      const added = await clients.owner!.call('POST', `${base()}/fraud/lists`, {
        body: { list: 'block', kind: 'prefix', value: '+44 7400 9', note: 'pumping', expiresAt },
      })
      expect(added.status).toBe(201)
      expect(added.json).toMatchObject({ value: '+4474009', note: 'pumping', expiresAt })
      const forever = await clients.owner!.call('POST', `${base()}/fraud/lists`, {
        body: { list: 'block', kind: 'country', value: 'NG' },
      })
      expect(forever.json.expiresAt).toBeNull()
      const values = async () =>
        (await clients.analyst!.call('GET', `${base()}/fraud/lists`)).json.entries.map(
          (e: { value: string }) => e.value,
        )
      expect(await values()).toEqual(['+4474009', 'NG'])
      // The guard blocks the prefix while the entry is in force (a decoy: no text is sent).
      const blocked = await start('+447400912345')
      expect(blocked.status).toBe(201)
      const decision = await h.db
        .selectFrom('fraud_events')
        .select('decision')
        .where('verification_id', '=', blocked.json.id)
        .executeTakeFirstOrThrow()
      expect(decision.decision).toBe('block')

      h.advance(3_600_000)
      // An hour is past the sessions' idle timeout: log in again.
      clients.analyst = await login(h, ops.analyst!)
      clients.owner = await login(h, ops.owner!)
      expect(await values()).toEqual(['NG'])
      const api = await h.call('GET', '/v1/fraud/lists', { key: secretKey, origin: null })
      expect(api.status).toBe(200)
      expect(api.json.map((e: { value: string }) => e.value)).toEqual(['NG'])
      const free = await start('+447400912346')
      const after = await h.db
        .selectFrom('fraud_events')
        .select('decision')
        .where('verification_id', '=', free.json.id)
        .executeTakeFirst()
      expect(after?.decision ?? 'allow').toBe('allow')

      const past = await clients.owner!.call('POST', `${base()}/fraud/lists`, {
        body: {
          list: 'block',
          kind: 'phone',
          value: '+447400100009',
          expiresAt: new Date(h.now() - 1).toISOString(),
        },
      })
      expect(past.status).toBe(400)
      expect(past.json.error.issues[0].path).toBe('expiresAt')
      expect(
        (
          await clients.analyst!.call('POST', `${base()}/fraud/lists`, {
            body: { list: 'block', kind: 'country', value: 'GB' },
          })
        ).status,
      ).toBe(403)
    })

    it('shows each webhook endpoint with the earlier secrets still signing and its hold, never a secret', async () => {
      const receiver = await startReceiver()
      try {
        const created = await h.call('POST', '/v1/webhooks/endpoints', {
          key: secretKey,
          body: { url: `${receiver.url}?token=receiver-token` },
        })
        expect(created.status).toBe(201)
        const id = created.json.id as string
        const rotate = (keepPreviousSeconds: number) =>
          h.call('POST', `/v1/webhooks/endpoints/${id}/rotate-secret`, {
            key: secretKey,
            body: { keepPreviousSeconds },
          })
        const secrets = [created.json.secret, (await rotate(3600)).json.secret]
        const last = await rotate(7200)
        secrets.push(last.json.secret)
        const heldUntil = h.now() + 600_000
        await h.db
          .updateTable('webhook_endpoints')
          .set({ held_until: heldUntil })
          .where('id', '=', id)
          .execute()
        // Logged in afresh: the tests before moved the clock past earlier sessions.
        const developer = await login(h, ops.developer!)
        const shown = await developer.call('GET', `${base()}/webhooks`)
        expect(shown.status).toBe(200)
        expect(shown.json.endpoints).toEqual([
          expect.objectContaining({
            id,
            mode: 'test',
            url: `${new URL(receiver.url).origin}${new URL(receiver.url).pathname}?…`,
            enabled: true,
            heldUntil: new Date(heldUntil).toISOString(),
            previousSecrets: last.json.previousSecrets,
          }),
        ])
        expect(shown.json.endpoints[0].previousSecrets).toHaveLength(2)
        for (const secret of [...secrets, 'receiver-token'])
          expect(shown.text).not.toContain(secret)
        const analyst = await login(h, ops.analyst!)
        expect((await analyst.call('GET', `${base()}/webhooks`)).status).toBe(403)
      } finally {
        await receiver.close()
        await h.db.deleteFrom('webhook_endpoints').execute()
      }
    })
  })
}
