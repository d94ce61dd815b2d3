import { PhoneTokenError, verifyPhoneToken } from '@textgate/store'
import { decodeProtectedHeader } from 'jose'
import { describe, it } from 'vitest'
import { TOKEN_INPUT as input, type JwksIssuer, startJwksIssuer } from '../../testing/jwks-issuer'
import { DIALECTS } from '../../testing/storage'
import type { DialectName } from '../storage'

/**
 * A store server's key cache (`verifyPhoneToken` in @textgate/store) against a real issuer's
 * JWKS on loopback, across rotations and withdrawals. Apart from ./index.test.ts because these
 * tests wait out the cache's real 5 s interval between fetches for unknown kids.
 *
 * Each test has an issuer of its own (its own database and port, so a key cache of its own:
 * verifyPhoneToken keeps one per JWKS URL for the life of the process). The tests share no keys
 * and no fetch times, so they run at once, and each waits only for the interval it is about.
 */

interface Issuer extends JwksIssuer {
  /** JWKS requests the issuer has had. */
  fetches(): number
  /** verifyPhoneToken's options for this issuer's tokens. */
  options: { issuer: string; audience: string }
}

/** Runs `test` against a fresh issuer, closed after it. */
async function withIssuer(dialect: DialectName, test: (at: Issuer) => Promise<void>) {
  let requests = 0
  const issuer = await startJwksIssuer(dialect, () => requests++)
  try {
    await test({
      ...issuer,
      fetches: () => requests,
      options: { issuer: issuer.issuer, audience: 'prj_a' },
    })
  } finally {
    issuer.server.close()
    await issuer.storage.dispose()
  }
}

/** The token with its header's `kid` replaced, as someone sending made-up kids would. */
function withKid(token: string, kid: string): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  const header = JSON.parse(Buffer.from(h, 'base64url').toString())
  return `${Buffer.from(JSON.stringify({ ...header, kid })).toString('base64url')}.${p}.${s}`
}

/** What verifyPhoneToken says of `token`: 'ok' or the PhoneTokenError's code. */
const outcome = (token: string, at: Issuer) =>
  verifyPhoneToken(token, at.options).then(
    () => 'ok',
    (error: unknown) => (error instanceof PhoneTokenError ? error.code : String(error)),
  )

for (const dialect of DIALECTS) {
  describe.concurrent(`verifyPhoneToken's key cache across a rotation (${dialect})`, () => {
    it("verifies a token of the new key right after a rotation, and the old key's still", ({
      expect,
    }) =>
      withIssuer(dialect, async (at) => {
        const old = await at.tokens.issue(input)
        await verifyPhoneToken(old, at.options)
        const before = at.fetches()
        const { kid } = await at.tokens.rotate({ now: true })
        const fresh = await at.tokens.issue(input)
        expect(decodeProtectedHeader(fresh).kid).toBe(kid)
        // Within seconds of the first fetch: jose's cooldown alone refused this as unknown_key.
        const claims = await verifyPhoneToken(fresh, at.options)
        expect(claims.phone_number).toBe(input.phone)
        expect(at.fetches() - before).toBe(1)
        await verifyPhoneToken(old, at.options)
        expect(at.fetches() - before).toBe(1)
      }))

    it('fetches the JWKS at most once per 5 s for any number of tokens with made-up kids', ({
      expect,
    }) =>
      withIssuer(dialect, async (at) => {
        const token = await at.tokens.issue(input)
        // The cache's first load (jose's own, on first use) is not one of those fetches.
        await verifyPhoneToken(token, at.options)
        const before = at.fetches()
        const started = Date.now()
        // Two bursts, the second while the first's fetch is under way or just done: each made-up
        // kid waits for a fetch that started after it came, and there is one per 5 s at most.
        const first = Array.from({ length: 40 }, (_, i) =>
          outcome(withKid(token, `made-up-${i}`), at),
        )
        await new Promise((resolve) => setTimeout(resolve, 20))
        const second = Array.from({ length: 40 }, (_, i) =>
          outcome(withKid(token, `later-${i}`), at),
        )
        const codes = await Promise.all([...first, ...second])
        expect(new Set(codes)).toEqual(new Set(['unknown_key']))
        const fetches = at.fetches() - before
        expect(fetches).toBeGreaterThanOrEqual(1)
        expect(fetches).toBeLessThanOrEqual(1 + Math.floor((Date.now() - started) / 5_000))
        const after = at.fetches()
        // The real key still verifies from the cache.
        await verifyPhoneToken(token, at.options)
        expect(at.fetches()).toBe(after)
      }))

    it("verifies a new key's token that comes right after made-up kids, waiting instead of refusing it", ({
      expect,
    }) =>
      withIssuer(dialect, async (at) => {
        const token = await at.tokens.issue(input)
        await verifyPhoneToken(token, at.options)
        // Someone sends a made-up kid: its fetch finds nothing.
        expect(await outcome(withKid(token, 'made-up-before-rotation'), at)).toBe('unknown_key')
        const { kid } = await at.tokens.rotate({ now: true })
        const fresh = await at.tokens.issue(input)
        expect(decodeProtectedHeader(fresh).kid).toBe(kid)
        const started = Date.now()
        // The 30 s cooldown refused this as unknown_key; now it waits for the next fetch: the
        // interval after the made-up kid's, and no longer.
        expect(await outcome(fresh, at)).toBe('ok')
        // (Its fetch came 5 s after the made-up kid's; the rotation and the issue in between take
        // milliseconds, seconds at most on a loaded machine: a refusal or a fetch at once takes
        // none of this.)
        expect(Date.now() - started).toBeGreaterThanOrEqual(2_500)
        expect(Date.now() - started).toBeLessThan(7_000)
      }))

    it("stops verifying a withdrawn key's tokens at the next fetch: at once on the first token of its successor", ({
      expect,
    }) =>
      withIssuer(dialect, async (at) => {
        const compromised = await at.tokens.issue(input)
        await verifyPhoneToken(compromised, at.options)
        const kid = decodeProtectedHeader(compromised).kid as string
        const { newKid } = await at.tokens.withdraw(kid, { rotate: true })
        // The store's cache still holds the key until it fetches again (at the latest after
        // 5 minutes); the server's redeem refuses the token at once.
        expect(await outcome(compromised, at)).toBe('ok')
        expect((await at.tokens.redeem(compromised, 'prj_a', 'live')).valid).toBe(false)
        const fresh = await at.tokens.issue(input)
        expect(decodeProtectedHeader(fresh).kid).toBe(newKid)
        const started = Date.now()
        expect(await outcome(fresh, at)).toBe('ok')
        // Its kid was new: fetched at once, with no interval (5 s) to wait for.
        expect(Date.now() - started).toBeLessThan(3_000)
        // That fetch dropped the withdrawn key: tokens made with it are refused from now on.
        expect(await outcome(compromised, at)).toBe('unknown_key')
      }))
  })
}
