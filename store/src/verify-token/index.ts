/**
 * For store servers: verify a Textgate phone token offline, against the server's JWKS.
 * @module
 */

import {
  isCanonicalCompactJws,
  normaliseIssuer,
  PHONE_TOKEN_TYPE,
  PhoneTokenClaims,
  tokenAudience,
} from '@textgate/shared'
import {
  createRemoteJWKSet,
  decodeJwt,
  errors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose'
import * as v from 'valibot'

export type PhoneTokenErrorCode =
  | 'invalid_token'
  | 'expired'
  | 'wrong_audience'
  | 'wrong_issuer'
  /** A test-mode token (made with a `pk_test_` key) where `allowTestMode` is not set. */
  | 'test_mode'
  | 'unknown_key'
  | 'jwks_unreachable'

export class PhoneTokenError extends Error {
  constructor(
    readonly code: PhoneTokenErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`[textgate] [verify] ${message}`, options)
    this.name = 'PhoneTokenError'
  }
}

export interface VerifyPhoneTokenOptions {
  /** The Textgate server's public URL (its PUBLIC_URL), e.g. `https://verify.shop.example`. */
  issuer: string
  /** Your project id (`prj_…`): tokens of other projects are refused. */
  audience: string
  /**
   * Accept test-mode tokens too (their `aud` is `<projectId>:test`, their `mode` claim `test`):
   * anyone can make one with a publishable test key and the sandbox inbox, so only a store's
   * development or demo set-up should set this. Default false; anything but a boolean (a string
   * read from the environment, even "false") throws a TypeError.
   */
  allowTestMode?: boolean
  /** Defaults to `${issuer}/.well-known/jwks.json`. */
  jwksUrl?: string
  /** Clock skew allowed on `exp` and `nbf`: 0 to 60 seconds, default 5; others throw a TypeError. */
  clockToleranceSeconds?: number
}

/** Clock skew allowed at most: a token lives 10 minutes. */
const MAX_CLOCK_TOLERANCE_SECONDS = 60

/**
 * A store that forgot to set its issuer or project id (an unset environment variable) would
 * otherwise accept every project's tokens: jose skips a check it is given no value for. Options
 * read from the environment as strings are refused too (see below).
 */
function checkOptions(options: {
  issuer?: unknown
  audience?: unknown
  allowTestMode?: unknown
  clockToleranceSeconds?: unknown
}): void {
  for (const name of ['issuer', 'audience'] as const) {
    const value = options[name]
    if (typeof value !== 'string' || value.trim().length === 0) {
      throw new TypeError(
        `[textgate] [verify] options.${name} must be a non-empty string (${
          name === 'issuer' ? "the Textgate server's PUBLIC_URL" : 'your project id, prj_…'
        }); got ${value === undefined ? 'undefined' : JSON.stringify(value)}`,
      )
    }
  }
  // Read from the environment these arrive as strings, and "false" is truthy: test tokens
  // (anyone's, from the sandbox inbox) would pass as live.
  const { allowTestMode, clockToleranceSeconds } = options
  if (allowTestMode !== undefined && typeof allowTestMode !== 'boolean') {
    throw new TypeError(
      `[textgate] [verify] options.allowTestMode must be true or false; got ${JSON.stringify(allowTestMode)}`,
    )
  }
  // jose reads a string as a duration ("3h"): an expired token would pass for hours.
  if (
    clockToleranceSeconds !== undefined &&
    (typeof clockToleranceSeconds !== 'number' ||
      !(clockToleranceSeconds >= 0 && clockToleranceSeconds <= MAX_CLOCK_TOLERANCE_SECONDS))
  ) {
    throw new TypeError(
      `[textgate] [verify] options.clockToleranceSeconds must be a number of seconds from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}; got ${JSON.stringify(clockToleranceSeconds)}`,
    )
  }
}

/**
 * How long a key set stays cached before it is fetched again on its own: the JWKS's own
 * `Cache-Control: max-age`. It bounds how long a withdrawn key's tokens still verify here when no
 * token of the new key comes by first (see {@link remoteKeySet}).
 */
const JWKS_MAX_AGE_MS = 5 * 60_000
/** At most one fetch per interval for tokens whose kid the cached key set lacks. */
const UNKNOWN_KID_INTERVAL_MS = 5_000

/**
 * The JWKS could not be had: no answer, an HTTP error (a proxy's 502 while Textgate is down), or
 * an answer that is not a key set. jose throws a plain JOSEError for some of these, which is no
 * reason to call the shopper's token invalid.
 */
class KeySetUnavailable extends Error {
  constructor(cause: unknown) {
    super('the JWKS could not be fetched', { cause })
    this.name = 'KeySetUnavailable'
  }
}

/** The key set was had and lacks the token's key (or holds several: jose then tries each). */
const keyMissing = (error: unknown) =>
  error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys

// One key set per URL for the life of the process.
const keySets = new Map<string, JWTVerifyGetKey>()

/**
 * The keys at `url`, cached, fetched again on their own every 5 minutes, and for a token whose
 * kid the cache lacks (a rotation, or a withdrawal's new key: that fetch also drops the withdrawn
 * key). Such fetches start at most once per 5 s, however many made-up kids arrive; a token whose
 * kid is unknown waits for a fetch that starts after it came (5 s at most, plus the fetch)
 * instead of being refused, so a token of a new key is never refused because someone sent
 * made-up kids just before it (the 30 s cooldown before this refused it for up to 30 s).
 */
function remoteKeySet(url: string): JWTVerifyGetKey {
  let keySet = keySets.get(url)
  if (keySet) return keySet
  // jose's own refetch on an unknown kid is turned off (an endless cooldown): done below.
  const remote = createRemoteJWKSet(new URL(url), {
    cacheMaxAge: JWKS_MAX_AGE_MS,
    cooldownDuration: Number.POSITIVE_INFINITY,
  })
  let lastStart = Number.NEGATIVE_INFINITY
  let underWay: { startedAt: number; done: Promise<void> } | undefined
  let due: Promise<void> | undefined
  /** A fetch that starts at `at` or later: under way, due, or due as soon as the interval allows. */
  const fetchSince = (at: number): Promise<void> => {
    if (underWay && underWay.startedAt >= at) return underWay.done
    due ??= (async () => {
      const wait = lastStart + UNKNOWN_KID_INTERVAL_MS - Date.now()
      // Awaited even when 0, so `due` is set before it is cleared below.
      await (wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : undefined)
      due = undefined
      lastStart = Date.now()
      const fetch = { startedAt: lastStart, done: remote.reload() }
      underWay = fetch
      try {
        await fetch.done
      } finally {
        if (underWay === fetch) underWay = undefined
      }
    })()
    return due
  }
  const lookUp = (header: JWSHeaderParameters, token: FlattenedJWSInput) =>
    remote(header, token).catch((error: unknown) => {
      throw keyMissing(error) ? error : new KeySetUnavailable(error)
    })
  keySet = async (header, token) => {
    const arrivedAt = Date.now()
    try {
      return await lookUp(header, token)
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error
    }
    // A fetch under way may bring it already (a burst of a new key's first tokens).
    if (underWay) {
      await underWay.done.catch(() => {})
      try {
        return await lookUp(header, token)
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error
      }
    }
    await fetchSince(arrivedAt).catch((error: unknown) => {
      throw new KeySetUnavailable(error)
    })
    return lookUp(header, token)
  }
  keySets.set(url, keySet)
  return keySet
}

/**
 * Verifies `token` with already-known keys (e.g. `createLocalJWKSet(jwks)`).
 * Throws {@link PhoneTokenError}.
 */
export async function verifyPhoneTokenWithKeys(
  token: string,
  keys: JWTVerifyGetKey,
  options: Omit<VerifyPhoneTokenOptions, 'jwksUrl'>,
): Promise<PhoneTokenClaims> {
  checkOptions(options)
  const { issuer, audience, allowTestMode = false, clockToleranceSeconds = 5 } = options
  const testAudience = tokenAudience(audience, 'test')
  const verifyOptions: JWTVerifyOptions = {
    issuer: claimedIssuer(token, normaliseIssuer(issuer)),
    // The test audience is accepted here only to name the refusal precisely below.
    audience: [audience, testAudience],
    typ: PHONE_TOKEN_TYPE,
    algorithms: ['EdDSA', 'ES256'],
    requiredClaims: ['iss', 'aud', 'sub', 'jti', 'exp', 'iat', 'mode'],
    clockTolerance: clockToleranceSeconds,
  }
  if (typeof token !== 'string' || !isCanonicalCompactJws(token)) {
    throw new PhoneTokenError('invalid_token', 'not a JWS in canonical compact form')
  }
  let payload: unknown
  try {
    payload = (await jwtVerify(token, keys, verifyOptions)).payload
  } catch (error) {
    throw translate(error)
  }
  const parsed = v.safeParse(PhoneTokenClaims, payload)
  if (!parsed.success) {
    throw new PhoneTokenError(
      'invalid_token',
      `claims are not a phone token's: ${parsed.issues[0]?.message}`,
    )
  }
  const claims = parsed.output
  // The mode claim and the audience must agree: one without the other is not our token.
  if (claims.aud !== tokenAudience(audience, claims.mode)) {
    throw new PhoneTokenError('invalid_token', 'the mode claim and the audience disagree')
  }
  if (claims.mode === 'test' && allowTestMode !== true) {
    throw new PhoneTokenError(
      'test_mode',
      'the token was made with a test-mode key (set allowTestMode only in development)',
    )
  }
  return claims
}

/**
 * Verifies a phone token a shopper's form submitted, offline against the JWKS.
 * Throws {@link PhoneTokenError} with a stable `code` when the token cannot be trusted.
 * @example
 * import { verifyPhoneToken } from '@textgate/store'
 *
 * const claims = await verifyPhoneToken(form.get('phone_token'), {
 *   issuer: 'https://verify.shop.example',
 *   audience: 'prj_…',
 *   // allowTestMode: true, // development only: accept tokens made with pk_test_ keys
 * })
 * createAccount({ phone: claims.phone_number })
 */
export async function verifyPhoneToken(
  token: unknown,
  { jwksUrl, ...options }: VerifyPhoneTokenOptions,
): Promise<PhoneTokenClaims> {
  checkOptions(options)
  if (typeof token !== 'string' || token.length === 0) {
    throw new PhoneTokenError('invalid_token', 'no token was submitted')
  }
  const url = jwksUrl ?? `${normaliseIssuer(options.issuer)}/.well-known/jwks.json`
  return verifyPhoneTokenWithKeys(token, remoteKeySet(url), options)
}

/**
 * The issuer jose is to require: the token's own `iss` when it is `expected` written another way
 * (`HTTPS://Verify.Example:443` for `https://verify.example`: a server before PUBLIC_URL was
 * normalised wrote it as configured), else `expected`, which a token from elsewhere then fails.
 * The signature covers `iss` either way.
 */
function claimedIssuer(token: unknown, expected: string): string {
  try {
    const iss = typeof token === 'string' ? decodeJwt(token).iss : undefined
    if (typeof iss === 'string' && normaliseIssuer(iss) === expected) return iss
  } catch {
    // Not a JWT: jwtVerify says so below.
  }
  return expected
}

function translate(error: unknown): PhoneTokenError {
  if (error instanceof errors.JWTExpired) {
    return new PhoneTokenError('expired', 'the token has expired', { cause: error })
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') {
      return new PhoneTokenError('wrong_audience', 'the token is for another project', {
        cause: error,
      })
    }
    if (error.claim === 'iss') {
      return new PhoneTokenError('wrong_issuer', 'the token comes from another issuer', {
        cause: error,
      })
    }
    return new PhoneTokenError('invalid_token', `claim "${error.claim}" is invalid`, {
      cause: error,
    })
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new PhoneTokenError('unknown_key', 'no published key matches the token', {
      cause: error,
    })
  }
  if (error instanceof KeySetUnavailable) {
    const reason = error.cause instanceof Error ? ` (${error.cause.message})` : ''
    return new PhoneTokenError('jwks_unreachable', `the JWKS could not be fetched${reason}`, {
      cause: error.cause,
    })
  }
  if (
    // jose's remote key set throws a bare JOSEError for a non-200 answer or one not JSON, and
    // nothing else does: a caller's own createRemoteJWKSet given to verifyPhoneTokenWithKeys.
    (error instanceof errors.JOSEError && error.code === errors.JOSEError.code) ||
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid
  ) {
    return new PhoneTokenError('jwks_unreachable', 'the JWKS could not be fetched', {
      cause: error,
    })
  }
  if (
    error instanceof TypeError ||
    (error instanceof Error && /fetch|ECONNREFUSED/.test(error.message))
  ) {
    return new PhoneTokenError('jwks_unreachable', 'the JWKS could not be fetched', {
      cause: error,
    })
  }
  const reason = error instanceof Error ? error.message : 'unreadable'
  return new PhoneTokenError('invalid_token', `the token is not valid (${reason})`, {
    cause: error,
  })
}
