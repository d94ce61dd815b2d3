import { createHash, generateKeyPairSync } from 'node:crypto'
import { isoCBOR } from '@simplewebauthn/server/helpers'
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

/**
 * A registration response as an authenticator without attestation (`fmt: "none"`) gives it: a
 * real P-256 public key under `credentialId`, for the challenge and origin of the options.
 */
function noneAttestation(options: { challenge: string; rp: { id: string } }, credentialId: Buffer) {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const coseKey = new Map<number, number | Uint8Array>([
    [1, 2],
    [3, -7],
    [-1, 1],
    [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
    [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
  ])
  const length = Buffer.alloc(2)
  length.writeUInt16BE(credentialId.length)
  const authData = Buffer.concat([
    createHash('sha256').update(options.rp.id).digest(),
    Buffer.from([0x41]), // user present, attested credential data
    Buffer.alloc(4),
    Buffer.alloc(16), // AAGUID
    length,
    credentialId,
    Buffer.from(isoCBOR.encode(coseKey)),
  ])
  const attestationObject = isoCBOR.encode(
    new Map<string, unknown>([
      ['fmt', 'none'],
      ['attStmt', new Map()],
      ['authData', new Uint8Array(authData)],
    ]) as never,
  )
  const clientData = {
    type: 'webauthn.create',
    challenge: options.challenge,
    origin: `http://${options.rp.id}:8787`,
  }
  const id = credentialId.toString('base64url')
  return {
    id,
    rawId: id,
    type: 'public-key',
    response: {
      clientDataJSON: Buffer.from(JSON.stringify(clientData)).toString('base64url'),
      attestationObject: Buffer.from(attestationObject).toString('base64url'),
      transports: ['internal'],
    },
    clientExtensionResults: {},
  }
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

    it('answers 409 passkey_exists to a credential id that is already registered', async () => {
      const credentialId = Buffer.from('a credential registered once')
      const register = async (client: Awaited<ReturnType<typeof login>>, name: string) => {
        const { json } = await client.call('POST', '/passkeys/options')
        return client.call('POST', '/passkeys', {
          body: { name, response: noneAttestation(json.options, credentialId) },
        })
      }
      const mine = await login(h, owner)
      const first = await register(mine, 'Laptop')
      expect(first.status).toBe(201)
      // The same credential again, by its owner and by another operator: a clear conflict,
      // not a 500 from the unique constraint, and nothing stored twice.
      for (const client of [mine, await login(h, other)]) {
        const again = await register(client, 'Again')
        expect(again.status).toBe(409)
        expect(again.json.error).toMatchObject({
          code: 'passkey_exists',
          message: 'This passkey is already registered.',
        })
      }
      const stored = await h.db
        .selectFrom('operator_passkeys')
        .select(['operator_id', 'name'])
        .where('credential_id', '=', credentialId.toString('base64url'))
        .execute()
      expect(stored).toEqual([{ operator_id: owner.id, name: 'Laptop' }])
      await h.db.deleteFrom('operator_passkeys').where('id', '=', first.json.id).execute()
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
