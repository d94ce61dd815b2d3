/**
 * For store servers: redeem a phone token once, with a secret key (`POST /v1/tokens/redeem`).
 * @module
 */
import { isErrorBody, type PhoneTokenClaims, type RedeemFailure } from '@textgate/shared'

export type RedeemResult =
  | { valid: true; claims: PhoneTokenClaims }
  | { valid: false; reason: RedeemFailure }

/** The server could not be asked, or refused the request itself (not the token). */
export class RedeemError extends Error {
  constructor(
    /** The API's error code (`invalid_api_key`, `rate_limited`, …), or `unreachable`. */
    readonly code: string,
    /** The HTTP status; undefined when no answer came. */
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`[textgate] [redeem] ${message}`, options)
    this.name = 'RedeemError'
  }
}

export interface RedeemClientOptions {
  /** Where the store server reaches Textgate, e.g. `https://verify.shop.example`. */
  url: string
  /** A secret key of the project (`sk_live_…`, or `sk_test_…` for test tokens). */
  secretKey: string
  /** Milliseconds to wait for an answer; default 10 000. */
  timeoutMs?: number
  /** Another fetch (a proxy-aware one, a test double); default the global fetch. */
  fetch?: typeof fetch
}

export interface RedeemClient {
  /**
   * Consumes `token` once. Resolves `{ valid: true, claims }` the first time and
   * `{ valid: false, reason }` after (or for a token that is not valid); rejects with
   * {@link RedeemError} when Textgate cannot answer or refuses the key. Takes the form value
   * as it came: anything but a non-empty string is `{ valid: false, reason: 'invalid_token' }`.
   */
  redeem(token: unknown): Promise<RedeemResult>
}

/**
 * @example
 * import { createRedeemClient } from '@textgate/store'
 *
 * const textgate = createRedeemClient({ url: process.env.TEXTGATE_URL, secretKey: process.env.TEXTGATE_SECRET_KEY })
 * const result = await textgate.redeem(form.get('phone_token'))
 * if (!result.valid) return refuse(result.reason) // 'already_redeemed', 'expired', …
 */
export function createRedeemClient(options: RedeemClientOptions): RedeemClient {
  const { url, secretKey, timeoutMs = 10_000, fetch: fetchImpl = globalThis.fetch } = options
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    throw new TypeError(
      `[textgate] [redeem] options.url must be an http(s) URL; got ${String(url)}`,
    )
  }
  if (typeof secretKey !== 'string' || !/^sk_(live|test)_/.test(secretKey)) {
    // Never echo the value: it may be a real key pasted into the wrong variable.
    throw new TypeError(
      '[textgate] [redeem] options.secretKey must be a secret key (sk_live_… or sk_test_…)',
    )
  }
  const endpoint = `${url.replace(/\/+$/, '')}/v1/tokens/redeem`
  return {
    async redeem(token) {
      if (typeof token !== 'string' || token.length === 0) {
        return { valid: false, reason: 'invalid_token' }
      }
      let response: Response
      try {
        response = await fetchImpl(endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ token }),
          signal: AbortSignal.timeout(timeoutMs),
        })
      } catch (error) {
        throw new RedeemError('unreachable', undefined, `${endpoint} did not answer`, {
          cause: error,
        })
      }
      const body: unknown = await response.json().catch(() => undefined)
      if (!response.ok) {
        const code = isErrorBody(body) ? body.error.code : 'unexpected_response'
        const message = isErrorBody(body) ? body.error.message : `HTTP ${response.status}`
        throw new RedeemError(code, response.status, message)
      }
      if (!isRedeemResult(body)) {
        throw new RedeemError(
          'unexpected_response',
          response.status,
          'the answer is not a redeem result',
        )
      }
      return body
    },
  }
}

function isRedeemResult(body: unknown): body is RedeemResult {
  if (typeof body !== 'object' || body === null) return false
  const { valid, claims, reason } = body as Record<string, unknown>
  return valid === true
    ? typeof claims === 'object' && claims !== null
    : valid === false && typeof reason === 'string'
}
