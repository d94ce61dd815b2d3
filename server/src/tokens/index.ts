/**
 * Phone tokens: signing keys (created on first start, private halves encrypted at rest,
 * rotated by `pnpm textgate keys rotate`, withdrawn at once when compromised by `keys withdraw`),
 * the JWKS, issuing and one-time redemption.
 *
 * A rotation pre-publishes: the next key is in the JWKS at once but signs only from
 * `signs_from`, {@link PREPUBLISH_MS} later, so a cache of the JWKS (a CDN, a store's JWT
 * library) has fetched it before any token carries its kid. The key that signs meanwhile has
 * `retired_at` set to that same moment, ahead of time: every process picks the key that signs
 * at its own clock from the rows alone (signs_from ≤ now < retired_at), so each switches by
 * itself, at that moment, without being told.
 * @module
 */

import { createPrivateKey, type KeyObject, sign } from 'node:crypto'
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
import { sql } from 'kysely'
import type { Logger } from 'pino'
import * as v from 'valibot'
import { randomPoolBytes } from '../random'
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
/** The JWKS's `Cache-Control: max-age`: how long a cache in front of it may keep an answer. */
export const JWKS_MAX_AGE_SECONDS = 300
/**
 * How long a rotated-in key is published before it signs: the JWKS's max-age, and a minute for
 * a cache that fetched just before the rotation and clocks that differ.
 */
export const PREPUBLISH_MS = JWKS_MAX_AGE_SECONDS * 1000 + 60_000

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
  /**
   * When it stops (or stopped) signing; null while nothing is to replace it. The key that signs
   * while the next is pre-published has this moment set ahead, equal to the next's `signsFrom`.
   */
  retiredAt: string | null
  withdrawnAt: string | null
  /** When it starts (or started) signing. */
  signsFrom: string
  /** It signs new tokens now. */
  current: boolean
  /** The next key: published in the JWKS, signing from `signsFrom` (a rotation's wait). */
  next: boolean
  /** It is in the JWKS now (the current and next keys, retired keys until their tokens expired). */
  published: boolean
}

/** What a rotation did. */
export interface RotateResult {
  /** The new key. */
  kid: string
  /** When it signs: now with `now`, else {@link PREPUBLISH_MS} from now. */
  signsFrom: string
  /** The key that signed when the rotation was asked for (it signs until `signsFrom`). */
  retiredKid: string | null
  /** A next key that had not signed yet, replaced by this one (it signs never or briefly). */
  replacedNextKid: string | null
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
     * `not_found`: no such kid; `in_use`: it signs now, no next key is published and no new key
     * was asked for;
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
  /** When it stops signing (a next key's `signs_from`): looked up again then, not 3 s later. */
  until: number
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

  async function newKeyRow(at: number, signsFrom = at): Promise<SigningKey> {
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
      signs_from: signsFrom,
    }
  }

  /** Still in the JWKS at `at`: not withdrawn, and current or retired within a token's life. */
  const isPublished = (row: Pick<SigningKey, 'retired_at' | 'withdrawn_at'>, at: number) =>
    row.withdrawn_at === null &&
    (row.retired_at === null || Number(row.retired_at) > at - ttlMs - JWKS_LEEWAY_MS)

  const signsFromOf = (row: Pick<SigningKey, 'signs_from' | 'created_at'>) =>
    Number(row.signs_from ?? row.created_at)
  const signsFromColumn = sql<number>`coalesce(signs_from, created_at)`

  /** The one unretired key: the next key while a rotation waits, else the one that signs. */
  async function unretiredRow(
    from: Kysely<Database> | Transaction<Database> = db,
  ): Promise<SigningKey | undefined> {
    return from
      .selectFrom('signing_keys')
      .selectAll()
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'asc')
      .orderBy('kid', 'asc')
      .limit(1)
      .executeTakeFirst()
  }

  /**
   * The key that signs at `at`: signs_from ≤ at < retired_at, never a withdrawn one. A process
   * whose clock is behind the one that made a key signing at once (the first key, `--now`, a
   * withdrawal) may find none, or only a withdrawn one: it takes the unretired key then.
   */
  async function currentRow(
    at: number,
    from: Kysely<Database> | Transaction<Database> = db,
  ): Promise<SigningKey | undefined> {
    const row = await from
      .selectFrom('signing_keys')
      .selectAll()
      .where('withdrawn_at', 'is', null)
      .where(signsFromColumn, '<=', at)
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', at)]))
      .orderBy(signsFromColumn, 'desc')
      .orderBy('kid', 'desc')
      .limit(1)
      .executeTakeFirst()
    if (row) return row
    const unretired = await unretiredRow(from)
    return unretired?.withdrawn_at === null ? unretired : undefined
  }

  async function load(row: SigningKey, at: number): Promise<CurrentKey> {
    const pkcs8 = decrypt(encryptionKey, row.private_key_encrypted)
    return {
      kid: row.kid,
      alg: row.alg,
      privateKey: createPrivateKey(pkcs8),
      checkedAt: at,
      until: untilOf(row),
    }
  }

  const untilOf = (row: SigningKey) =>
    row.retired_at === null ? Number.POSITIVE_INFINITY : Number(row.retired_at)

  async function currentKey(): Promise<CurrentKey> {
    const at = now()
    if (current && at - current.checkedAt < CURRENT_KEY_RECHECK_MS && at < current.until) {
      return current
    }
    const row = await currentRow(at)
    if (!row) throw new Error('[textgate] [tokens] no signing key: call ensureSigningKey() first')
    current =
      current?.kid === row.kid
        ? withFields(current, { checkedAt: at, until: untilOf(row) })
        : await load(row, at)
    return current
  }

  /**
   * In `trx`: makes `row` the unretired key, signing from its `signs_from`: the unretired key
   * (the one that signs, or a next key not signing yet) retires then, and a key set to retire
   * later (one signing while a next key waits, when `row` signs at once) stops then too, so one
   * key signs at any moment. False when another process's rotation or withdrawal made its own
   * new key at the same moment: on PostgreSQL our update waited for theirs, then found no
   * unretired key (theirs was not in its snapshot), and the one-unretired-key index refuses a
   * second; the insert then does nothing, and the caller's rollback undoes the rest.
   */
  async function replaceCurrent(
    trx: Transaction<Database>,
    row: SigningKey,
  ): Promise<{ retiredKid: string | null } | false> {
    const from = signsFromOf(row)
    await trx
      .updateTable('signing_keys')
      .set({ retired_at: from })
      .where('retired_at', 'is', null)
      .execute()
    await trx
      .updateTable('signing_keys')
      .set({ retired_at: from })
      .where('retired_at', '>', from)
      .execute()
    const inserted = await trx
      .insertInto('signing_keys')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .returning('kid')
      .executeTakeFirst()
    return inserted ? { retiredKid: null } : false
  }

  async function publishedKeys(at: number): Promise<JWK[]> {
    const rows = await db
      .selectFrom('signing_keys')
      .select(['public_jwk', 'retired_at'])
      .where('withdrawn_at', 'is', null)
      .where((eb) =>
        eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', at - ttlMs - JWKS_LEEWAY_MS)]),
      )
      .orderBy(signsFromColumn, 'desc')
      .orderBy('created_at', 'desc')
      .execute()
    return rows.map((row) => JSON.parse(row.public_jwk) as JWK)
  }

  async function summaryOf(kid: string, at: number): Promise<SigningKeySummary | undefined> {
    const row = await db
      .selectFrom('signing_keys')
      .select(['kid', 'alg', 'created_at', 'retired_at', 'withdrawn_at', 'signs_from'])
      .where('kid', '=', kid)
      .executeTakeFirst()
    return row && toSummary(row, at)
  }

  const toSummary = (
    row: Pick<
      SigningKey,
      'kid' | 'alg' | 'created_at' | 'retired_at' | 'withdrawn_at' | 'signs_from'
    >,
    at: number,
  ): SigningKeySummary => {
    const from = signsFromOf(row)
    const live = row.withdrawn_at === null
    return {
      kid: row.kid,
      alg: row.alg,
      createdAt: iso(row.created_at) as string,
      retiredAt: iso(row.retired_at),
      withdrawnAt: iso(row.withdrawn_at),
      signsFrom: iso(from) as string,
      current: live && from <= at && (row.retired_at === null || Number(row.retired_at) > at),
      next: live && row.retired_at === null && from > at,
      published: isPublished(row, at),
    }
  }

  return {
    /** Creates the first signing key if there is none. Safe when processes start together. */
    async ensureSigningKey(): Promise<{ kid: string }> {
      const existing = await unretiredRow()
      if (existing) return { kid: existing.kid }
      const row = await newKeyRow(now())
      try {
        await db.insertInto('signing_keys').values(row).execute()
      } catch (error) {
        // Another process created the first key at the same moment (one current key at most,
        // by a unique index): use theirs.
        const winner = await unretiredRow()
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
        jti: randomPoolBytes(18).toString('base64url'),
        iat,
        exp: iat + ttlSeconds,
      }
      return signCompact({ alg: key.alg, kid: key.kid, typ: PHONE_TOKEN_TYPE }, claims, key)
    },

    /**
     * Public keys of the current key, of the next key (published before it signs), and of
     * retired keys whose tokens may still be valid.
     */
    async jwks(): Promise<JSONWebKeySet> {
      return { keys: await publishedKeys(now()) }
    },

    /**
     * A new signing key: published in the JWKS at once, signing {@link PREPUBLISH_MS} later
     * (`now`: at once), when the key that signs now stops; that key stays published until its
     * tokens expire. A next key still waiting is replaced by this one. Throws
     * {@link SigningKeyError} `changed` when another rotation or withdrawal won the moment.
     */
    async rotate({ now: immediate = false }: { now?: boolean } = {}): Promise<RotateResult> {
      const at = now()
      const row = await newKeyRow(at, immediate ? at : at + PREPUBLISH_MS)
      const done = await db
        .transaction()
        .execute(async (trx) => {
          const signer = await currentRow(at, trx)
          const waiting = await unretiredRow(trx)
          const replaced = await replaceCurrent(trx, row)
          // Undo the retirements, if any (none on PostgreSQL: see replaceCurrent).
          if (!replaced) throw new SigningKeyError('changed', '')
          return {
            retiredKid: signer?.kid ?? null,
            replacedNextKid: waiting && signsFromOf(waiting) > at ? waiting.kid : null,
          }
        })
        .catch(async (error) => {
          if (!(error instanceof SigningKeyError)) throw error
          const winner = (await currentRow(now()))?.kid ?? ''
          throw new SigningKeyError(
            'changed',
            `another rotation or withdrawal made a new signing key at the same moment: nothing changed here; ${winner} signs now`,
            winner,
          )
        })
      current = undefined
      return {
        kid: row.kid,
        signsFrom: iso(signsFromOf(row)) as string,
        retiredKid: done.retiredKid,
        replacedNextKid: done.replacedNextKid,
      }
    },

    /**
     * Every signing key, the latest to sign first: which signs, which is next and from when,
     * which the JWKS holds, which were withdrawn.
     */
    async signingKeys(): Promise<SigningKeySummary[]> {
      const at = now()
      const rows = await db
        .selectFrom('signing_keys')
        .select(['kid', 'alg', 'created_at', 'retired_at', 'withdrawn_at', 'signs_from'])
        .orderBy(signsFromColumn, 'desc')
        .orderBy('created_at', 'desc')
        .orderBy('kid', 'desc')
        .execute()
      return rows.map((row) => toSummary(row, at))
    },

    /**
     * Withdraws a key at once (compromised): it leaves the JWKS now, so redeem refuses its tokens
     * here at once and store servers as soon as their JWKS cache fetches again. The key that signs
     * now is withdrawn with `rotate` (a new key made and signing in the same step: there is
     * always one), or, while a rotation waits, alone: the next key, already published, signs
     * from now on. The next key withdrawn alone is a rotation cancelled: the key that signs goes
     * on signing. `rotate` with any other key also rotates, at once. Idempotent: a second call
     * says `already_withdrawn`. Throws {@link SigningKeyError}.
     */
    async withdraw(
      kid: string,
      { rotate = false }: { rotate?: boolean } = {},
    ): Promise<WithdrawResult> {
      const at = now()
      const replacement = rotate ? await newKeyRow(at, at) : undefined
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
            const signer = await currentRow(at, trx)
            const unretired = await unretiredRow(trx)
            const next = unretired && signsFromOf(unretired) > at ? unretired : undefined
            if (replacement) {
              if (!(await replaceCurrent(trx, replacement))) {
                throw new SigningKeyError(
                  'changed',
                  'another signing key was made at the same moment',
                )
              }
            } else if (signer?.kid === kid) {
              if (!next) {
                throw new SigningKeyError(
                  'in_use',
                  `${kid} signs every token now: withdraw it together with a new key (rotate)`,
                )
              }
              // The next key is published already: it signs from now, not after the wait.
              await trx
                .updateTable('signing_keys')
                .set({ signs_from: at })
                .where('kid', '=', next.kid)
                .where('retired_at', 'is', null)
                .execute()
              await trx
                .updateTable('signing_keys')
                .set({ retired_at: at })
                .where('kid', '=', kid)
                .execute()
            } else if (next?.kid === kid) {
              // A rotation cancelled: the next key retires unused (which frees the one
              // unretired place) and the key that signs goes on signing, with no end set.
              const cancelled = await trx
                .updateTable('signing_keys')
                .set({ retired_at: at })
                .where('kid', '=', kid)
                .where('retired_at', 'is', null)
                .executeTakeFirst()
              if (Number(cancelled.numUpdatedRows) === 0) {
                throw new SigningKeyError('changed', 'the next key changed at the same moment')
              }
              if (signer) {
                await trx
                  .updateTable('signing_keys')
                  .set({ retired_at: null })
                  .where('kid', '=', signer.kid)
                  .execute()
              }
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
        const currentKid = (await currentRow(now()))?.kid ?? ''
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
