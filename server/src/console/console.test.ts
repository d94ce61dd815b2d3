import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  consoleRequest,
  GOOD_PASSWORD,
  login,
  makeOperator,
  type TestOperator,
} from '../../testing/console'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECT_NOTE, DIALECTS } from '../../testing/storage'
import {
  appendAudit,
  KEYED_CHAIN_MIGRATION,
  sealAfterMigrations,
  sealUnkeyedChains,
  verifyAuditChain,
} from '../audit'
import { GENESIS_HASH, legacyRowHash, rowHash } from '../audit/chain'
import { createRestrictions } from '../fraud/events'
import {
  ALL_PROJECTS,
  completeSetup,
  createOperator,
  grantIn,
  issueSetupLink,
  setOperatorDisabled,
  setRole,
} from '../operators'
import { IDLE_TIMEOUT_MS } from '../operators/sessions'
import { newTotpSecret, totpCode, totpSecretText } from '../operators/totp'

console.info(DIALECT_NOTE)

for (const dialect of DIALECTS) {
  describe(`console operators, sessions and roles (${dialect})`, () => {
    let h: Harness
    let projectId: string
    let otherProjectId: string
    let secretKey: string
    let publishableKey: string
    const ops: Record<string, TestOperator> = {}

    beforeAll(async () => {
      h = await createHarness(dialect)
      const created = await h.project({ name: 'Shop' })
      projectId = created.project.id
      secretKey = created.secretKey
      publishableKey = created.publishableKey
      otherProjectId = (await h.project({ name: 'Other shop' })).project.id
      for (const role of ['owner', 'developer', 'analyst', 'support'] as const) {
        ops[role] = await makeOperator(h, `${role}@shop.example`, role, projectId)
      }
    }, 60_000)
    afterAll(() => h?.dispose())

    it('logs in only with the password and then the TOTP code', async () => {
      const first = await consoleRequest(h, 'POST', '/login', {
        body: { email: ops.owner!.email, password: GOOD_PASSWORD },
      })
      expect(first.status).toBe(200)
      expect(first.json.next).toBe('totp')
      expect(first.headers.get('Set-Cookie')).toMatch(/HttpOnly/i)
      expect(first.headers.get('Set-Cookie')).toMatch(/SameSite=Strict/i)
      // Past the password only: nothing but the second factor is open.
      const early = await consoleRequest(h, 'GET', '/session', { cookie: first.cookie })
      expect(early.status).toBe(401)
      const wrong = await consoleRequest(h, 'POST', '/login/totp', {
        cookie: first.cookie,
        csrf: first.json.csrfToken,
        body: { code: '000000' === totpCode(ops.owner!.secret, h.now()) ? '111111' : '000000' },
      })
      expect(wrong.status).toBe(401)
      expect(wrong.json.error.code).toBe('invalid_totp')
      h.advance(30_000)
      const code = totpCode(ops.owner!.secret, h.now())
      const second = await consoleRequest(h, 'POST', '/login/totp', {
        cookie: first.cookie,
        csrf: first.json.csrfToken,
        body: { code },
      })
      expect(second.status).toBe(200)
      // A new session id after the second factor.
      expect(second.cookie).not.toBe(first.cookie)
      const session = await consoleRequest(h, 'GET', '/session', { cookie: second.cookie })
      expect(session.status).toBe(200)
      expect(session.json.operator.email).toBe('owner@shop.example')
      expect(session.json.projects.map((p: { id: string }) => p.id)).toEqual([projectId])

      // The same code again (a replay, even in a new login) is refused.
      const again = await consoleRequest(h, 'POST', '/login', {
        body: { email: ops.owner!.email, password: GOOD_PASSWORD },
      })
      const replay = await consoleRequest(h, 'POST', '/login/totp', {
        cookie: again.cookie,
        csrf: again.json.csrfToken,
        body: { code },
      })
      expect(replay.status).toBe(401)
    })

    it('says a code was used already when it is the step the setup took, so the operator waits for the next', async () => {
      h.advance(30_000 - (h.now() % 30_000)) // the start of a step: the next requests stay in it
      const fresh = await makeOperator(h, 'fresh@shop.example', 'analyst', projectId)
      // Straight from the setup page to the login page, within the same 30 seconds.
      const first = await consoleRequest(h, 'POST', '/login', {
        body: { email: fresh.email, password: GOOD_PASSWORD },
      })
      expect(first.status).toBe(200)
      const again = await consoleRequest(h, 'POST', '/login/totp', {
        cookie: first.cookie,
        csrf: first.json.csrfToken,
        body: { code: totpCode(fresh.secret, h.now()) },
      })
      expect(again.status).toBe(401)
      expect(again.json.error.message).toBe(
        'That code was used already: enter the next one your authenticator app shows.',
      )
      const wrong = await consoleRequest(h, 'POST', '/login/totp', {
        cookie: first.cookie,
        csrf: first.json.csrfToken,
        body: { code: totpCode(fresh.secret, h.now()) === '000000' ? '111111' : '000000' },
      })
      expect(wrong.json.error.message).toBe('That code is not right.')
      h.advance(30_000)
      const next = await consoleRequest(h, 'POST', '/login/totp', {
        cookie: first.cookie,
        csrf: first.json.csrfToken,
        body: { code: totpCode(fresh.secret, h.now()) },
      })
      expect(next.status).toBe(200)
    })

    it('answers a wrong password and an unknown email alike, and audits both', async () => {
      const wrong = await consoleRequest(h, 'POST', '/login', {
        body: { email: ops.owner!.email, password: 'not the password at all' },
      })
      const unknown = await consoleRequest(h, 'POST', '/login', {
        body: { email: 'nobody@shop.example', password: 'not the password at all' },
      })
      expect(wrong.status).toBe(401)
      expect(unknown.status).toBe(401)
      expect(wrong.json).toEqual(unknown.json)
      const refused = await h.db
        .selectFrom('audit_log')
        .select(['actor_label', 'action', 'status'])
        .where('action', '=', 'login.password_refused')
        .execute()
      expect(refused).toEqual(
        expect.arrayContaining([
          { actor_label: 'owner@shop.example', action: 'login.password_refused', status: 401 },
          { actor_label: 'nobody@shop.example', action: 'login.password_refused', status: 401 },
        ]),
      )
    })

    it('refuses short and breached passwords at setup (NIST 800-63B)', async () => {
      const { setupToken } = await createOperator(h.db, {
        email: 'new@shop.example',
        grants: [{ projectId, role: 'analyst' }],
        now: h.now(),
      })
      const secret = newTotpSecret()
      const attempt = (password: string) =>
        completeSetup(
          h.db,
          h.secrets.encryptionKey,
          { token: setupToken, password, totpSecret: secret, totpCode: totpCode(secret, h.now()) },
          h.now(),
        )
      await expect(attempt('short1')).rejects.toMatchObject({
        code: 'weak_password',
        details: { problem: 'too_short' },
      })
      await expect(attempt('password1234')).rejects.toMatchObject({
        details: { problem: 'breached' },
      })
      await expect(attempt('iloveyou2024!')).rejects.toMatchObject({
        details: { problem: 'breached' },
      })
      // Through the API: the same refusal as a 422, and the link still works afterwards.
      const describe = await consoleRequest(h, 'POST', '/setup/describe', {
        body: { token: setupToken },
      })
      expect(describe.status).toBe(200)
      expect(describe.json.otpauthUri).toMatch(/^otpauth:\/\/totp\//)
      const weak = await consoleRequest(h, 'POST', '/setup', {
        body: {
          token: setupToken,
          password: 'qwertyuiop123',
          totpSecret: describe.json.totpSecret,
          code: '123456',
        },
      })
      expect(weak.status).toBe(422)
      expect(weak.json.error.code).toBe('weak_password')
      const { decodeBase32IgnorePadding } = await import('@oslojs/encoding')
      const done = await consoleRequest(h, 'POST', '/setup', {
        body: {
          token: setupToken,
          password: GOOD_PASSWORD,
          totpSecret: describe.json.totpSecret,
          code: totpCode(decodeBase32IgnorePadding(describe.json.totpSecret), h.now()),
        },
      })
      expect(done.status).toBe(200)
      const reused = await consoleRequest(h, 'POST', '/setup/describe', {
        body: { token: setupToken },
      })
      expect(reused.status).toBe(410)
    })

    it('ends a session after 30 idle minutes, and after 12 hours whatever the activity', async () => {
      const idle = await login(h, ops.analyst!)
      h.advance(IDLE_TIMEOUT_MS + 1000)
      expect((await idle.call('GET', '/session')).status).toBe(401)

      const busy = await login(h, ops.analyst!)
      for (let hour = 0; hour < 12 * 3; hour += 1) {
        h.advance(20 * 60_000)
        if ((await busy.call('GET', '/session')).status !== 200) break
      }
      expect((await busy.call('GET', '/session')).status).toBe(401)
    })

    it('logs out everywhere: every session of the operator ends', async () => {
      const phone = await login(h, ops.developer!)
      const laptop = await login(h, ops.developer!)
      expect((await phone.call('GET', '/session')).status).toBe(200)
      expect((await laptop.call('POST', '/logout/everywhere')).status).toBe(200)
      expect((await phone.call('GET', '/session')).status).toBe(401)
      expect((await laptop.call('GET', '/session')).status).toBe(401)
    })

    it('ends every session of an operator whose password and authenticator are reset', async () => {
      const op = await makeOperator(h, 'reset@shop.example', 'developer', projectId)
      const before = await login(h, op)
      const owner = await login(h, ops.owner!)
      const link = await owner.call(
        'POST',
        `/projects/${projectId}/settings/operators/${op.id}/link`,
      )
      expect(link.status).toBe(200)
      const token = new URL(link.json.setupUrl).hash.replace('#token=', '')
      const secret = newTotpSecret()
      h.advance(30_000)
      const setup = await consoleRequest(h, 'POST', '/setup', {
        body: {
          token,
          password: 'a different passphrase 77',
          totpSecret: totpSecretText(secret),
          code: totpCode(secret, h.now()),
        },
      })
      expect(setup.status).toBe(200)
      expect((await before.call('GET', '/session')).status).toBe(401)
      expect((await owner.call('GET', '/session')).status).toBe(200)
    })

    it('disables an operator of every project: sessions end, sign-in and setup links refused, until enabled', async () => {
      const leaver = await makeOperator(h, 'leaver@shop.example', 'owner', '*')
      const session = await login(h, leaver)
      const link = await issueSetupLink(h.db, leaver.id, h.now())
      expect(await setOperatorDisabled(h.db, leaver.id, true, h.now())).toBe(true)
      expect(await setOperatorDisabled(h.db, leaver.id, true, h.now())).toBe(false)
      expect((await session.call('GET', '/session')).status).toBe(401)
      expect((await session.call('GET', `/projects/${projectId}/audit`)).status).toBe(401)
      const refused = await consoleRequest(h, 'POST', '/login', {
        body: { email: leaver.email, password: GOOD_PASSWORD },
      })
      const nobody = await consoleRequest(h, 'POST', '/login', {
        body: { email: 'nobody-at-all@shop.example', password: GOOD_PASSWORD },
      })
      expect([refused.status, refused.json]).toEqual([nobody.status, nobody.json])
      const described = await consoleRequest(h, 'POST', '/setup/describe', {
        body: { token: link },
      })
      expect(described.status).toBe(410)
      // The Settings list says so (its roles stay, so it is still listed).
      const owner = await login(h, ops.owner!)
      const listed = async () =>
        (await owner.call('GET', `/projects/${projectId}/settings/operators`)).json.operators.find(
          (o: { id: string }) => o.id === leaver.id,
        )
      expect(await listed()).toMatchObject({ disabled: true, allProjects: true })
      expect(await setOperatorDisabled(h.db, leaver.id, false, h.now())).toBe(true)
      expect(await listed()).toMatchObject({ disabled: false, disabled_at: null })
      // Back with the same password and authenticator; the link issued before stays spent.
      expect((await (await login(h, leaver)).call('GET', '/session')).status).toBe(200)
      expect(
        (await consoleRequest(h, 'POST', '/setup/describe', { body: { token: link } })).status,
      ).toBe(410)
    })

    it('refuses changes without the CSRF token or from another origin', async () => {
      const owner = await login(h, ops.owner!)
      const body = { brand: 'Shop!' }
      const noToken = await consoleRequest(h, 'PUT', `/projects/${projectId}/settings`, {
        cookie: owner.cookie,
        body,
      })
      expect(noToken.status).toBe(403)
      expect(noToken.json.error.code).toBe('csrf_failed')
      const foreign = await owner.call('PUT', `/projects/${projectId}/settings`, {
        body,
        headers: { Origin: 'https://evil.example' },
      })
      expect(foreign.status).toBe(403)
      const loginCsrf = await consoleRequest(h, 'POST', '/login', {
        body: { email: ops.owner!.email, password: GOOD_PASSWORD },
        headers: { Origin: 'https://evil.example' },
      })
      expect(loginCsrf.status).toBe(403)
      expect((await owner.call('PUT', `/projects/${projectId}/settings`, { body })).status).toBe(
        200,
      )
    })

    it('enforces each role on the server, whatever the page shows', async () => {
      const p = `/projects/${projectId}`
      const cases: [string, string, unknown?][] = [
        ['GET', `${p}/overview?from=${h.now() - 86_400_000}&to=${h.now()}`],
        ['GET', `${p}/audit`],
        ['GET', `${p}/settings`],
        ['PUT', `${p}/settings`, { brand: 'Shop' }],
        ['GET', `${p}/settings/keys`],
        ['GET', `${p}/settings/operators`],
      ]
      const expected: Record<string, number[]> = {
        owner: [200, 200, 200, 200, 200, 200],
        developer: [403, 403, 200, 200, 200, 403],
        analyst: [200, 403, 403, 403, 403, 403],
        support: [403, 403, 403, 403, 403, 403],
      }
      for (const [role, statuses] of Object.entries(expected)) {
        const client = await login(h, ops[role]!)
        const got = []
        for (const [method, path, body] of cases)
          got.push((await client.call(method, path, { body })).status)
        expect({ role, got }).toEqual({ role, got: statuses })
        // No role in another project: 403, the same as a project that does not exist.
        expect((await client.call('GET', `/projects/${otherProjectId}/settings`)).status).toBe(403)
        expect((await client.call('GET', '/projects/prj_nope/settings')).status).toBe(403)
      }
    }, 60_000)

    it("lets a project's owner set no role here for an owner of every project", async () => {
      const root = await makeOperator(h, 'root@shop.example', 'owner', '*')
      const owner = await login(h, ops.owner!)
      const p = `/projects/${projectId}/settings/operators`
      const invited = await owner.call('POST', p, {
        body: { email: root.email, role: 'support' },
      })
      expect(invited.status).toBe(403)
      const rootClient = await login(h, root)
      expect((await rootClient.call('GET', `/projects/${projectId}/audit`)).status).toBe(200)
      // An owner of every project may (the CLI's first owner inviting another one).
      const granted = await rootClient.call('POST', p, {
        body: { email: 'wide@shop.example', role: 'analyst' },
      })
      expect(granted.status).toBe(201)
      await h.db
        .insertInto('operator_roles')
        .values({ operator_id: granted.json.id, project_id: '*', role: 'owner', created_at: 0 })
        .execute()
      expect(
        (await owner.call('PUT', `${p}/${granted.json.id}`, { body: { role: 'support' } })).status,
      ).toBe(403)
      expect(
        (await rootClient.call('PUT', `${p}/${granted.json.id}`, { body: { role: 'developer' } }))
          .status,
      ).toBe(200)
    })

    it("refuses a project's owner a role here for an operator another project's invitation set up", async () => {
      // The other project's owner invites an address they expect this project to invite too,
      // and uses the setup link themselves: emails are never checked.
      const otherOwner = await login(
        h,
        await makeOperator(h, 'other-owner@shop.example', 'owner', otherProjectId),
      )
      const planted = await otherOwner.call(
        'POST',
        `/projects/${otherProjectId}/settings/operators`,
        {
          body: { email: 'agency@support.example', role: 'support' },
        },
      )
      expect(planted.status).toBe(201)
      const owner = await login(h, ops.owner!)
      const p = `/projects/${projectId}/settings/operators`
      const granted = await owner.call('POST', p, {
        body: { email: 'Agency@support.example', role: 'developer' },
      })
      expect(granted.status).toBe(409)
      expect(granted.json.error.code).toBe('operator_exists')
      expect(granted.json.error.message).toMatch(/owner of every project/)
      expect(await grantIn(h.db, planted.json.id, projectId)).toBeUndefined()
      // An owner of every project may, and then a role change by this project's owner is theirs.
      const root = await login(h, await makeOperator(h, 'root-3@shop.example', 'owner', '*'))
      expect(
        (await root.call('POST', p, { body: { email: 'agency@support.example', role: 'support' } }))
          .status,
      ).toBe(200)
      const again = await owner.call('POST', p, {
        body: { email: 'agency@support.example', role: 'analyst' },
      })
      expect(again.status).toBe(200)
      expect(await grantIn(h.db, planted.json.id, projectId)).toBe('analyst')
    })

    it("changes and removes only a grant made in this project, auditing the grant's role", async () => {
      const wide = await makeOperator(h, 'wide-only@shop.example', 'analyst', '*')
      expect(await grantIn(h.db, wide.id, ALL_PROJECTS)).toBe('analyst')
      // The every-project grant applies here, but it is not this project's to change or remove.
      expect(await grantIn(h.db, wide.id, projectId)).toBeUndefined()
      const root = await login(h, await makeOperator(h, 'root-2@shop.example', 'owner', '*'))
      const p = `/projects/${projectId}/settings/operators/${wide.id}`
      expect((await root.call('PUT', p, { body: { role: 'support' } })).status).toBe(404)
      expect((await root.call('DELETE', p)).status).toBe(404)
      await setRole(h.db, wide.id, { projectId, role: 'support' })
      expect((await root.call('PUT', p, { body: { role: 'developer' } })).status).toBe(200)
      expect(await grantIn(h.db, wide.id, projectId)).toBe('developer')
      expect((await root.call('DELETE', p)).status).toBe(200)
      expect(await grantIn(h.db, wide.id, projectId)).toBeUndefined()
      expect(await grantIn(h.db, wide.id, ALL_PROJECTS)).toBe('analyst')
      const audit = await h.db
        .selectFrom('audit_log')
        .select(['action', 'before'])
        .where('target', '=', wide.id)
        .where('action', 'in', ['operator.role', 'operator.remove'])
        .orderBy('seq')
        .execute()
      expect(audit.map((a) => [a.action, JSON.parse(a.before ?? 'null')])).toEqual([
        ['operator.role', { role: 'support' }],
        ['operator.remove', { role: 'developer' }],
      ])
    })

    it('applies the project IP allowlist to the console and to secret keys', async () => {
      const owner = await login(h, ops.owner!, { 'X-Forwarded-For': '203.0.113.7' })
      const set = await owner.call('PUT', `/projects/${projectId}/settings`, {
        body: { ipAllowlist: ['203.0.113.0/24', '2001:db8::/32'] },
      })
      expect(set.status).toBe(200)
      expect(set.json.ipAllowlist).toEqual(['203.0.113.0/24', '2001:db8::/32'])
      const outside = await owner.call('GET', `/projects/${projectId}/settings`, {
        headers: { 'X-Forwarded-For': '198.51.100.1' },
      })
      expect(outside.status).toBe(403)
      expect(outside.json.error.code).toBe('ip_not_allowed')
      const redeemOutside = await h.call('POST', '/v1/tokens/redeem', {
        key: secretKey,
        body: { token: 'x.y.z' },
        headers: { 'X-Forwarded-For': '198.51.100.1' },
      })
      expect(redeemOutside.status).toBe(403)
      const redeemInside = await h.call('POST', '/v1/tokens/redeem', {
        key: secretKey,
        body: { token: 'x.y.z' },
        headers: { 'X-Forwarded-For': '203.0.113.9' },
      })
      expect(redeemInside.status).toBe(200)
      const bad = await owner.call('PUT', `/projects/${projectId}/settings`, {
        body: { ipAllowlist: ['not-an-ip'] },
      })
      expect(bad.status).toBe(400)
      // A list without the operator's own address would lock every operator out of the
      // project's console (no command changes it): refused, and the list stays as it was.
      const shutOut = await owner.call('PUT', `/projects/${projectId}/settings`, {
        body: { ipAllowlist: ['10.0.0.0/8'] },
      })
      expect(shutOut.status).toBe(400)
      expect(shutOut.json.error).toMatchObject({ issues: [{ path: 'ipAllowlist' }] })
      expect(shutOut.json.error.message).toMatch(
        /Your address \(203\.0\.113\.7\) is not in this list/,
      )
      expect((await owner.call('GET', `/projects/${projectId}/settings`)).json.ipAllowlist).toEqual(
        ['203.0.113.0/24', '2001:db8::/32'],
      )
      expect(
        (await owner.call('PUT', `/projects/${projectId}/settings`, { body: { ipAllowlist: [] } }))
          .status,
      ).toBe(200)
    })

    it('audits operator actions and secret-key writes with who, what, where, before and after', async () => {
      const owner = await login(h, ops.owner!, { 'X-Forwarded-For': '192.0.2.44' })
      await owner.call('PUT', `/projects/${projectId}/settings`, { body: { codeLength: 8 } })
      await h.call('POST', '/v1/tokens/redeem', { key: secretKey, body: { token: 'a.b.c' } })
      const { json } = await owner.call('GET', `/projects/${projectId}/audit?limit=10`)
      const change = json.entries.find(
        (e: { action: string; after: { codeLength?: number } }) =>
          e.action === 'settings.update' && e.after.codeLength === 8,
      )
      expect(change).toMatchObject({
        actor: { type: 'operator', label: 'owner@shop.example' },
        ip: '192.0.2.44',
        status: 200,
        before: { codeLength: 6 },
        after: { codeLength: 8 },
      })
      const redeem = json.entries.find(
        (e: { actor: { type: string } }) => e.actor.type === 'secret_key',
      )
      expect(redeem).toMatchObject({ action: 'POST /v1/tokens/redeem', status: 200 })
      expect(redeem.actor.label).toMatch(/^sk_test_/)
      const exported = await owner.call('GET', `/projects/${projectId}/audit/export`)
      expect(exported.headers.get('Content-Type')).toMatch(/x-ndjson/)
      const lines = exported.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(lines.length).toBe(json.entries.length >= 10 ? lines.length : json.entries.length)
      expect(lines[0].seq).toBeGreaterThan(lines.at(-1).seq)
    })

    it("shows an owner of every project the server's log: refused sign-ins of any project's operators", async () => {
      const refused = await consoleRequest(h, 'POST', '/login', {
        body: { email: ops.analyst!.email, password: 'a wrong guess entirely' },
        headers: { 'X-Forwarded-For': '198.51.100.77' },
      })
      expect(refused.status).toBe(401)
      const root = await login(h, await makeOperator(h, 'root-log@shop.example', 'owner', '*'))
      const server = `/projects/${projectId}/audit?chain=server&action=login.password_refused`
      const { status, json } = await root.call('GET', server)
      expect(status).toBe(200)
      expect(json.entries[0]).toMatchObject({
        action: 'login.password_refused',
        actor: { label: ops.analyst!.email },
        ip: '198.51.100.77',
      })
      const exported = await root.call('GET', `/projects/${projectId}/audit/export?chain=server`)
      expect(exported.headers.get('Content-Disposition')).toMatch(/audit-server\.jsonl/)
      expect(exported.text).toContain('login.password_refused')
      const verified = await root.call('GET', `/projects/${projectId}/audit/verify?chain=server`)
      expect(verified.json).toMatchObject({ ok: true })
      // The project's own log is as before; a project's owner does not read every project's.
      const own = await root.call('GET', `/projects/${projectId}/audit?action=login`)
      expect(own.json.entries).toEqual([])
      const owner = await login(h, ops.owner!)
      expect((await owner.call('GET', server)).status).toBe(403)
      expect(
        (await owner.call('GET', `/projects/${projectId}/audit/export?chain=server`)).status,
      ).toBe(403)
      expect(
        (await owner.call('GET', `/projects/${projectId}/audit/verify?chain=server`)).status,
      ).toBe(403)
    })

    it('lists verifications masked, looks one up by full number for support (audited), runs the sandbox', async () => {
      const developer = await login(h, ops.developer!)
      const sent = await developer.call('POST', `/projects/${projectId}/sandbox/ask`, {
        body: { text: 'send a test code to +44 7400 123456' },
      })
      expect(sent.status).toBe(200)
      expect(sent.json.intent).toEqual({ kind: 'send_code', phone: '+447400123456' })
      await h.dispatcher.drain()
      const inbox = await developer.call('GET', `/projects/${projectId}/sandbox/inbox`)
      expect(inbox.json.messages[0]).toMatchObject({
        to: '+447400123456',
        code: expect.stringMatching(/^\d{4,10}$/),
      })
      const random = await developer.call('POST', `/projects/${projectId}/sandbox/ask`, {
        body: { text: 'give me a random France number' },
      })
      expect(random.json.phone).toMatch(/^\+33/)

      const analyst = await login(h, ops.analyst!)
      const list = await analyst.call('GET', `/projects/${projectId}/verifications?country=GB`)
      expect(list.status).toBe(200)
      // UK (for GB) is no country: named, not an empty list.
      const uk = '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)'
      for (const [client, path] of [
        [analyst, `/projects/${projectId}/verifications?country=UK`],
        [developer, `/projects/${projectId}/sandbox/number?country=UK`],
      ] as const) {
        const refused = await client.call('GET', path)
        expect([path, refused.status, refused.json.error.message]).toEqual([path, 400, uk])
      }
      const lower = await developer.call('GET', `/projects/${projectId}/sandbox/number?country=gb`)
      expect(lower.json.phone).toMatch(/^\+44/)
      expect(list.json.verifications[0].phone).not.toBe('+447400123456')
      expect(list.json.verifications[0].phone).toContain('•')
      const detail = await analyst.call(
        'GET',
        `/projects/${projectId}/verifications/${sent.json.verification.id}`,
      )
      expect(detail.json).toMatchObject({
        checks: { attempts: 0, sends: 1 },
        token: { issuedAt: null },
      })
      expect(JSON.stringify(detail.json)).not.toMatch(/\b\d{6}\b.*is your/)
      expect(
        (
          await analyst.call('POST', `/projects/${projectId}/verifications/lookup`, {
            body: { phone: '+447400123456' },
          })
        ).status,
      ).toBe(403)

      const support = await login(h, ops.support!)
      const found = await support.call('POST', `/projects/${projectId}/verifications/lookup`, {
        body: { phone: '+44 7400 123456' },
      })
      expect(found.status).toBe(200)
      expect(found.json.verifications[0]).toMatchObject({
        id: sent.json.verification.id,
        phone: '+447400123456',
      })
      expect((await support.call('GET', `/projects/${projectId}/verifications`)).status).toBe(403)
      const audited = await h.db
        .selectFrom('audit_log')
        .select(['actor_label', 'target', 'after'])
        .where('action', '=', 'verifications.lookup')
        .execute()
      expect(audited).toContainEqual({
        actor_label: 'support@shop.example',
        target: '+4474•••••456',
        after: JSON.stringify({ found: [sent.json.verification.id] }),
      })
    })

    it('fraud: lists, per-check modes (owner only) and a what-if over the last 24 hours', async () => {
      const owner = await login(h, ops.owner!)
      const p = `/projects/${projectId}/fraud`
      const added = await owner.call('POST', `${p}/lists`, {
        body: { list: 'block', kind: 'prefix', value: '+2348', note: 'pumping' },
      })
      expect(added.status).toBe(201)
      expect((await owner.call('GET', `${p}/lists`)).json.entries).toContainEqual(
        expect.objectContaining({ value: '+2348', note: 'pumping' }),
      )
      const blocked = await h.call('POST', '/v1/verifications', {
        key: publishableKey,
        body: { phone: '+2348030000000', consent: { accepted: true } },
      })
      expect(blocked.status, JSON.stringify(blocked.json)).toBeLessThan(300)
      const modes = (await owner.call('GET', `${p}/settings`)).json.modes
      expect(modes.lists).toBe('enforce')
      const whatIf = await owner.call('POST', `${p}/what-if`, { body: { modes: { lists: 'off' } } })
      expect(whatIf.json.changed).toContainEqual(
        expect.objectContaining({ was: 'block', wouldBe: 'allow' }),
      )
      const analyst = await login(h, ops.analyst!)
      expect(
        (await analyst.call('PUT', `${p}/settings`, { body: { modes: { lists: 'shadow' } } }))
          .status,
      ).toBe(403)
      expect(
        (
          await analyst.call('POST', `${p}/lists`, {
            body: { list: 'block', kind: 'ip', value: '192.0.2.1' },
          })
        ).status,
      ).toBe(403)
      expect((await analyst.call('GET', `${p}/events`)).json.events[0].phone).toContain('•')
      // A listed number is shown in full only to roles that read numbers in full.
      const number = await owner.call('POST', `${p}/lists`, {
        body: { list: 'block', kind: 'phone', value: '+447400123999', note: 'chargebacks' },
      })
      expect(number.status).toBe(201)
      const listed = (client: typeof owner) =>
        client
          .call('GET', `${p}/lists`)
          .then((r) => r.json.entries.find((e: { id: string }) => e.id === number.json.id).value)
      expect(await listed(owner)).toBe('+447400123999')
      expect(await listed(analyst)).not.toContain('123999')
      expect(await listed(analyst)).toContain('•')
      expect((await owner.call('DELETE', `${p}/lists/${number.json.id}`)).status).toBe(200)
      const saved = await owner.call('PUT', `${p}/settings`, {
        body: { modes: { lists: 'shadow' } },
      })
      expect(saved.json.modes.lists).toBe('shadow')
      expect(
        (await owner.call('PUT', `${p}/settings`, { body: { modes: { nope: 'off' } } })).status,
      ).toBe(400)
      await owner.call('PUT', `${p}/settings`, { body: { modes: { lists: 'enforce' } } })
      const entry = added.json.id
      expect((await owner.call('DELETE', `${p}/lists/${entry}`)).status).toBe(200)
    })

    it('fraud: the decision log shows a restricted range with its width, masked as its prefix for an analyst', async () => {
      await createRestrictions(h.db).restrict(
        projectId,
        'prefix:+44740012',
        ['conversion.prefix'],
        { country: 'GB', prefix: '+44740012', prefixDigits: 4 },
        Date.now(),
        3_600_000,
      )
      const p = `/projects/${projectId}/fraud/events`
      const restricted = (events: { outcome: string }[]) =>
        events.find((e) => e.outcome === 'restricted')
      const owner = await login(h, ops.owner!)
      expect(restricted((await owner.call('GET', p)).json.events)).toMatchObject({
        phone: '+44740012',
        range: '+44740012xxxx',
      })
      const analyst = await login(h, ops.analyst!)
      expect(restricted((await analyst.call('GET', p)).json.events)).toMatchObject({
        phone: '+4474•012',
        range: '+4474•012xxxx',
      })
    })

    it('filters the audit log by an action prefix with an underscore, taken literally', async () => {
      for (const action of ['signing_key.rotate', 'signingXkey.rotate', 'signing%key.rotate']) {
        await appendAudit(h.db, h.secrets.auditKey, {
          projectId,
          actor: { type: 'cli', id: null, label: 'cli' },
          action,
        })
      }
      const owner = await login(h, ops.owner!)
      const listed = async (prefix: string) =>
        (
          await owner.call(
            'GET',
            `/projects/${projectId}/audit?action=${encodeURIComponent(prefix)}`,
          )
        ).json.entries.map((e: { action: string }) => e.action)
      expect(await listed('signing_key.')).toEqual(['signing_key.rotate'])
      expect(await listed('signing%')).toEqual(['signing%key.rotate'])
    })

    it('keeps the audit log append-only and detects an edited row by name', async () => {
      expect((await verifyAuditChain(h.db, h.secrets.auditKey)).ok).toBe(true)
      await expect(
        sql`update audit_log set actor_label = 'someone else'`.execute(h.db),
      ).rejects.toThrow(/append-only/)
      await expect(sql`delete from audit_log`.execute(h.db)).rejects.toThrow(/append-only/)
    })
  })

  describe(`audit chain tamper detection (${dialect})`, () => {
    let h: Harness
    beforeAll(async () => {
      h = await createHarness(dialect)
    })
    afterAll(() => h?.dispose())

    it('names the first broken link after a row is edited, removed or cut off the end', async () => {
      const actor = { type: 'cli' as const, id: null, label: 'cli' }
      const rows = []
      for (let i = 0; i < 5; i += 1) {
        rows.push(
          await appendAudit(h.db, h.secrets.auditKey, {
            projectId: 'prj_a',
            actor,
            action: `step.${i}`,
            after: { i },
          }),
        )
        await appendAudit(h.db, h.secrets.auditKey, {
          projectId: 'prj_b',
          actor,
          action: `other.${i}`,
        })
      }
      expect(await verifyAuditChain(h.db, h.secrets.auditKey)).toMatchObject({
        ok: true,
        chains: 2,
        rows: 10,
      })
      // Someone with database access lifts the protection and edits the third row.
      await dropProtection(h)
      await h.db
        .updateTable('audit_log')
        .set({ after: '{"i":99}' })
        .where('id', '=', rows[2]!.id)
        .execute()
      expect(await verifyAuditChain(h.db, h.secrets.auditKey)).toMatchObject({
        ok: false,
        broken: { projectId: 'prj_a', seq: 3, id: rows[2]!.id, reason: 'hash_mismatch' },
      })
      // Recomputing that row's hash does not help: the next row's link breaks instead.
      const { rowHash } = await import('../audit/chain')
      const edited = await h.db
        .selectFrom('audit_log')
        .selectAll()
        .where('id', '=', rows[2]!.id)
        .executeTakeFirstOrThrow()
      await h.db
        .updateTable('audit_log')
        .set({ hash: rowHash(h.secrets.auditKey, edited) })
        .where('id', '=', rows[2]!.id)
        .execute()
      expect((await verifyAuditChain(h.db, h.secrets.auditKey)).broken).toMatchObject({
        seq: 4,
        id: rows[3]!.id,
        reason: 'prev_hash_mismatch',
      })
      // A removed row in the other chain, and a row cut off the end.
      const b = await h.db
        .selectFrom('audit_log')
        .select(['id', 'seq'])
        .where('project_id', '=', 'prj_b')
        .orderBy('seq')
        .execute()
      await h.db.deleteFrom('audit_log').where('id', '=', b[1]!.id).execute()
      expect(
        await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_b' }),
      ).toMatchObject({
        ok: false,
        broken: { projectId: 'prj_b', seq: 2, reason: 'missing_row' },
      })
      await h.db.deleteFrom('audit_log').where('id', '=', b[4]!.id).execute()
      await h.db
        .deleteFrom('audit_log')
        .where('project_id', '=', 'prj_b')
        .where('seq', '<=', 4)
        .execute()
      expect(
        await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_b' }),
      ).toMatchObject({
        ok: false,
        broken: { reason: 'missing_row' },
      })
    })

    it('names a chain whose head row was deleted (no trigger guards the heads)', async () => {
      const actor = { type: 'cli' as const, id: null, label: 'cli' }
      for (let i = 0; i < 3; i += 1) {
        await appendAudit(h.db, h.secrets.auditKey, {
          projectId: 'prj_headless',
          actor,
          action: `h.${i}`,
        })
      }
      expect(
        await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_headless' }),
      ).toMatchObject({
        ok: true,
        chains: 1,
        rows: 3,
      })
      // A plain DELETE, no trigger to lift: the chain's rows are left, the head is gone.
      await h.db.deleteFrom('audit_heads').where('project_id', '=', 'prj_headless').execute()
      expect(
        await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_headless' }),
      ).toMatchObject({
        ok: false,
        chains: 1,
        broken: { projectId: 'prj_headless', seq: 3, reason: 'head_mismatch' },
      })
    })

    it('keeps one gapless chain per project under concurrent appends', async () => {
      const actor = { type: 'cli' as const, id: null, label: 'cli' }
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          appendAudit(h.db, h.secrets.auditKey, { projectId: 'prj_c', actor, action: `c.${i}` }),
        ),
      )
      expect(
        await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_c' }),
      ).toMatchObject({
        ok: true,
        rows: 40,
      })
    })
  })
  describe(`keyed audit chain (${dialect})`, () => {
    let h: Harness
    beforeAll(async () => {
      h = await createHarness(dialect)
      await dropProtection(h)
    })
    afterAll(() => h?.dispose())
    const actor = { type: 'cli' as const, id: null, label: 'cli' }
    const chain = (projectId: string) =>
      h.db
        .selectFrom('audit_log')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('seq')
        .execute()
    /** Writes `rows` over the stored ones (hashes recomputed by `hash`) and moves the head. */
    async function rewrite(
      rows: Awaited<ReturnType<typeof chain>>,
      from: number,
      hash: (row: (typeof rows)[number]) => string,
    ) {
      let prev = from === 0 ? GENESIS_HASH : rows[from - 1]!.hash
      for (const row of rows.slice(from)) {
        row.prev_hash = prev
        row.hash = hash(row)
        prev = row.hash
        await h.db
          .updateTable('audit_log')
          .set({ after: row.after, prev_hash: row.prev_hash, hash: row.hash })
          .where('id', '=', row.id)
          .execute()
      }
      await h.db
        .updateTable('audit_heads')
        .set({ hash: prev })
        .where('project_id', '=', rows[0]!.project_id)
        .execute()
    }

    it('refuses rows recomputed by someone without TEXTGATE_SECRET', async () => {
      for (let i = 0; i < 5; i += 1) {
        await appendAudit(h.db, h.secrets.auditKey, {
          projectId: 'prj_k',
          actor,
          action: `k.${i}`,
          after: { i },
        })
      }
      expect(await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_k' })).toEqual({
        ok: true,
        chains: 1,
        rows: 5,
        chainSchemes: [{ projectId: 'prj_k', scheme: 'hmac-sha256', rows: 5, unkeyedRows: 0 }],
      })
      const rows = await chain('prj_k')
      expect(rows.every((row) => row.hash.startsWith('hmac-sha256:'))).toBe(true)
      // The triggers dropped, the third row edited, it and every row after it recomputed with
      // plain SHA-256 and the head moved: the chain links up, but unkeyed rows follow keyed ones.
      rows[2]!.after = '{"i":99}'
      await rewrite(rows, 2, legacyRowHash)
      expect(
        (await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_k' })).broken,
      ).toEqual({ projectId: 'prj_k', seq: 3, id: rows[2]!.id, reason: 'unkeyed_row' })
      // The same, as keyed rows under a key not derived from the server's secret.
      const guessed = Buffer.alloc(32, 7)
      await rewrite(rows, 2, (row) => rowHash(guessed, row))
      expect(
        (await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_k' })).broken,
      ).toEqual({ projectId: 'prj_k', seq: 3, id: rows[2]!.id, reason: 'hash_mismatch' })
      // The whole chain rewritten with plain SHA-256 from its first row: it links up, but no
      // keyed row vouches for it.
      await rewrite(rows, 0, legacyRowHash)
      expect(await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_k' })).toEqual({
        ok: false,
        chains: 1,
        rows: 5,
        chainSchemes: [{ projectId: 'prj_k', scheme: 'sha256', rows: 5, unkeyedRows: 5 }],
        broken: { projectId: 'prj_k', seq: 5, id: null, reason: 'unkeyed_chain' },
      })
      // Only the secret's holder writes rows that verify.
      await rewrite(rows, 0, (row) => rowHash(h.secrets.auditKey, row))
      expect((await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_k' })).ok).toBe(
        true,
      )
    })

    it('verifies rows written before the chain was keyed once a keyed row seals them', async () => {
      // A chain as a server before keyed hashes wrote it: plain SHA-256 rows.
      let prev = GENESIS_HASH
      for (let seq = 1; seq <= 3; seq += 1) {
        const fields = {
          id: `aud_old${seq}`,
          project_id: 'prj_old',
          seq,
          at: h.now(),
          actor_type: 'cli' as const,
          actor_id: null,
          actor_label: 'cli',
          action: `old.${seq}`,
          target: null,
          ip: null,
          user_agent: null,
          status: null,
          before: null,
          after: JSON.stringify({ seq }),
          prev_hash: prev,
        }
        prev = legacyRowHash(fields)
        await h.db
          .insertInto('audit_log')
          .values({ ...fields, hash: prev })
          .execute()
      }
      await h.db
        .insertInto('audit_heads')
        .values({ project_id: 'prj_old', seq: 3, hash: prev })
        .execute()
      // Not sealed yet: anyone could have written it, so it does not pass.
      expect(
        await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_old' }),
      ).toMatchObject({
        ok: false,
        chainSchemes: [{ projectId: 'prj_old', scheme: 'sha256', rows: 3, unkeyedRows: 3 }],
        broken: { projectId: 'prj_old', seq: 3, reason: 'unkeyed_chain' },
      })
      // Only the run that applies the keyed-chain migration seals: a keyed row after the old
      // ones, once.
      expect(await sealAfterMigrations(h.db, h.secrets.auditKey, [], h.now())).toEqual([])
      expect(
        await sealAfterMigrations(h.db, h.secrets.auditKey, [KEYED_CHAIN_MIGRATION], h.now()),
      ).toEqual(['prj_old'])
      expect(await sealUnkeyedChains(h.db, h.secrets.auditKey, h.now())).toEqual([])
      await appendAudit(h.db, h.secrets.auditKey, { projectId: 'prj_old', actor, action: 'new' })
      const rows = await chain('prj_old')
      expect(rows.map((row) => [row.action, row.hash.startsWith('hmac-sha256:')])).toEqual([
        ['old.1', false],
        ['old.2', false],
        ['old.3', false],
        ['audit.keyed', true],
        ['new', true],
      ])
      expect(await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_old' })).toEqual({
        ok: true,
        chains: 1,
        rows: 5,
        chainSchemes: [
          {
            projectId: 'prj_old',
            scheme: 'sha256+hmac-sha256',
            rows: 5,
            unkeyedRows: 3,
            sealedAt: h.now(),
          },
        ],
      })
      // An old row edited and the old rows after it recomputed: the seal's link breaks.
      rows[1]!.after = '{"seq":99}'
      await rewrite(rows.slice(0, 3), 1, legacyRowHash)
      expect(
        (await verifyAuditChain(h.db, h.secrets.auditKey, { projectId: 'prj_old' })).broken,
      ).toEqual({ projectId: 'prj_old', seq: 4, id: rows[3]!.id, reason: 'prev_hash_mismatch' })
    })
  })
}

async function dropProtection(h: Harness) {
  if (h.storage.dialect === 'postgres') {
    await sql`drop trigger audit_log_append_only on audit_log`.execute(h.db)
  } else {
    await sql`drop trigger audit_log_no_update`.execute(h.db)
    await sql`drop trigger audit_log_no_delete`.execute(h.db)
  }
}
