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

console.info(DIALECT_NOTE)

/** A response of the right shape whose signature proves nothing. */
const FORGED = {
  id: 'Zm9yZ2Vk',
  rawId: 'Zm9yZ2Vk',
  type: 'public-key',
  response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' },
  clientExtensionResults: {},
}

for (const dialect of DIALECTS) {
  describe(`console passkeys (${dialect})`, () => {
    let h: Harness
    let owner: TestOperator
    let other: TestOperator

    beforeAll(async () => {
      h = await createHarness(dialect)
      const { project } = await h.project({ name: 'Shop' })
      owner = await makeOperator(h, 'owner@shop.example', 'owner', project.id)
      other = await makeOperator(h, 'other@shop.example', 'analyst', project.id)
    }, 60_000)
    afterAll(() => h?.dispose())

    const passwordStep = async (operator: TestOperator) => {
      const first = await consoleRequest(h, 'POST', '/login', {
        body: { email: operator.email, password: GOOD_PASSWORD },
      })
      expect(first.status).toBe(200)
      return { cookie: first.cookie!, csrf: first.json.csrfToken as string, json: first.json }
    }

    it('offers a passkey only to an operator who has one, and only after the password', async () => {
      const first = await passwordStep(owner)
      expect(first.json.passkey).toBe(false)
      const options = await consoleRequest(h, 'POST', '/login/passkey/options', first)
      expect(options.json).toEqual({ options: null })
      // Registration and the list need a full session.
      expect((await consoleRequest(h, 'GET', '/passkeys', first)).status).toBe(401)
      expect((await consoleRequest(h, 'POST', '/passkeys/options', first)).status).toBe(401)
      // And a passkey login needs the password first.
      expect(
        (await consoleRequest(h, 'POST', '/login/passkey', { body: { response: FORGED } })).status,
      ).toBe(401)
    })

    it('registers from a full session only with the pending challenge, used once', async () => {
      const client = await login(h, owner)
      const { json } = await client.call('POST', '/passkeys/options')
      expect(json.options.rp.id).toBe('localhost')
      expect(json.options.user.name).toBe('owner@shop.example')
      const stored = await h.db
        .selectFrom('operator_sessions')
        .select('challenge')
        .where('operator_id', '=', owner.id)
        .where('challenge', 'is not', null)
        .execute()
      expect(stored.map((s) => s.challenge)).toEqual([json.options.challenge])
      const forged = await client.call('POST', '/passkeys', {
        body: { name: 'Forged', response: FORGED },
      })
      expect(forged.status).toBe(401)
      expect(forged.json.error.code).toBe('invalid_passkey')
      const again = await client.call('POST', '/passkeys', {
        body: { name: 'Forged', response: FORGED },
      })
      expect(again.json.error.message).toMatch(/no passkey request is pending/)
      expect((await client.call('GET', '/passkeys')).json.passkeys).toEqual([])
    })

    it('refuses a forged login answer, counts it toward the lockout, and keeps the first stage', async () => {
      // A stored passkey (its key is junk: no answer can match it).
      await h.db
        .insertInto('operator_passkeys')
        .values({
          id: 'pk_test1',
          operator_id: owner.id,
          credential_id: FORGED.id,
          public_key: 'AAAA',
          counter: 0,
          transports: null,
          name: 'Old key',
          created_at: h.now(),
          last_used_at: null,
        })
        .execute()
      const first = await passwordStep(owner)
      expect(first.json.passkey).toBe(true)
      const options = await consoleRequest(h, 'POST', '/login/passkey/options', first)
      expect(options.json.options.allowCredentials).toEqual([
        expect.objectContaining({ id: FORGED.id }),
      ])
      const before = await h.db
        .selectFrom('operators')
        .select('failed_logins')
        .where('id', '=', owner.id)
        .executeTakeFirstOrThrow()
      const refused = await consoleRequest(h, 'POST', '/login/passkey', {
        ...first,
        body: { response: FORGED },
      })
      expect(refused.status).toBe(401)
      const after = await h.db
        .selectFrom('operators')
        .select('failed_logins')
        .where('id', '=', owner.id)
        .executeTakeFirstOrThrow()
      expect(Number(after.failed_logins)).toBe(Number(before.failed_logins) + 1)
      expect((await consoleRequest(h, 'GET', '/session', first)).status).toBe(401)
      const audit = await h.db
        .selectFrom('audit_log')
        .select('actor_label')
        .where('action', '=', 'login.passkey_refused')
        .execute()
      expect(audit).toEqual([{ actor_label: 'owner@shop.example' }])
    })

    it("lists and removes one's own passkeys only", async () => {
      const mine = await login(h, owner)
      const theirs = await login(h, other)
      expect((await mine.call('GET', '/passkeys')).json.passkeys).toEqual([
        expect.objectContaining({ id: 'pk_test1', name: 'Old key', lastUsedAt: null }),
      ])
      expect((await theirs.call('GET', '/passkeys')).json.passkeys).toEqual([])
      expect((await theirs.call('DELETE', '/passkeys/pk_test1')).status).toBe(404)
      expect((await mine.call('DELETE', '/passkeys/pk_test1')).status).toBe(200)
      expect((await mine.call('GET', '/passkeys')).json.passkeys).toEqual([])
    })
  })
}
