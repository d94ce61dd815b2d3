import type { Kysely, KyselyPlugin } from 'kysely'
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
import { cookieSettings } from '../console/security'
import type { Database } from '../storage'
import { deviceKey, knownDevices } from './devices'
import { checkPassword, checkTotp, completeSetup, createOperator, issueSetupLink } from './index'
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
    const anywhere = () => {
      guesses += 1
      return {
        'X-Forwarded-For': `10.${(guesses >> 16) & 255}.${(guesses >> 8) & 255}.${guesses & 255}`,
      }
    }
    const password = (
      operator: Pick<TestOperator, 'email'>,
      guess: string,
      from?: string,
      deviceCookie?: string,
    ) =>
      consoleRequest(h, 'POST', '/login', {
        body: { email: operator.email, password: guess },
        headers: from ? { 'X-Forwarded-For': from } : anywhere(),
        deviceCookie,
      })
    /** The second step of the sign-in `first` (the password's answer) began. */
    const secondFactor = (
      first: { cookie?: string | undefined; json: { csrfToken: string } },
      code: string,
      { from, deviceCookie }: { from?: string; deviceCookie?: string } = {},
    ) =>
      consoleRequest(h, 'POST', '/login/totp', {
        cookie: first.cookie,
        deviceCookie,
        csrf: first.json.csrfToken,
        body: { code },
        headers: from ? { 'X-Forwarded-For': from } : anywhere(),
      })
    /** The code of this step was not taken: once a lock ends, it still works in its window. */
    const expectStepFree = async (operator: TestOperator) => {
      const step = await h.db
        .selectFrom('operators')
        .select('totp_last_step')
        .where('id', '=', operator.id)
        .executeTakeFirstOrThrow()
      expect(step.totp_last_step).toBeLessThan(Math.floor(h.now() / 30_000))
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
      const code = ({ code }: { code: string }) => secondFactor(first, code)
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
      const code = (value: string) => secondFactor(first, value, { from })
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
    function lockedAfterFirstRead(
      operatorId: string,
      lock: () => Promise<unknown> = () =>
        h.db
          .updateTable('operators')
          .set({ locked_until: h.now() + 15 * 60_000 })
          .where('id', '=', operatorId)
          .execute(),
    ): Kysely<Database> {
      let done = false
      const plugin: KyselyPlugin = {
        transformQuery: (args) => args.node,
        async transformResult(args) {
          const row = args.result.rows[0] as { id?: string } | undefined
          if (!done && row?.id === operatorId) {
            done = true
            await lock()
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
      // The code was not taken either.
      await expectStepFree(operator)
    })

    // OWASP's device cookies: the account's lock holds clients that never signed in as the
    // operator; a browser that did counts its own failures and has its own lock.
    const storedDevices = (operator: TestOperator) =>
      h.db
        .selectFrom('operator_devices')
        .select(['failed_logins', 'locked_until'])
        .where('operator_id', '=', operator.id)
        .execute()

    it('lets the operator sign in on a browser they used before while guessers keep the account locked', async () => {
      const operator = await makeOperator(h, 'besieged@shop.example', 'owner', projectId)
      h.advance(30_000)
      const known = await login(h, operator, { 'X-Forwarded-For': '198.51.100.40' })
      // Guessers from many addresses, without the cookie, lock the account.
      for (let i = 0; i < 12; i += 1) {
        expect((await password(operator, `spread-out guess ${i}`)).status).toBe(401)
      }
      expect((await stored(operator)).locked_until).toBeGreaterThan(h.now())
      // A browser the operator never used is refused like every other client, right password
      // or not, with the answer an unknown email gets.
      const stranger = await password(operator, GOOD_PASSWORD, '198.51.100.41')
      const nobody = await password({ email: 'nobody-besieged@shop.example' }, GOOD_PASSWORD)
      expect(stranger.status).toBe(401)
      expect(stranger.json).toEqual(nobody.json)
      // Their own browser signs in, both factors, during the attack.
      const again = await login(
        h,
        operator,
        { 'X-Forwarded-For': '198.51.100.40' },
        known.deviceCookie,
      )
      expect((await again.call('GET', '/session')).status).toBe(200)
      // And its success leaves the lock on everyone else.
      expect((await stored(operator)).locked_until).toBeGreaterThan(h.now())
      expect((await password(operator, GOOD_PASSWORD, '198.51.100.41')).status).toBe(401)
      // The known browser's own wrong passwords and codes counted nowhere near the account's.
      expect(await storedDevices(operator)).toEqual([{ failed_logins: 0, locked_until: null }])
    })

    it('lets an operator locked out on a new browser back in through a setup link while the guessing goes on', async () => {
      const operator = await makeOperator(h, 'besieged-new@shop.example', 'owner', projectId)
      const guess = async () => {
        for (let i = 0; i < 12; i += 1) {
          expect((await password(operator, `spread-out guess ${i}`)).status).toBe(401)
        }
        expect((await stored(operator)).locked_until).toBeGreaterThan(h.now())
      }
      await guess()
      // The owner has never used this browser: `operators link` gives them a setup link.
      const token = await issueSetupLink(h.db, operator.id, h.now())
      const secret = newTotpSecret()
      const from = { 'X-Forwarded-For': '198.51.100.60' }
      const setup = await consoleRequest(h, 'POST', '/setup', {
        body: {
          token,
          password: GOOD_PASSWORD,
          totpSecret: totpSecretText(secret),
          code: totpCode(secret, h.now()),
        },
        headers: from,
      })
      expect(setup.status).toBe(200)
      // The guessers lock the account again at once; the browser the link was used on still
      // signs in, as a browser the operator signed in on before does.
      await guess()
      const back = await login(h, { ...operator, secret }, from, setup.deviceCookie)
      expect((await back.call('GET', '/session')).status).toBe(200)
      expect((await stored(operator)).locked_until).toBeGreaterThan(h.now())
    })

    it("counts a known browser's failures against it alone: ten in a row lock that browser, not the account", async () => {
      const operator = await makeOperator(h, 'own-browser@shop.example', 'owner', projectId)
      h.advance(30_000)
      const first = await login(h, operator, anywhere())
      const second = await login(h, operator, anywhere())
      expect(second.deviceCookie).not.toBe(first.deviceCookie)
      // Twenty wrong passwords at once from many addresses, all with the first browser's cookie.
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          password(operator, `cookie burst ${i}`, undefined, first.deviceCookie),
        ),
      )
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 401))
      expect(await stored(operator)).toEqual({ failed_logins: 0, locked_until: null })
      const rows = await storedDevices(operator)
      expect(rows.filter((r) => Number(r.locked_until) > h.now())).toHaveLength(1)
      // The first browser is locked, with the answer an unknown email gets; the other browser
      // and clients without a cookie are not.
      const locked = await password(operator, GOOD_PASSWORD, undefined, first.deviceCookie)
      const nobody = await password({ email: 'nobody-own@shop.example' }, GOOD_PASSWORD)
      expect(locked.status).toBe(401)
      expect(locked.json).toEqual(nobody.json)
      expect((await password(operator, GOOD_PASSWORD, undefined, second.deviceCookie)).status).toBe(
        200,
      )
      expect((await password(operator, GOOD_PASSWORD)).status).toBe(200)
      // Its lock ends after 15 minutes, as the account's does.
      h.advance(15 * 60_000 + 1)
      await login(h, operator, anywhere(), first.deviceCookie)
    })

    it("counts a known browser's wrong TOTP codes against it, and takes a right one while the account is locked", async () => {
      const operator = await makeOperator(h, 'codes-known@shop.example', 'owner', projectId)
      h.advance(30_000)
      const known = await login(h, operator, anywhere())
      await h.db
        .updateTable('operators')
        .set({ locked_until: h.now() + 15 * 60_000 })
        .where('id', '=', operator.id)
        .execute()
      h.advance(30_000)
      const first = await password(operator, GOOD_PASSWORD, undefined, known.deviceCookie)
      expect(first.status).toBe(200)
      const code = (value: string) =>
        secondFactor(first, value, { deviceCookie: known.deviceCookie })
      const right = totpCode(operator.secret, h.now())
      const wrong = right === '000000' ? '111111' : '000000'
      for (let i = 0; i < 3; i += 1) expect((await code(wrong)).status).toBe(401)
      expect(await storedDevices(operator)).toEqual([{ failed_logins: 3, locked_until: null }])
      const taken = await code(right)
      expect(taken.status).toBe(200)
      expect(await storedDevices(operator)).toEqual([{ failed_logins: 0, locked_until: null }])
      expect((await stored(operator)).locked_until).toBeGreaterThan(h.now())
      // Ten wrong codes lock the browser (answered as the account's lock is, 429).
      h.advance(30_000)
      const next = await password(operator, GOOD_PASSWORD, undefined, known.deviceCookie)
      const codeAgain = (value: string) =>
        secondFactor(next, value, { deviceCookie: known.deviceCookie })
      const answers = []
      for (let i = 0; i < 10; i += 1) answers.push((await codeAgain(wrong)).status)
      expect(answers).toEqual([...Array(9).fill(401), 429])
      expect((await codeAgain(totpCode(operator.secret, h.now()))).status).toBe(429)
    })

    it("trusts a device cookie only for its own operator, signed, and not after the operator's credentials are reset", async () => {
      const operator = await makeOperator(h, 'cookie-owner@shop.example', 'owner', projectId)
      const other = await makeOperator(h, 'cookie-other@shop.example', 'owner', projectId)
      h.advance(30_000)
      const known = await login(h, operator, anywhere())
      // Set after both factors only, HttpOnly, Secure, SameSite=Strict, host-only, 90 days.
      const set = (
        await consoleRequest(h, 'POST', '/login', {
          body: { email: operator.email, password: GOOD_PASSWORD },
          headers: anywhere(),
        })
      ).headers.getSetCookie()
      expect(set.some((c) => c.includes('textgate_device'))).toBe(false)
      h.advance(30_000)
      const first = await password(operator, GOOD_PASSWORD, undefined, known.deviceCookie)
      const full = await secondFactor(first, totpCode(operator.secret, h.now()), {
        deviceCookie: known.deviceCookie,
      })
      const device = full.headers.getSetCookie().find((c) => c.startsWith('textgate_device='))
      expect(device).toMatch(/; Max-Age=7776000/)
      expect(device).toMatch(/; HttpOnly/)
      expect(device).toMatch(/; SameSite=Strict/)
      // This harness is a developer's plain-http localhost; anywhere else it is a Secure
      // __Host- cookie, as the session's is.
      expect(device).toMatch(/; Path=\/console(;|$)/)
      expect(cookieSettings('https://verify.shop.example')).toMatchObject({
        deviceName: '__Host-textgate_device',
        secure: true,
        path: '/',
      })
      expect(full.deviceCookie).toBe(known.deviceCookie)

      const value = known.deviceCookie.split('=')[1] as string
      const [operatorId, randomId, signature] = value.split('.') as [string, string, string]
      const fail = (who: TestOperator, cookie: string) =>
        password(who, 'wrong password, some cookie', undefined, `textgate_device=${cookie}`)
      // Another operator's attempts with this cookie count toward that operator's account.
      await fail(other, value)
      expect((await stored(other)).failed_logins).toBe(1)
      // A cookie naming the other operator, or with the signature changed, is no cookie.
      await fail(other, `${other.id}.${randomId}.${signature}`)
      const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'AB' : 'AA'}`
      await fail(operator, `${operatorId}.${randomId}.${flipped}`)
      expect((await stored(other)).failed_logins).toBe(2)
      expect((await stored(operator)).failed_logins).toBe(1)
      // With the right cookie the failure is the browser's.
      await fail(operator, value)
      expect((await stored(operator)).failed_logins).toBe(1)
      expect(await storedDevices(operator)).toEqual([{ failed_logins: 1, locked_until: null }])

      // One browser remembers several operators.
      const both = await login(h, other, anywhere(), known.deviceCookie)
      expect(both.deviceCookie.split('~')).toHaveLength(2)
      await fail(operator, both.deviceCookie.split('=')[1] as string)
      await fail(other, both.deviceCookie.split('=')[1] as string)
      // (The other operator's sign-in here cleared their account's count.)
      expect((await stored(operator)).failed_logins).toBe(1)
      expect((await stored(other)).failed_logins).toBe(0)
      expect(await storedDevices(operator)).toEqual([{ failed_logins: 2, locked_until: null }])
      expect(await storedDevices(other)).toEqual([{ failed_logins: 1, locked_until: null }])

      // New credentials (a reset link): the browsers of the old ones are strangers again.
      const token = await issueSetupLink(h.db, operator.id, h.now())
      const secret = newTotpSecret()
      await completeSetup(
        h.db,
        h.secrets.encryptionKey,
        { token, password: GOOD_PASSWORD, totpSecret: secret, totpCode: totpCode(secret, h.now()) },
        h.now(),
      )
      await fail(operator, value)
      expect((await stored(operator)).failed_logins).toBe(1)
      expect(await storedDevices(operator)).toEqual([])
      // Nothing of the cookie is written anywhere the audit log or the sessions keep.
      const written = JSON.stringify(await h.db.selectFrom('audit_log').selectAll().execute())
      expect(written).not.toContain(randomId)
      expect(written).not.toContain(signature)
    })

    it('refuses the right password on a known browser, as a wrong one, when wrong ones locked that browser while it was checked', async () => {
      const operator = await makeOperator(h, 'race-device@shop.example', 'owner', projectId)
      h.advance(30_000)
      const known = await login(h, operator, anywhere())
      const cookie = known.deviceCookie.split('=')[1]
      const devices = knownDevices(h.db, deviceKey(h.secrets.encryptionKey), cookie, h.now())
      const lockout = await devices.lockoutFor(operator.id)
      expect(lockout.kind).toBe('device')
      const lockDevice = async () => {
        if (lockout.kind !== 'device') return
        await h.db
          .updateTable('operator_devices')
          .set({ locked_until: h.now() + 15 * 60_000 })
          .where('id', '=', lockout.deviceId)
          .execute()
      }
      await expect(
        checkPassword(
          lockedAfterFirstRead(operator.id, lockDevice),
          operator.email,
          GOOD_PASSWORD,
          h.now(),
          devices,
        ),
      ).rejects.toMatchObject({ code: 'invalid_credentials' })
      // The TOTP step likewise: refused as locked, and the code not taken.
      await h.db.updateTable('operator_devices').set({ locked_until: null }).execute()
      h.advance(30_000)
      await expect(
        checkTotp(
          lockedAfterFirstRead(operator.id, lockDevice),
          h.secrets.encryptionKey,
          operator.id,
          totpCode(operator.secret, h.now()),
          h.now(),
          devices,
        ),
      ).rejects.toMatchObject({ code: 'locked' })
      await expectStepFree(operator)
    })
  })
}
