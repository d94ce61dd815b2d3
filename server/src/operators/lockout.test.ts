import type { Kysely, KyselyPlugin } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  consoleRequest,
  GOOD_PASSWORD,
  makeOperator,
  type TestOperator,
} from '../../testing/console'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECT_NOTE, DIALECTS } from '../../testing/storage'
import type { Database } from '../storage'
import { checkPassword, checkTotp, createOperator } from './index'
import { newTotpSecret, totpCode, totpSecretText } from './totp'

console.info(DIALECT_NOTE)

for (const dialect of DIALECTS) {
  describe(`operator lockout under guesses sent at once (${dialect})`, () => {
    let h: Harness
    let projectId: string

    beforeAll(async () => {
      h = await createHarness(dialect)
      projectId = (await h.project({ name: 'Shop' })).project.id
    }, 60_000)
    afterAll(() => h?.dispose())

    // Each guess from an address of its own: the guesser the account lockout is for, whom the
    // per-address limit does not stop.
    let guesses = 0
    const password = (operator: TestOperator, guess: string, from?: string) => {
      guesses += 1
      const address = from ?? `10.${(guesses >> 16) & 255}.${(guesses >> 8) & 255}.${guesses & 255}`
      return consoleRequest(h, 'POST', '/login', {
        body: { email: operator.email, password: guess },
        headers: { 'X-Forwarded-For': address },
      })
    }
    const stored = (operator: TestOperator) =>
      h.db
        .selectFrom('operators')
        .select(['failed_logins', 'locked_until'])
        .where('id', '=', operator.id)
        .executeTakeFirstOrThrow()

    it('counts every wrong password of a burst: the account is locked after it', async () => {
      const operator = await makeOperator(h, 'burst@shop.example', 'owner', projectId)
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => password(operator, `wrong password number ${i}`)),
      )
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 401))
      expect((await stored(operator)).locked_until).toBeGreaterThan(h.now())
      const right = await password(operator, GOOD_PASSWORD)
      expect(right.status).toBe(401)
      expect(right.json.error.code).toBe('invalid_credentials')
    })

    it('answers a locked account as it answers an email that is no operator', async () => {
      const operator = await makeOperator(h, 'locked@shop.example', 'owner', projectId)
      const nobody = { ...operator, email: 'nobody-here@shop.example' }
      for (let i = 0; i < 10; i += 1) {
        expect((await password(operator, `wrong ${i} wrong ${i}`)).status).toBe(401)
        expect((await password(nobody, `wrong ${i} wrong ${i}`)).status).toBe(401)
      }
      expect((await stored(operator)).locked_until).toBeGreaterThan(h.now())
      for (const guess of ['wrong 11 wrong 11', GOOD_PASSWORD]) {
        const locked = await password(operator, guess)
        const unknown = await password(nobody, guess)
        expect(locked.status).toBe(401)
        expect(locked.json).toEqual(unknown.json)
        expect(locked.headers.get('Retry-After')).toBe(unknown.headers.get('Retry-After'))
      }
    })

    it('counts every wrong TOTP code of a burst: the account is locked after it', async () => {
      const operator = await makeOperator(h, 'codes@shop.example', 'owner', projectId)
      h.advance(30_000)
      const first = await password(operator, GOOD_PASSWORD)
      expect(first.status).toBe(200)
      const code = (body: { code: string }) =>
        consoleRequest(h, 'POST', '/login/totp', {
          cookie: first.cookie,
          csrf: first.json.csrfToken,
          body,
        })
      const right = totpCode(operator.secret, h.now())
      const wrong = Array.from({ length: 20 }, (_, i) => String(100_000 + i)).filter(
        (c) => c !== right,
      )
      const answers = await Promise.all(wrong.map((c) => code({ code: c })))
      expect(answers.every((a) => a.status === 401 || a.status === 429)).toBe(true)
      expect((await stored(operator)).locked_until).toBeGreaterThan(h.now())
      expect((await code({ code: right })).status).toBe(429)
    })

    it('limits sign-in attempts per client address before any password work, answered 429', async () => {
      const operator = await makeOperator(h, 'limited@shop.example', 'owner', projectId)
      const nobody = { ...operator, email: 'nobody-limited@shop.example' }
      const from = '198.51.100.7'
      for (let i = 0; i < 10; i += 1) {
        expect((await password(nobody, `wrong from one place ${i}`, from)).status).toBe(401)
      }
      // The 11th within the minute, even the right password: refused before the scrypt, and
      // not counted toward the account's lockout.
      for (const guess of ['wrong from one place 11', GOOD_PASSWORD]) {
        const limited = await password(operator, guess, from)
        expect(limited.status).toBe(429)
        expect(limited.json.error.code).toBe('rate_limited')
        expect(limited.headers.get('Retry-After')).toBe('60')
      }
      expect(await stored(operator)).toEqual({ failed_logins: 0, locked_until: null })
      // An IPv6 client is limited by its /64, whichever address of it it uses.
      for (let i = 0; i < 10; i += 1) {
        expect((await password(nobody, `v6 ${i}`, `2001:db8:7:7::${i + 1}`)).status).toBe(401)
      }
      expect((await password(operator, 'v6 again', '2001:db8:7:7:ffff::1')).status).toBe(429)
      // Another address is not held up; the limited one is let in again a minute on.
      expect((await password(operator, GOOD_PASSWORD, '198.51.100.8')).status).toBe(200)
      h.advance(2 * 60_000)
      expect((await password(operator, GOOD_PASSWORD, from)).status).toBe(200)
    })

    it('counts only refused attempts against an address: operators behind one sign in at will', async () => {
      const operator = await makeOperator(h, 'office@shop.example', 'owner', projectId)
      const from = '198.51.100.20'
      for (let i = 0; i < 15; i += 1) {
        expect((await password(operator, GOOD_PASSWORD, from)).status).toBe(200)
      }
      for (let i = 0; i < 5; i += 1) {
        expect((await password(operator, `office typo ${i}`, from)).status).toBe(401)
      }
      expect((await password(operator, GOOD_PASSWORD, from)).status).toBe(200)
    })

    it('limits second-factor attempts per client address, answered 429', async () => {
      const operator = await makeOperator(h, 'limited-totp@shop.example', 'owner', projectId)
      h.advance(30_000)
      const from = '198.51.100.9'
      const first = await password(operator, GOOD_PASSWORD, from)
      expect(first.status).toBe(200)
      const right = totpCode(operator.secret, h.now())
      const wrong = right === '000000' ? '111111' : '000000'
      const code = (value: string) =>
        consoleRequest(h, 'POST', '/login/totp', {
          cookie: first.cookie,
          csrf: first.json.csrfToken,
          body: { code: value },
          headers: { 'X-Forwarded-For': from },
        })
      for (let i = 0; i < 9; i += 1) expect((await code(wrong)).status).toBe(401)
      await h.db.updateTable('operators').set({ failed_logins: 0 }).execute()
      expect((await code(wrong)).status).toBe(401)
      const limited = await code(right)
      expect(limited.status).toBe(429)
      expect(limited.json.error.code).toBe('rate_limited')
      expect(limited.headers.get('Retry-After')).toBe('60')
    })

    it('limits setup-link attempts per client address as it limits sign-in, answered 429', async () => {
      const { setupToken } = await createOperator(h.db, {
        email: 'invited@shop.example',
        grants: [{ projectId, role: 'analyst' }],
        now: h.now(),
      })
      const setup = (path: '/setup' | '/setup/describe', token: string, from: string) => {
        const secret = newTotpSecret()
        return consoleRequest(h, 'POST', path, {
          body:
            path === '/setup'
              ? {
                  token,
                  password: GOOD_PASSWORD,
                  totpSecret: totpSecretText(secret),
                  code: totpCode(secret, h.now()),
                }
              : { token },
          headers: { 'X-Forwarded-For': from },
        })
      }
      const from = '198.51.100.30'
      for (let i = 0; i < 10; i += 1) {
        const guess = `made-up-setup-token-${String(i).padStart(24, '0')}`
        const refused = await setup(i % 2 ? '/setup' : '/setup/describe', guess, from)
        expect(refused.status).toBe(410)
      }
      // The 11th within the minute, even with the real link: refused before any work.
      for (const path of ['/setup/describe', '/setup'] as const) {
        const limited = await setup(path, setupToken, from)
        expect(limited.status).toBe(429)
        expect(limited.json.error.code).toBe('rate_limited')
        expect(limited.headers.get('Retry-After')).toBe('60')
      }
      // The link was not used; from another address it works, and opening it again and again
      // (a page reloaded) uses none of the address's room.
      const elsewhere = '198.51.100.31'
      for (let i = 0; i < 12; i += 1) {
        expect((await setup('/setup/describe', setupToken, elsewhere)).status).toBe(200)
      }
      expect((await setup('/setup', setupToken, elsewhere)).status).toBe(200)
      h.advance(2 * 60_000)
      expect(
        (await setup('/setup/describe', 'made-up-setup-token-after-a-minute', from)).status,
      ).toBe(410)
    })

    const unlock = (operator: TestOperator) =>
      h.db
        .updateTable('operators')
        .set({ locked_until: null, failed_logins: 0 })
        .where('id', '=', operator.id)
        .execute()

    /**
     * Guesses sent at once all read the account unlocked; the wrong ones lock it while the
     * right one is being checked. A database that locks the account just after the first read
     * plays the wrong ones.
     */
    function lockedAfterFirstRead(operatorId: string): Kysely<Database> {
      let done = false
      const plugin: KyselyPlugin = {
        transformQuery: (args) => args.node,
        async transformResult(args) {
          const row = args.result.rows[0] as { id?: string } | undefined
          if (!done && row?.id === operatorId) {
            done = true
            await h.db
              .updateTable('operators')
              .set({ locked_until: h.now() + 15 * 60_000 })
              .where('id', '=', operatorId)
              .execute()
          }
          return args.result
        },
      }
      return h.db.withPlugin(plugin)
    }

    it('refuses the right password, as a wrong one, when the account was locked while it was checked', async () => {
      const operator = await makeOperator(h, 'race@shop.example', 'owner', projectId)
      await expect(
        checkPassword(lockedAfterFirstRead(operator.id), operator.email, GOOD_PASSWORD, h.now()),
      ).rejects.toMatchObject({ code: 'invalid_credentials' })
    })

    it('answers a right and a wrong TOTP code alike when the account was locked while they were checked', async () => {
      const operator = await makeOperator(h, 'race-totp@shop.example', 'owner', projectId)
      h.advance(30_000)
      const db = lockedAfterFirstRead(operator.id)
      const code = totpCode(operator.secret, h.now())
      await expect(
        checkTotp(db, h.secrets.encryptionKey, operator.id, code, h.now()),
      ).rejects.toMatchObject({ code: 'locked' })
      // A wrong code checked while it locked gets the same answer.
      await unlock(operator)
      const wrong = code === '000000' ? '111111' : '000000'
      await expect(
        checkTotp(
          lockedAfterFirstRead(operator.id),
          h.secrets.encryptionKey,
          operator.id,
          wrong,
          h.now(),
        ),
      ).rejects.toMatchObject({ code: 'locked' })
      // The code was not taken either: once the lock ends, it still works in its window.
      const step = await h.db
        .selectFrom('operators')
        .select('totp_last_step')
        .where('id', '=', operator.id)
        .executeTakeFirstOrThrow()
      expect(step.totp_last_step).toBeLessThan(Math.floor(h.now() / 30_000))
    })
  })
}
