import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PhoneTokenError, verifyPhoneToken } from '@textgate/shared/verify'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deriveSecrets } from '../secrets'
import { createTestStorage, DIALECTS, type TestStorage } from '../storage/testing'
import { createTokenService, type TokenService } from './index'

const { encryptionKey } = deriveSecrets('token-test-secret-that-is-long-enough!')
const ISSUER = 'https://verify.example'
const input = {
  projectId: 'prj_a',
  verificationId: 'ver_1',
  phone: '+447400123123',
  consent: { version: 'tos-3', at: Date.parse('2026-11-25T12:00:00Z') },
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
        'phone_number',
        'phone_number_verified',
        'sub',
      ])
      expect(claims).toMatchObject({
        iss: ISSUER,
        aud: 'prj_a',
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

    it('rotates: new tokens use the new key, old tokens verify until they expire', async () => {
      const oldToken = await tokens.issue(input)
      const oldKid = decodeProtectedHeader(oldToken).kid
      const other = createTokenService({
        db: storage.db,
        encryptionKey,
        issuer: ISSUER,
        now: clock,
      })
      const { kid, retiredKid } = await other.rotate()
      expect(retiredKid).toBe(oldKid)
      now += 3_001 // another process picks up the rotation within seconds
      const newToken = await tokens.issue(input)
      expect(decodeProtectedHeader(newToken).kid).toBe(kid)
      const jwks = createLocalJWKSet(await tokens.jwks())
      await expect(jwtVerify(oldToken, jwks, { currentDate: new Date(now) })).resolves.toBeDefined()
      now += 11 * 60_000
      const kids = (await tokens.jwks()).keys.map((key) => key.kid)
      expect(kids).toEqual([kid])
    })

    it('redeems once; wrong project, tampered and expired tokens are refused', async () => {
      const token = await tokens.issue(input)
      expect(await tokens.redeem(token, 'prj_other')).toEqual({
        valid: false,
        reason: 'wrong_project',
      })
      const [h, p, s] = token.split('.') as [string, string, string]
      const tampered = `${h}.${p.slice(0, -2)}${p.at(-2) === 'A' ? 'B' : 'A'}${p.at(-1)}.${s}`
      expect(await tokens.redeem(tampered, 'prj_a')).toEqual({
        valid: false,
        reason: 'invalid_token',
      })
      expect(await tokens.redeem('garbage', 'prj_a')).toEqual({
        valid: false,
        reason: 'invalid_token',
      })
      const first = await tokens.redeem(token, 'prj_a')
      expect(first).toMatchObject({ valid: true, claims: { sub: 'ver_1' } })
      expect(await tokens.redeem(token, 'prj_a')).toEqual({
        valid: false,
        reason: 'already_redeemed',
      })
      const late = await tokens.issue(input)
      now += 601_000
      expect(await tokens.redeem(late, 'prj_a')).toEqual({ valid: false, reason: 'expired' })
    })

    it('lets exactly one of many concurrent redeems win', async () => {
      const token = await tokens.issue(input)
      const results = await Promise.all(
        Array.from({ length: 20 }, () => tokens.redeem(token, 'prj_a')),
      )
      expect(results.filter((r) => r.valid)).toHaveLength(1)
      expect(results.filter((r) => !r.valid && r.reason === 'already_redeemed')).toHaveLength(19)
    })
  })
}

describe('verifyPhoneToken (store servers)', () => {
  let storage: TestStorage
  let tokens: TokenService
  let server: Server
  let issuer: string
  let jwksRequests = 0

  beforeAll(async () => {
    storage = await createTestStorage('sqlite')
    server = createServer(async (req, res) => {
      jwksRequests++
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end()
        return
      }
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify(await tokens.jwks()))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    tokens = createTokenService({ db: storage.db, encryptionKey, issuer })
    await tokens.ensureSigningKey()
  })
  afterAll(async () => {
    server.close()
    await storage.dispose()
  })

  const codeOf = async (promise: Promise<unknown>) => {
    try {
      await promise
      return 'ok'
    } catch (error) {
      return error instanceof PhoneTokenError ? error.code : `unexpected: ${String(error)}`
    }
  }

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
    expect(await codeOf(verifyPhoneToken('', { issuer, audience: 'prj_a' }))).toBe('invalid_token')
    expect(await codeOf(verifyPhoneToken(undefined, { issuer, audience: 'prj_a' }))).toBe(
      'invalid_token',
    )
    const stranger = createTokenService({
      db: (await createTestStorage('sqlite')).db,
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
})
