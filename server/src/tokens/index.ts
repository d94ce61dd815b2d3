/**
 * Phone tokens: signing keys (created on first start, private halves encrypted at rest,
 * rotated by `pnpm textgate keys rotate`, withdrawn at once when compromised by `keys withdraw`),
 * the JWKS, issuing and one-time redemption.
 * @module
 */
import { createPrivateKey, type KeyObject, randomBytes, sign } from 'node:crypto'
import {
  isCanonicalCompactJws,
  normaliseIssuer,
  PHONE_TOKEN_TYPE,
  type PhoneTokenClaims,
  PhoneTokenClaims as PhoneTokenClaimsSchema,
  type RedeemTokenResponse,
  tokenAudience,
} from '@textgate/shared'
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  errors,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
} from 'jose'
import type { Kysely, Transaction } from 'kysely'
import type { Logger } from 'pino'
import * as v from 'valibot'
import { decrypt, encrypt } from '../secrets'
import type { Database, KeyMode, SigningKey } from '../storage'
import { withFields } from '../with-fields'

export type SigningAlgorithm = 'EdDSA' | 'ES256'

/**
 * The issuer jwtVerify is to require: the token's own `iss` when it is `expected` written
 * another way, else `expected`. The signature covers `iss` either way.
 */
function claimedIssuer(token: string, expected: string): string {
  try {
    const { iss } = decodeJwt(token)
    if (typeof iss === 'string' && normaliseIssuer(iss) === expected) return iss
  } catch {
    // Not a JWT: jwtVerify refuses it.
  }
  return expected
}

/** DESIGN.md: `exp` is 10 minutes at most. */
export const MAX_TOKEN_TTL_SECONDS = 600
/** Clock skew allowed to store servers, so a retired key stays published a little longer. */
const JWKS_LEEWAY_MS = 60_000
/** How often a running server looks for a key rotated by another process. */
const CURRENT_KEY_RECHECK_MS = 3_000

export interface TokenServiceOptions {
  db: Kysely<Database>
  encryptionKey: Buffer
  /** The server's public URL: the `iss` claim. */
  issuer: string
  alg?: SigningAlgorithm
  ttlSeconds?: number
  now?: () => number
}

export interface IssueTokenInput {
  projectId: string
  verificationId: string
  /** The verification's mode: a test token says so in `mode` and in its `aud`. */
  mode: KeyMode
  /** E.164. */
  phone: string
  /** `at` in epoch milliseconds. */
  consent: { version: string; at: number }
}

/** A signing key as operators see it (its public half only). */
export interface SigningKeySummary {
  kid: string
  alg: SigningAlgorithm
  createdAt: string
  /** When it stopped signing; null for the key that signs now. */
  retiredAt: string | null
  withdrawnAt: string | null
  /** It signs new tokens. */
  current: boolean
  /** It is in the JWKS now (the current key, and retired keys until their tokens expired). */
  published: boolean
}

export type WithdrawResult = {
  key: SigningKeySummary
  /** The key that signs now. */
  currentKid: string
  /** The key made in the same step (`rotate`), or null. */
  newKid: string | null
} & ({ withdrawn: true } | { withdrawn: false; reason: 'already_withdrawn' })

export class SigningKeyError extends Error {
  constructor(
    /**
     * `not_found`: no such kid; `in_use`: it signs now and no new key was asked for;
     * `changed`: another rotation or withdrawal made a new signing key at the same moment
     * (`currentKid` signs now), so this rotation changed nothing.
     */
    readonly code: 'not_found' | 'in_use' | 'changed',
    message: string,
    readonly currentKid?: string,
  ) {
    super(`[textgate] [tokens] ${message}`)
    this.name = 'SigningKeyError'
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString())

interface CurrentKey {
  kid: string
  alg: SigningAlgorithm
  privateKey: KeyObject
  checkedAt: number
}

const base64urlJson = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * A JWS in compact serialization (RFC 7515 §7.1) signed with node:crypto on the spot. jose's
 * SignJWT signs through WebCrypto, a job on libuv's thread pool and a hop back: 110–120 µs of
 * CPU a token here against 52–63 µs for this (measured side by side, Ed25519). Tokens are
 * verified with jose, by this server's redeem and by the store's helper.
 */
function signCompact(header: Record<string, unknown>, payload: object, key: CurrentKey): string {
  const input = `${base64urlJson(header)}.${base64urlJson(payload)}`
  // EdDSA hashes inside the algorithm; ES256 signs SHA-256 as r‖s (JWA §3.4), not DER.
  const signature = sign(key.alg === 'ES256' ? 'sha256' : null, Buffer.from(input), {
    key: key.privateKey,
    dsaEncoding: 'ieee-p1363',
  })
  return `${input}.${signature.toString('base64url')}`
}

/**
 * @example
 * const tokens = createTokenService({ db, encryptionKey, issuer: 'https://verify.example' })
 * await tokens.ensureSigningKey()
 * const token = await tokens.issue({ projectId, verificationId, mode: 'live', phone, consent })
 */
export function createTokenService({
  db,
  encryptionKey,
  issuer: configuredIssuer,
  alg = 'EdDSA',
  ttlSeconds = MAX_TOKEN_TTL_SECONDS,
  now = Date.now,
}: TokenServiceOptions) {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    throw new Error(`[textgate] [tokens] ttlSeconds must be 1 to ${MAX_TOKEN_TTL_SECONDS}`)
  }
  const ttlMs = ttlSeconds * 1000
  // Tokens name the issuer in one spelling (lower-case host, no default port, no trailing slash).
  const issuer = normaliseIssuer(configuredIssuer)
  let current: CurrentKey | undefined

  async function newKeyRow(at: number): Promise<SigningKey> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
    const jwk = await exportJWK(publicKey)
    const kid = `${new Date(at).toISOString().slice(0, 10)}_${(await calculateJwkThumbprint(jwk)).slice(0, 16)}`
    return {
      kid,
      alg,
      public_jwk: JSON.stringify(withFields(jwk, { kid, alg, use: 'sig' })),
      private_key_encrypted: encrypt(encryptionKey, await exportPKCS8(privateKey)),
      created_at: at,
      retired_at: null,
      withdrawn_at: null,
    }
  }

  /** Still in the JWKS at `at`: not withdrawn, and current or retired within a token's life. */
  const isPublished = (row: Pick<SigningKey, 'retired_at' | 'withdrawn_at'>, at: number) =>
    row.withdrawn_at === null &&
    (row.retired_at === null || Number(row.retired_at) > at - ttlMs - JWKS_LEEWAY_MS)

  /** The one unretired key. */
  async function currentRow(): Promise<SigningKey | undefined> {
    return db
      .selectFrom('signing_keys')
      .selectAll()
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'asc')
      .orderBy('kid', 'asc')
      .limit(1)
      .executeTakeFirst()
  }

  async function load(row: SigningKey, at: number): Promise<CurrentKey> {
    const pkcs8 = decrypt(encryptionKey, row.private_key_encrypted)
    return {
      kid: row.kid,
      alg: row.alg,
      privateKey: createPrivateKey(pkcs8),
      checkedAt: at,
    }
  }

  async function currentKey(): Promise<CurrentKey> {
    const at = now()
    if (current && at - current.checkedAt < CURRENT_KEY_RECHECK_MS) return current
    const row = await currentRow()
    if (!row) throw new Error('[textgate] [tokens] no signing key: call ensureSigningKey() first')
    current =
      current?.kid === row.kid ? withFields(current, { checkedAt: at }) : await load(row, at)
    return current
  }

  /**
   * In `trx`: retires the key that signs and makes `row` the one. False when another process's
   * rotation or withdrawal made its own new key at the same moment: on PostgreSQL our update
   * waited for theirs, then found no current key to retire (theirs was not in its snapshot), and
   * the one-current-key index refuses a second; the insert then does nothing and nothing changed.
   */
  async function replaceCurrent(
    trx: Transaction<Database>,
    row: SigningKey,
    at: number,
  ): Promise<{ retiredKid: string | null } | false> {
    const retired = await trx
      .updateTable('signing_keys')
      .set({ retired_at: at })
      .where('retired_at', 'is', null)
      .returning('kid')
      .execute()
    const inserted = await trx
      .insertInto('signing_keys')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .returning('kid')
      .executeTakeFirst()
    return inserted ? { retiredKid: retired[0]?.kid ?? null } : false
  }

  async function publishedKeys(at: number): Promise<JWK[]> {
    const rows = await db
      .selectFrom('signing_keys')
      .select(['public_jwk', 'retired_at'])
      .where('withdrawn_at', 'is', null)
      .where((eb) =>
        eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', at - ttlMs - JWKS_LEEWAY_MS)]),
      )
      .orderBy('created_at', 'desc')
      .execute()
    return rows.map((row) => JSON.parse(row.public_jwk) as JWK)
  }

  async function summaryOf(kid: string, at: number): Promise<SigningKeySummary | undefined> {
    const row = await db
      .selectFrom('signing_keys')
      .select(['kid', 'alg', 'created_at', 'retired_at', 'withdrawn_at'])
      .where('kid', '=', kid)
      .executeTakeFirst()
    return row && toSummary(row, at)
  }

  const toSummary = (
    row: Pick<SigningKey, 'kid' | 'alg' | 'created_at' | 'retired_at' | 'withdrawn_at'>,
    at: number,
  ): SigningKeySummary => ({
    kid: row.kid,
    alg: row.alg,
    createdAt: iso(row.created_at) as string,
    retiredAt: iso(row.retired_at),
    withdrawnAt: iso(row.withdrawn_at),
    current: row.retired_at === null,
    published: isPublished(row, at),
  })

  return {
    /** Creates the first signing key if there is none. Safe when processes start together. */
    async ensureSigningKey(): Promise<{ kid: string }> {
      const existing = await currentRow()
      if (existing) return { kid: existing.kid }
      const row = await newKeyRow(now())
      try {
        await db.insertInto('signing_keys').values(row).execute()
      } catch (error) {
        // Another process created the first key at the same moment (one current key at most,
        // by a unique index): use theirs.
        const winner = await currentRow()
        if (!winner) throw error
        return { kid: winner.kid }
      }
      return { kid: row.kid }
    },

    async issue({
      projectId,
      verificationId,
      mode,
      phone,
      consent,
    }: IssueTokenInput): Promise<string> {
      const key = await currentKey()
      const iat = Math.floor(now() / 1000)
      // One literal in the claims' order (a spread of the first five with the rest added would
      // give every token's object a hidden class of its own on Node 20).
      const claims: PhoneTokenClaims = {
        mode,
        phone_number: phone,
        phone_number_verified: true,
        consent: { version: consent.version, at: Math.floor(consent.at / 1000) },
        amr: ['sms'],
        iss: issuer,
        aud: tokenAudience(projectId, mode),
        sub: verificationId,
        jti: randomBytes(18).toString('base64url'),
        iat,
        exp: iat + ttlSeconds,
      }
      return signCompact({ alg: key.alg, kid: key.kid, typ: PHONE_TOKEN_TYPE }, claims, key)
    },

    /** Public keys of the current key and of retired keys whose tokens may still be valid. */
    async jwks(): Promise<JSONWebKeySet> {
      return { keys: await publishedKeys(now()) }
    },

    /** Signs with a new key from now on; the old key stays published until its tokens expire. */
    async rotate(): Promise<{ kid: string; retiredKid: string | null }> {
      const at = now()
      const row = await newKeyRow(at)
      const done = await db
        .transaction()
        .execute(async (trx) => {
          const replaced = await replaceCurrent(trx, row, at)
          // Undo the retirement, if any (none on PostgreSQL: see replaceCurrent).
          if (!replaced) throw new SigningKeyError('changed', '')
          return replaced
        })
        .catch(async (error) => {
          if (!(error instanceof SigningKeyError)) throw error
          const winner = (await currentRow())?.kid ?? ''
          throw new SigningKeyError(
            'changed',
            `another rotation or withdrawal made a new signing key at the same moment: nothing changed here; ${winner} signs now`,
            winner,
          )
        })
      current = undefined
      return { kid: row.kid, retiredKid: done.retiredKid }
    },

    /** Every signing key, newest first: which signs, which the JWKS holds, which were withdrawn. */
    async signingKeys(): Promise<SigningKeySummary[]> {
      const at = now()
      const rows = await db
        .selectFrom('signing_keys')
        .select(['kid', 'alg', 'created_at', 'retired_at', 'withdrawn_at'])
        .orderBy('created_at', 'desc')
        .orderBy('kid', 'desc')
        .execute()
      return rows.map((row) => toSummary(row, at))
    },

    /**
     * Withdraws a key at once (compromised): it leaves the JWKS now, so redeem refuses its tokens
     * here at once and store servers as soon as their JWKS cache fetches again. The key that signs
     * now is withdrawn only with `rotate` (a new key made and signing in the same step: there is
     * always one); `rotate` with a retired key also rotates. Idempotent: a second call says
     * `already_withdrawn`. Throws {@link SigningKeyError}.
     */
    async withdraw(
      kid: string,
      { rotate = false }: { rotate?: boolean } = {},
    ): Promise<WithdrawResult> {
      const at = now()
      const replacement = rotate ? await newKeyRow(at) : undefined
      // A rotation or withdrawal that made its key at the same moment wins the race for the
      // next signing key; a withdrawal must still happen, so it runs again on the state the
      // winner left (its key may be retired, or already withdrawn, by then).
      for (let round = 1; ; round++) {
        const done = await db
          .transaction()
          .execute(async (trx) => {
            const key = await trx
              .selectFrom('signing_keys')
              .select(['retired_at', 'withdrawn_at'])
              .where('kid', '=', kid)
              .executeTakeFirst()
            if (!key) throw new SigningKeyError('not_found', `no signing key ${kid}`)
            if (key.withdrawn_at !== null) return false
            if (key.retired_at === null && !replacement) {
              throw new SigningKeyError(
                'in_use',
                `${kid} signs every token now: withdraw it together with a new key (rotate)`,
              )
            }
            if (replacement && !(await replaceCurrent(trx, replacement, at))) {
              throw new SigningKeyError(
                'changed',
                'another signing key was made at the same moment',
              )
            }
            await trx
              .updateTable('signing_keys')
              .set({ withdrawn_at: at })
              .where('kid', '=', kid)
              .execute()
            return true
          })
          .catch((error) => {
            if (error instanceof SigningKeyError && error.code === 'changed' && round < 3) {
              return 'again' as const
            }
            throw error
          })
        if (done === 'again') continue
        current = undefined
        const key = (await summaryOf(kid, at)) as SigningKeySummary
        const currentKid = (await currentRow())?.kid ?? ''
        return done
          ? { withdrawn: true, key, currentKid, newKid: replacement?.kid ?? null }
          : { withdrawn: false, reason: 'already_withdrawn', key, currentKid, newKid: null }
      }
    },

    /**
     * Checks a token and consumes it: valid once, then `already_redeemed`. The jti's primary
     * key decides between concurrent calls, in any number of processes. A token whose mode is
     * not the key's (`keyMode`) is `wrong_mode` and stays unredeemed.
     */
    async redeem(token: string, projectId: string, keyMode: KeyMode): Promise<RedeemTokenResponse> {
      const at = now()
      // jose would also take other spellings of it (padding, whitespace, nonzero unused bits).
      if (!isCanonicalCompactJws(token)) return { valid: false, reason: 'invalid_token' }
      let claims: PhoneTokenClaims
      try {
        const keys = createLocalJWKSet({ keys: await publishedKeys(at) })
        const verified = await jwtVerify(token, keys, {
          // The same issuer however written: a token issued before an upgrade normalised
          // PUBLIC_URL (`HTTPS://Verify.Example:443`) is redeemed within its 10 minutes.
          issuer: claimedIssuer(token, issuer),
          typ: PHONE_TOKEN_TYPE,
          algorithms: ['EdDSA', 'ES256'],
          requiredClaims: ['exp', 'iat', 'jti', 'sub', 'aud', 'mode'],
          currentDate: new Date(at),
        })
        const parsed = v.safeParse(PhoneTokenClaimsSchema, verified.payload)
        if (!parsed.success) return { valid: false, reason: 'invalid_token' }
        claims = parsed.output
      } catch (error) {
        if (error instanceof errors.JWTExpired) return { valid: false, reason: 'expired' }
        return { valid: false, reason: 'invalid_token' }
      }
      if (claims.aud !== tokenAudience(projectId, claims.mode)) {
        return { valid: false, reason: 'wrong_project' }
      }
      if (claims.mode !== keyMode) return { valid: false, reason: 'wrong_mode' }
      const inserted = await db
        .insertInto('redeemed_tokens')
        .values({
          jti: claims.jti,
          project_id: projectId,
          redeemed_at: at,
          expires_at: claims.exp * 1000,
        })
        .onConflict((oc) => oc.column('jti').doNothing())
        .executeTakeFirst()
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
        return { valid: false, reason: 'already_redeemed' }
      }
      // Kept on the verification for the console's funnel: redeemed_tokens rows expire.
      await db
        .updateTable('verifications')
        .set({ token_redeemed_at: at })
        .where('id', '=', claims.sub)
        .where('project_id', '=', projectId)
        .where('token_redeemed_at', 'is', null)
        .execute()
      return { valid: true, claims }
    },
  }
}

export type TokenService = ReturnType<typeof createTokenService>

/**
 * The log line of a withdrawal (`event: signing_key.withdrawn`), public kids only; the audit
 * row is its caller's (the console's request, the CLI's own).
 */
export function signingKeyWithdrawn(
  logger: Logger | undefined,
  result: Extract<WithdrawResult, { withdrawn: true }>,
  by: string,
): void {
  logger?.warn(
    { event: 'signing_key.withdrawn', kid: result.key.kid, currentKid: result.currentKid, by },
    'signing key withdrawn: out of the JWKS, its tokens refused',
  )
}
