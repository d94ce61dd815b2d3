import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PhoneTokenError, verifyPhoneToken, verifyPhoneTokenWithKeys } from '@textgate/store'
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importPKCS8,
  jwtVerify,
  SignJWT,
} from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  TOKEN_ENCRYPTION_KEY as encryptionKey,
  TOKEN_INPUT as input,
  startJwksIssuer,
} from '../../testing/jwks-issuer'
import { createTestStorage, DIALECTS, type TestStorage } from '../../testing/storage'
import { decrypt } from '../secrets'
import { createTokenService, JWKS_MAX_AGE_SECONDS, PREPUBLISH_MS, type TokenService } from './index'

const ISSUER = 'https://verify.example'
/**
 * Other spellings of a token's signature that lenient base64url decoders (jose's) read as the
 * same bytes: padding, whitespace, `+/`, and the last character with its unused bits set.
 */
function respellings(token: string): string[] {
  const [h, p, s] = token.split('.') as [string, string, string]
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(s.at(-1) as string)
  return [
    `${h}.${p}.${s.slice(0, -1)}${alphabet[last ^ 1]}`,
    `${h}.${p}.${s}==`,
    `${h}.${p}.${s.slice(0, 20)} ${s.slice(20)}`,
    `${h}.${p}.${s.slice(0, 20)}\n${s.slice(20)}`,
    `${h}=.${p}.${s}`,
  ]
}

/** What a store's verification says of a token: 'ok', or the PhoneTokenError's code. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'ok'
  } catch (error) {
    return error instanceof PhoneTokenError ? error.code : `unexpected: ${String(error)}`
  }
}

for (const dialect of DIALECTS) {
  describe(`tokens (${dialect})`, () => {
    let storage: TestStorage
    let tokens: TokenService
    let now = Date.parse('2026-11-25T12:00:00Z')
    const clock = () => now

    beforeAll(async () => {
      storage = await createTestStorage(dialect)
      tokens = createTokenService({ db: storage.db, encryptionKey, issuer: ISSUER, now: clock })
      await tokens.ensureSigningKey()
    })
    afterAll(() => storage.dispose())

    it('signs exactly the claims DESIGN.md fixes', async () => {
      const token = await tokens.issue(input)
      const header = decodeProtectedHeader(token)
      expect(header).toMatchObject({ alg: 'EdDSA', typ: 'textgate-verification+jwt' })
      expect(header.kid).toEqual(expect.any(String))
      const claims = decodeJwt(token)
      expect(Object.keys(claims).sort()).toEqual([
        'amr',
        'aud',
        'consent',
        'exp',
        'iat',
        'iss',
        'jti',
        'mode',
        'phone_number',
        'phone_number_verified',
        'sub',
      ])
      expect(claims).toMatchObject({
        iss: ISSUER,
        aud: 'prj_a',
        mode: 'live',
        sub: 'ver_1',
        phone_number: '+447400123123',
        phone_number_verified: true,
        consent: { version: 'tos-3', at: Math.floor(input.consent.at / 1000) },
        amr: ['sms'],
      })
      expect(claims.exp! - claims.iat!).toBe(600)
      const { payload } = await jwtVerify(token, createLocalJWKSet(await tokens.jwks()), {
        currentDate: new Date(now),
      })
      expect(payload.jti).toBe(claims.jti)
    })

    it('signs with ES256 too, in the JOSE signature format (r‖s) that jose verifies', async () => {
      const es = await createTestStorage(dialect)
      try {
        const es256 = createTokenService({
          db: es.db,
          encryptionKey,
          issuer: ISSUER,
          alg: 'ES256',
          now: clock,
        })
        await es256.ensureSigningKey()
        const token = await es256.issue(input)
        expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256' })
        // 64 bytes: r and s of P-256 side by side, not a DER sequence.
        expect(Buffer.from(token.split('.')[2] as string, 'base64url')).toHaveLength(64)
        const { payload } = await jwtVerify(token, createLocalJWKSet(await es256.jwks()), {
          currentDate: new Date(now),
          algorithms: ['ES256'],
        })
        expect(payload).toMatchObject({ sub: 'ver_1', aud: 'prj_a', iss: ISSUER })
        await expect(es256.redeem(token, 'prj_a', 'live')).resolves.toMatchObject({
          valid: true,
          claims: { phone_number: '+447400123123' },
        })
      } finally {
        await es.dispose()
      }
    })

    it('keeps private keys encrypted and out of the JWKS', async () => {
      const rows = await storage.db.selectFrom('signing_keys').selectAll().execute()
      for (const row of rows) {
        expect(row.private_key_encrypted).toMatch(/^v1\./)
        expect(row.private_key_encrypted).not.toContain('PRIVATE KEY')
      }
      const { keys } = await tokens.jwks()
      expect(keys.every((key) => key.d === undefined && key.use === 'sig')).toBe(true)
    })

    it('creates one key when two processes start together', async () => {
      const fresh = await createTestStorage(dialect)
      const a = createTokenService({ db: fresh.db, encryptionKey, issuer: ISSUER })
      const b = createTokenService({ db: fresh.db, encryptionKey, issuer: ISSUER })
      const [ka, kb] = await Promise.all([a.ensureSigningKey(), b.ensureSigningKey()])
      expect(ka.kid).toBe(kb.kid)
      const token = await b.issue(input)
      expect(decodeProtectedHeader(token).kid).toBe(ka.kid)
      await fresh.dispose()
    })

    it('rotates: the next key is published first, then signs in every process; old tokens verify until they expire', async () => {
      const oldToken = await tokens.issue(input)
      const oldKid = decodeProtectedHeader(oldToken).kid
      const other = createTokenService({
        db: storage.db,
        encryptionKey,
        issuer: ISSUER,
        now: clock,
      })
      const rotatedAt = now
      const { kid, retiredKid, signsFrom } = await other.rotate()
      expect(retiredKid).toBe(oldKid)
      expect(Date.parse(signsFrom)).toBe(rotatedAt + PREPUBLISH_MS)
      expect(PREPUBLISH_MS).toBeGreaterThan(JWKS_MAX_AGE_SECONDS * 1000)
      // In the JWKS at once; no token carries its kid until the JWKS's max-age has passed.
      expect((await tokens.jwks()).keys.map((key) => key.kid)).toEqual([kid, oldKid])
      expect((await tokens.signingKeys()).slice(0, 2)).toMatchObject([
        { kid, current: false, next: true, published: true, signsFrom },
        { kid: oldKid, current: true, next: false, retiredAt: signsFrom },
      ])
      for (const wait of [3_001, 60_000, PREPUBLISH_MS - 63_002]) {
        now += wait
        expect(decodeProtectedHeader(await tokens.issue(input)).kid).toBe(oldKid)
        expect(decodeProtectedHeader(await other.issue(input)).kid).toBe(oldKid)
      }
      expect(now).toBe(rotatedAt + PREPUBLISH_MS - 1)
      now += 1 // the moment it signs: both processes switch then, by themselves
      const newToken = await tokens.issue(input)
      expect(decodeProtectedHeader(newToken).kid).toBe(kid)
      expect(decodeProtectedHeader(await other.issue(input)).kid).toBe(kid)
      expect((await tokens.signingKeys()).slice(0, 2)).toMatchObject([
        { kid, current: true, next: false },
        { kid: oldKid, current: false, published: true },
      ])
      const jwks = createLocalJWKSet(await tokens.jwks())
      await expect(jwtVerify(oldToken, jwks, { currentDate: new Date(now) })).resolves.toBeDefined()
      now += 11 * 60_000
      const kids = (await tokens.jwks()).keys.map((key) => key.kid)
      expect(kids).toEqual([kid])
    })

    it('withdraws a key at once: out of the JWKS and refused by redeem; the signing key only with its successor', async () => {
      const signing = decodeProtectedHeader(await tokens.issue(input)).kid as string
      const retiring = await tokens.issue(input)
      now += 1_000
      const { kid: next } = await tokens.rotate({ now: true })
      now += 1_000
      // A retired key, still published for its tokens: withdrawn alone, no new key needed.
      expect((await tokens.jwks()).keys.map((k) => k.kid)).toEqual([next, signing])
      expect((await tokens.redeem(retiring, 'prj_a', 'live')).valid).toBe(true)
      const stillValid = await tokens.issue(input)
      const keys = await tokens.signingKeys()
      expect(keys.filter((k) => k.kid === next || k.kid === signing)).toMatchObject([
        { kid: next, current: true, published: true, withdrawnAt: null },
        { kid: signing, current: false, published: true, withdrawnAt: null },
      ])
      // The key that signs now: refused without a successor made in the same step.
      await expect(tokens.withdraw(next)).rejects.toMatchObject({ code: 'in_use' })
      await expect(tokens.withdraw('2026-01-01_nosuchkey')).rejects.toMatchObject({
        code: 'not_found',
      })
      const withdrawn = await tokens.withdraw(next, { rotate: true })
      expect(withdrawn).toMatchObject({ withdrawn: true, key: { kid: next, published: false } })
      expect(withdrawn.newKid).toBe(withdrawn.currentKid)
      expect(withdrawn.currentKid).not.toBe(next)
      // Gone from the JWKS at once (not after its tokens' 11 minutes), its tokens refused, and
      // this process signs with the new key from now on.
      expect((await tokens.jwks()).keys.map((k) => k.kid)).toEqual([withdrawn.currentKid, signing])
      expect(await tokens.redeem(stillValid, 'prj_a', 'live')).toEqual({
        valid: false,
        reason: 'invalid_token',
      })
      expect(decodeProtectedHeader(await tokens.issue(input)).kid).toBe(withdrawn.currentKid)
      // A retired key alone; a second call changes nothing.
      expect((await tokens.withdraw(signing)).withdrawn).toBe(true)
      expect(await tokens.withdraw(signing)).toMatchObject({
        withdrawn: false,
        reason: 'already_withdrawn',
        newKid: null,
      })
      expect((await tokens.jwks()).keys.map((k) => k.kid)).toEqual([withdrawn.currentKid])
      const rows = await storage.db
        .selectFrom('signing_keys')
        .select('kid')
        .where('retired_at', 'is', null)
        .execute()
      expect(rows).toEqual([{ kid: withdrawn.currentKid }])
    })

    it('withdraws with a next key waiting: the signing key alone (the next signs now), or the next (the rotation cancelled)', async () => {
      const fresh = await createTestStorage(dialect)
      const a = createTokenService({ db: fresh.db, encryptionKey, issuer: ISSUER, now: clock })
      const b = createTokenService({ db: fresh.db, encryptionKey, issuer: ISSUER, now: clock })
      const { kid: first } = await a.ensureSigningKey()
      const kidOf = async (service: TokenService) =>
        decodeProtectedHeader(await service.issue(input)).kid
      expect(await kidOf(b)).toBe(first)
      // The signing key leaks while a rotation waits: withdrawn alone, the next key takes over.
      const { kid: second } = await a.rotate()
      now += 1_000
      const swapped = await a.withdraw(first)
      expect(swapped).toMatchObject({ withdrawn: true, currentKid: second, newKid: null })
      expect(await kidOf(a)).toBe(second)
      now += 3_001 // another process within its recheck, as after any withdrawal
      expect(await kidOf(b)).toBe(second)
      expect((await a.jwks()).keys.map((k) => k.kid)).toEqual([second])
      // The next key leaks before it signs: the rotation is cancelled, the signing key stays,
      // long past the moment the next one would have started.
      const { kid: third } = await a.rotate()
      expect((await a.jwks()).keys.map((k) => k.kid)).toEqual([third, second])
      const cancelled = await b.withdraw(third)
      expect(cancelled).toMatchObject({ withdrawn: true, currentKid: second, newKid: null })
      expect((await a.jwks()).keys.map((k) => k.kid)).toEqual([second])
      now += PREPUBLISH_MS + 60_000
      expect(await kidOf(a)).toBe(second)
      expect(await kidOf(b)).toBe(second)
      // A rotation, then another before the first signs: the newest is next, the first signs in
      // between; `now` switches at once and takes the waiting key's place.
      const { kid: fourth } = await a.rotate()
      now += 60_000
      const fifth = await b.rotate()
      expect(fifth).toMatchObject({ retiredKid: second, replacedNextKid: fourth })
      now += PREPUBLISH_MS - 60_000
      expect(await kidOf(a)).toBe(fourth)
      const sixth = await a.rotate({ now: true })
      expect(sixth).toMatchObject({ retiredKid: fourth, replacedNextKid: fifth.kid })
      expect(await kidOf(a)).toBe(sixth.kid)
      now += 3_001
      expect(await kidOf(b)).toBe(sixth.kid)
      now += PREPUBLISH_MS
      expect(await kidOf(b)).toBe(sixth.kid)
      const keys = await a.signingKeys()
      expect(keys.filter((k) => k.current).map((k) => k.kid)).toEqual([sixth.kid])
      expect(keys.filter((k) => k.next)).toEqual([])
      // With no next key the signing key is withdrawn only with a new one, as before.
      await expect(a.withdraw(sixth.kid)).rejects.toMatchObject({ code: 'in_use' })
      await fresh.dispose()
    })

    it('lets one of two processes changing the signing key at once win, and says so to the other', async () => {
      // On PostgreSQL the loser's update waits for the winner's, then finds no key to retire
      // and its insert met the one-current-key index: a 500 and a crashed command before.
      const fresh = await createTestStorage(dialect)
      const a = createTokenService({ db: fresh.db, encryptionKey, issuer: ISSUER })
      const b = createTokenService({ db: fresh.db, encryptionKey, issuer: ISSUER })
      await a.ensureSigningKey()
      const currentKids = async () =>
        (await a.signingKeys()).filter((k) => k.current).map((k) => k.kid)
      for (let round = 0; round < 8; round++) {
        const [signing] = await currentKids()
        const [rotated, withdrawn] = await Promise.allSettled([
          a.rotate(),
          b.withdraw(signing as string, { rotate: true }),
        ])
        // A withdrawal is for a leaked key: it happens whoever made the next key first.
        expect(withdrawn).toMatchObject({ status: 'fulfilled', value: { withdrawn: true } })
        const [now] = await currentKids()
        if (rotated.status === 'rejected') {
          expect(rotated.reason).toMatchObject({ code: 'changed', currentKid: now })
        }
        expect(await currentKids()).toHaveLength(1)
        const keys = await a.signingKeys()
        expect(keys.find((k) => k.kid === signing)?.withdrawnAt).not.toBeNull()
      }
      for (let round = 0; round < 8; round++) {
        const results = await Promise.allSettled([a.rotate(), b.rotate()])
        const [now] = await currentKids()
        for (const result of results) {
          if (result.status === 'fulfilled') continue
          expect(result.reason).toMatchObject({ code: 'changed', currentKid: now })
          expect(String(result.reason.message)).toContain(`${now} signs now`)
        }
        expect(results.some((r) => r.status === 'fulfilled')).toBe(true)
        expect(await currentKids()).toHaveLength(1)
      }
      await fresh.dispose()
    })

    it('redeems once; wrong project, tampered and expired tokens are refused', async () => {
      const token = await tokens.issue(input)
      expect(await tokens.redeem(token, 'prj_other', 'live')).toEqual({
        valid: false,
        reason: 'wrong_project',
      })
      const [h, p, s] = token.split('.') as [string, string, string]
      const tampered = `${h}.${p.slice(0, -2)}${p.at(-2) === 'A' ? 'B' : 'A'}${p.at(-1)}.${s}`
      expect(await tokens.redeem(tampered, 'prj_a', 'live')).toEqual({
        valid: false,
        reason: 'invalid_token',
      })
      expect(await tokens.redeem('garbage', 'prj_a', 'live')).toEqual({
        valid: false,
        reason: 'invalid_token',
      })
      const first = await tokens.redeem(token, 'prj_a', 'live')
      expect(first).toMatchObject({ valid: true, claims: { sub: 'ver_1' } })
      expect(await tokens.redeem(token, 'prj_a', 'live')).toEqual({
        valid: false,
        reason: 'already_redeemed',
      })
      const late = await tokens.issue(input)
      now += 601_000
      expect(await tokens.redeem(late, 'prj_a', 'live')).toEqual({
        valid: false,
        reason: 'expired',
      })
    })

    it('redeems a token only as it was issued, not respelled in lenient base64url', async () => {
      // Found attacking a real server: the signature with "==" after it, a space inside, or its
      // last character's unused bits set redeemed (and verified) as the token itself.
      const token = await tokens.issue(input)
      for (const respelled of respellings(token)) {
        expect([respelled, await tokens.redeem(respelled, 'prj_a', 'live')]).toEqual([
          respelled,
          { valid: false, reason: 'invalid_token' },
        ])
      }
      expect(await tokens.redeem(token, 'prj_a', 'live')).toMatchObject({ valid: true })
    })

    it('marks a test token in its mode claim and its audience, and redeems it only with a test key', async () => {
      const token = await tokens.issue({ ...input, verificationId: 'ver_t', mode: 'test' })
      expect(decodeJwt(token)).toMatchObject({ aud: 'prj_a:test', mode: 'test' })
      // A store that checks only iss and aud with a generic JWT library refuses it.
      const jwks = createLocalJWKSet(await tokens.jwks())
      await expect(
        jwtVerify(token, jwks, { issuer: ISSUER, audience: 'prj_a', currentDate: new Date(now) }),
      ).rejects.toThrow(/aud/)
      expect(await tokens.redeem(token, 'prj_a', 'live')).toEqual({
        valid: false,
        reason: 'wrong_mode',
      })
      const live = await tokens.issue({ ...input, verificationId: 'ver_l' })
      expect(await tokens.redeem(live, 'prj_a', 'test')).toEqual({
        valid: false,
        reason: 'wrong_mode',
      })
      // Refused ones stay unredeemed: the right key still redeems them once.
      expect(await tokens.redeem(token, 'prj_a', 'test')).toMatchObject({
        valid: true,
        claims: { mode: 'test', aud: 'prj_a:test' },
      })
      expect(await tokens.redeem(live, 'prj_a', 'live')).toMatchObject({ valid: true })
    })

    it('lets exactly one of many concurrent redeems win', async () => {
      const token = await tokens.issue(input)
      const results = await Promise.all(
        Array.from({ length: 20 }, () => tokens.redeem(token, 'prj_a', 'live')),
      )
      expect(results.filter((r) => r.valid)).toHaveLength(1)
      expect(results.filter((r) => !r.valid && r.reason === 'already_redeemed')).toHaveLength(19)
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`verifyPhoneToken (store servers, ${dialect})`, () => {
    let storage: TestStorage
    let tokens: TokenService
    let server: Server
    let issuer: string
    let jwksRequests = 0
    let strangerStorage: TestStorage | undefined

    beforeAll(async () => {
      ;({ storage, tokens, issuer, server } = await startJwksIssuer(dialect, () => jwksRequests++))
    })
    afterAll(async () => {
      server.close()
      await storage.dispose()
      await strangerStorage?.dispose()
    })

    it('returns the claims of a valid token, fetching the JWKS once', async () => {
      const before = jwksRequests
      for (let i = 0; i < 3; i++) {
        const claims = await verifyPhoneToken(await tokens.issue(input), {
          issuer,
          audience: 'prj_a',
        })
        expect(claims.phone_number).toBe('+447400123123')
      }
      expect(jwksRequests - before).toBe(1)
    })

    it('refuses tokens it must not trust, each with its own code', async () => {
      const token = await tokens.issue(input)
      expect(await codeOf(verifyPhoneToken(token, { issuer, audience: 'prj_b' }))).toBe(
        'wrong_audience',
      )
      expect(
        await codeOf(
          verifyPhoneToken(token, {
            issuer: 'https://evil.example',
            audience: 'prj_a',
            jwksUrl: `${issuer}/.well-known/jwks.json`,
          }),
        ),
      ).toBe('wrong_issuer')
      const [h, p, s] = token.split('.') as [string, string, string]
      expect(await codeOf(verifyPhoneToken(`${h}.${p}x.${s}`, { issuer, audience: 'prj_a' }))).toBe(
        'invalid_token',
      )
      expect(await codeOf(verifyPhoneToken('', { issuer, audience: 'prj_a' }))).toBe(
        'invalid_token',
      )
      expect(await codeOf(verifyPhoneToken(undefined, { issuer, audience: 'prj_a' }))).toBe(
        'invalid_token',
      )
      strangerStorage = await createTestStorage(dialect)
      const stranger = createTokenService({
        db: strangerStorage.db,
        encryptionKey,
        issuer,
      })
      await stranger.ensureSigningKey()
      expect(
        await codeOf(verifyPhoneToken(await stranger.issue(input), { issuer, audience: 'prj_a' })),
      ).toBe('unknown_key')
      const expiring = createTokenService({
        db: storage.db,
        encryptionKey,
        issuer,
        now: () => Date.now() - 700_000,
      })
      expect(
        await codeOf(verifyPhoneToken(await expiring.issue(input), { issuer, audience: 'prj_a' })),
      ).toBe('expired')
      expect(
        await codeOf(verifyPhoneToken(token, { issuer: 'http://127.0.0.1:1', audience: 'prj_a' })),
      ).toBe('jwks_unreachable')
    })

    it('refuses a token respelled in lenient base64url, which jose alone verifies', async () => {
      const token = await tokens.issue(input)
      const keys = createLocalJWKSet(await tokens.jwks())
      for (const respelled of respellings(token).slice(0, 3)) {
        // The forger's premise: a plain jose verify takes it.
        await expect(jwtVerify(respelled, keys, { issuer })).resolves.toBeDefined()
        expect([
          respelled,
          await codeOf(verifyPhoneToken(respelled, { issuer, audience: 'prj_a' })),
        ]).toEqual([respelled, 'invalid_token'])
      }
      expect(await codeOf(verifyPhoneToken(token, { issuer, audience: 'prj_a' }))).toBe('ok')
    })

    it('says jwks_unreachable, not invalid_token, when the JWKS answers an HTTP error or not JSON', async () => {
      // Found attacking a real set-up: Textgate down behind a proxy (502) made every shopper's
      // token "invalid_token", and the demo store asked them to verify again.
      const token = await tokens.issue(input)
      for (const [status, type, body] of [
        [502, 'text/html', '<html>Bad gateway</html>'],
        [503, 'application/json', '{"error":{"code":"unavailable"}}'],
        [200, 'text/html', '<html>maintenance</html>'],
      ] as const) {
        const down = createServer((_req, res) =>
          res.writeHead(status, { 'content-type': type }).end(body),
        )
        await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve))
        try {
          const jwksUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}/.well-known/jwks.json`
          expect([
            status,
            await codeOf(verifyPhoneToken(token, { issuer, audience: 'prj_a', jwksUrl })),
          ]).toEqual([status, 'jwks_unreachable'])
          // The same with the store's own remote key set.
          const own = createRemoteJWKSet(new URL(jwksUrl))
          expect([
            status,
            await codeOf(verifyPhoneTokenWithKeys(token, own, { issuer, audience: 'prj_a' })),
          ]).toEqual([status, 'jwks_unreachable'])
        } finally {
          down.close()
        }
      }
    })

    it('refuses test tokens unless the store opts in with allowTestMode', async () => {
      const token = await tokens.issue({ ...input, mode: 'test' })
      expect(await codeOf(verifyPhoneToken(token, { issuer, audience: 'prj_a' }))).toBe('test_mode')
      expect(
        await codeOf(verifyPhoneToken(token, { issuer, audience: 'prj_a', allowTestMode: false })),
      ).toBe('test_mode')
      const claims = await verifyPhoneToken(token, {
        issuer,
        audience: 'prj_a',
        allowTestMode: true,
      })
      expect(claims).toMatchObject({ mode: 'test', aud: 'prj_a:test' })
      // Opting in to test tokens does not open the door to another project's.
      expect(
        await codeOf(verifyPhoneToken(token, { issuer, audience: 'prj_b', allowTestMode: true })),
      ).toBe('wrong_audience')
      const live = await tokens.issue(input)
      expect(
        await verifyPhoneToken(live, { issuer, audience: 'prj_a', allowTestMode: true }),
      ).toMatchObject({ mode: 'live', aud: 'prj_a' })
    })

    it('throws at call time when the issuer or the audience is missing or empty', async () => {
      const token = await tokens.issue(input)
      const bad: unknown[] = [undefined, null, '', '   ', 42]
      for (const value of bad) {
        await expect(
          verifyPhoneToken(token, { issuer, audience: value as string }),
        ).rejects.toThrow(/options\.audience must be a non-empty string/)
        await expect(
          verifyPhoneToken(token, { issuer: value as string, audience: 'prj_a' }),
        ).rejects.toThrow(/options\.issuer must be a non-empty string/)
        await expect(
          verifyPhoneTokenWithKeys(token, createLocalJWKSet(await tokens.jwks()), {
            issuer,
            audience: value as string,
          }),
        ).rejects.toThrow(TypeError)
      }
    })

    it('throws when allowTestMode or clockToleranceSeconds is not what it says (a string from the environment)', async () => {
      // Found by attacking a real server: allowTestMode: process.env.X = "false" is truthy, and
      // a sandbox-made test token passed as live.
      const test = await tokens.issue({ ...input, mode: 'test' })
      for (const value of ['false', '0', 'no', 1, null]) {
        await expect(
          verifyPhoneToken(test, {
            issuer,
            audience: 'prj_a',
            allowTestMode: value as unknown as boolean,
          }),
        ).rejects.toThrow(/options\.allowTestMode must be true or false/)
      }
      // jose reads a string as a duration: "3h" let a 3-hour-old token through.
      const old = createTokenService({
        db: storage.db,
        encryptionKey,
        issuer,
        now: () => Date.now() - 3 * 3600_000,
      })
      const expired = await old.issue(input)
      for (const value of ['3h', '30', Number.NaN, -1, 61, Number.POSITIVE_INFINITY]) {
        await expect(
          verifyPhoneToken(expired, {
            issuer,
            audience: 'prj_a',
            clockToleranceSeconds: value as number,
          }),
        ).rejects.toThrow(/options\.clockToleranceSeconds must be a number of seconds from 0 to 60/)
      }
      expect(
        await codeOf(
          verifyPhoneToken(expired, { issuer, audience: 'prj_a', clockToleranceSeconds: 60 }),
        ),
      ).toBe('expired')
    })

    it('refuses tokens signed with our key that lack aud, iss, sub, jti, exp or mode, or mix modes', async () => {
      const row = await storage.db
        .selectFrom('signing_keys')
        .selectAll()
        .where('retired_at', 'is', null)
        .executeTakeFirstOrThrow()
      const key = await importPKCS8(decrypt(encryptionKey, row.private_key_encrypted), row.alg)
      const iat = Math.floor(Date.now() / 1000)
      const full: Record<string, unknown> = {
        iss: issuer,
        aud: 'prj_a',
        sub: 'ver_1',
        jti: 'j1',
        iat,
        exp: iat + 600,
        mode: 'live',
        phone_number: '+447400123123',
        phone_number_verified: true,
        consent: { version: 'v1', at: iat },
        amr: ['sms'],
      }
      const sign = (claims: Record<string, unknown>) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: row.alg, kid: row.kid, typ: 'textgate-verification+jwt' })
          .sign(key)
      // The forger's tool works: the full set passes.
      expect(await codeOf(verifyPhoneToken(await sign(full), { issuer, audience: 'prj_a' }))).toBe(
        'ok',
      )
      for (const claim of ['aud', 'iss', 'sub', 'jti', 'exp', 'mode']) {
        const { [claim]: _dropped, ...rest } = full
        const code = await codeOf(verifyPhoneToken(await sign(rest), { issuer, audience: 'prj_a' }))
        expect([claim, code]).toEqual([claim, expect.stringMatching(/invalid_token|wrong_/)])
      }
      // A live mode claim under the test audience, or the reverse, is nobody's token.
      for (const mixed of [
        { ...full, aud: 'prj_a:test' },
        { ...full, mode: 'test' },
      ]) {
        const code = await codeOf(
          verifyPhoneToken(await sign(mixed), { issuer, audience: 'prj_a', allowTestMode: true }),
        )
        expect(code).toBe('invalid_token')
      }
    })
  })

  describe(`one issuer however written (${dialect})`, () => {
    let storage: TestStorage
    let tokens: TokenService
    let server: Server
    let issuer: string

    beforeAll(async () => {
      ;({ storage, tokens, issuer, server } = await startJwksIssuer(dialect, () => {}))
    })
    afterAll(async () => {
      server.close()
      await storage.dispose()
    })

    it('signs PUBLIC_URL normalised, and verifies and redeems tokens whose iss or setting is spelt another way', async () => {
      // The server names itself in one spelling, whatever PUBLIC_URL's.
      const odd = createTokenService({
        db: storage.db,
        encryptionKey,
        issuer: 'HTTPS://Verify.Example:443/',
      })
      expect(decodeJwt(await odd.issue(input)).iss).toBe('https://verify.example')
      // A store that writes the issuer another way (upper case, a trailing slash) verifies.
      const spelt = `${issuer.toUpperCase()}/`
      expect(
        await codeOf(
          verifyPhoneToken(await tokens.issue(input), { issuer: spelt, audience: 'prj_a' }),
        ),
      ).toBe('ok')
      // A token a server signed before PUBLIC_URL was normalised (iss as configured) stays valid
      // for its 10 minutes, at the store and at redeem.
      const row = await storage.db
        .selectFrom('signing_keys')
        .selectAll()
        .where('retired_at', 'is', null)
        .executeTakeFirstOrThrow()
      const key = await importPKCS8(decrypt(encryptionKey, row.private_key_encrypted), row.alg)
      const iat = Math.floor(Date.now() / 1000)
      const sign = (iss: string, jti: string) =>
        new SignJWT({
          iss,
          aud: 'prj_a',
          sub: 'ver_1',
          jti,
          iat,
          exp: iat + 600,
          mode: 'live',
          phone_number: '+447400123123',
          phone_number_verified: true,
          consent: { version: 'v1', at: iat },
          amr: ['sms'],
        })
          .setProtectedHeader({ alg: row.alg, kid: row.kid, typ: 'textgate-verification+jwt' })
          .sign(key)
      const before = await sign(issuer.replace('http://', 'HTTP://'), 'j-old-spelling')
      expect(await codeOf(verifyPhoneToken(before, { issuer, audience: 'prj_a' }))).toBe('ok')
      expect(await tokens.redeem(before, 'prj_a', 'live')).toMatchObject({ valid: true })
      // Another issuer is still another issuer.
      const elsewhere = await sign(`${issuer}/other`, 'j-elsewhere')
      expect(await codeOf(verifyPhoneToken(elsewhere, { issuer, audience: 'prj_a' }))).toBe(
        'wrong_issuer',
      )
      expect(await tokens.redeem(elsewhere, 'prj_a', 'live')).toEqual({
        valid: false,
        reason: 'invalid_token',
      })
    })
  })
}
