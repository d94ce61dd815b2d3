/**
 * For store servers: verify a Textgate phone token offline, against the server's JWKS.
 * @module
 */
import {
  createRemoteJWKSet,
  errors,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose'
import * as v from 'valibot'
import { PHONE_TOKEN_TYPE, PhoneTokenClaims } from '../schemas'

export type PhoneTokenErrorCode =
  | 'invalid_token'
  | 'expired'
  | 'wrong_audience'
  | 'wrong_issuer'
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
  /** Defaults to `${issuer}/.well-known/jwks.json`. */
  jwksUrl?: string
  clockToleranceSeconds?: number
}

// One key set per URL for the life of the process: jose caches the keys and refetches on an
// unknown kid (a rotation), at most once per cooldown.
const keySets = new Map<string, JWTVerifyGetKey>()

function remoteKeySet(url: string): JWTVerifyGetKey {
  let keySet = keySets.get(url)
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(url), {
      cacheMaxAge: 10 * 60_000,
      cooldownDuration: 30_000,
    })
    keySets.set(url, keySet)
  }
  return keySet
}

/**
 * Verifies `token` with already-known keys (e.g. `createLocalJWKSet(jwks)`).
 * Throws {@link PhoneTokenError}.
 */
export async function verifyPhoneTokenWithKeys(
  token: string,
  keys: JWTVerifyGetKey,
  { issuer, audience, clockToleranceSeconds = 5 }: Omit<VerifyPhoneTokenOptions, 'jwksUrl'>,
): Promise<PhoneTokenClaims> {
  const options: JWTVerifyOptions = {
    issuer: issuer.replace(/\/+$/, ''),
    audience,
    typ: PHONE_TOKEN_TYPE,
    algorithms: ['EdDSA', 'ES256'],
    requiredClaims: ['exp', 'iat', 'jti', 'sub'],
    clockTolerance: clockToleranceSeconds,
  }
  let payload: unknown
  try {
    payload = (await jwtVerify(token, keys, options)).payload
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
  return parsed.output
}

/**
 * Verifies a phone token a shopper's form submitted, offline against the JWKS.
 * Throws {@link PhoneTokenError} with a stable `code` when the token cannot be trusted.
 * @example
 * import { verifyPhoneToken } from '@textgate/shared/verify'
 *
 * const claims = await verifyPhoneToken(form.get('phone_token'), {
 *   issuer: 'https://verify.shop.example',
 *   audience: 'prj_…',
 * })
 * createAccount({ phone: claims.phone_number })
 */
export async function verifyPhoneToken(
  token: unknown,
  { jwksUrl, ...options }: VerifyPhoneTokenOptions,
): Promise<PhoneTokenClaims> {
  if (typeof token !== 'string' || token.length === 0) {
    throw new PhoneTokenError('invalid_token', 'no token was submitted')
  }
  const url = jwksUrl ?? `${options.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`
  return verifyPhoneTokenWithKeys(token, remoteKeySet(url), options)
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
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
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
