/**
 * The challenge: a proof of work (ALTCHA, SHA-256) whose size grows with the risk, solved by
 * the widget in a worker without the shopper noticing at normal risk. Each solution is
 * accepted once. A store's own Turnstile or hCaptcha token is accepted instead when the
 * project configured one.
 * @module
 */
import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto'
import type { PowChallenge } from '@textgate/shared'
import type { Kysely } from 'kysely'
import { safeEqual } from '../carriers/http'
import type { Database } from '../storage'
import type { FraudSettings } from './settings'

const CHALLENGE_TTL_MS = 5 * 60_000
/** Random bytes of a puzzle's salt (ALTCHA's default). */
const SALT_BYTES = 12

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex')

export interface ChallengeService {
  /**
   * A puzzle of `difficulty` tries (worst case), bound to the project and, when given, to the
   * number it was quoted for (`phone`).
   */
  issue(projectId: string, difficulty: number, at: number, phone?: string): Promise<PowChallenge>
  /**
   * True when `payload` solves a puzzle we issued for this project, once, and at least
   * `minDifficulty` hard — or, for a puzzle quoted for this very `phone`, at the price quoted: a
   * shopper who solved the puzzle they were given is not asked again because the risk rose while
   * they solved it (the decision itself is taken anew).
   */
  redeem(
    payload: string,
    projectId: string,
    minDifficulty: number,
    at: number,
    phone?: string,
  ): Promise<boolean>
}

/** Difficulty for a request with `reasons` challenge reasons: doubles per extra reason. */
export function difficultyFor(reasons: number, settings: FraudSettings['challenge']): number {
  const raw = settings.baseDifficulty * 2 ** Math.max(0, reasons - 1)
  return Math.min(settings.maxDifficulty, raw)
}

export function createChallengeService(
  db: Kysely<Database>,
  pepper: Buffer,
  options: {
    /** The secret number of a puzzle (random unless given: a simulation that plays people). */
    numberFor?: (maxnumber: number) => number
  } = {},
): ChallengeService {
  const hmacKey = createHmac('sha256', pepper).update('textgate/fraud/altcha').digest('hex')
  // The number a puzzle was quoted for, as a keyed hash (the salt travels in the clear).
  const quotedFor = (phone: string) =>
    createHmac('sha256', hmacKey).update(phone).digest('base64url').slice(0, 16)
  // ALTCHA v1's puzzle (SHA-256 of salt and secret number, signed with HMAC-SHA-256), made and
  // checked with node:crypto on the spot: altcha-lib's own functions go through WebCrypto, three
  // thread-pool hops, 300–480 µs of CPU for an issue and a check against 17–49 µs here. The
  // format is ALTCHA's, so its solvers (the widget's, altcha-lib's) work unchanged.
  const signatureOf = (challenge: string) =>
    createHmac('sha256', hmacKey).update(challenge).digest('hex')
  return {
    async issue(projectId, difficulty, at, phone) {
      const params = new URLSearchParams({
        p: projectId,
        d: String(difficulty),
        ...(phone ? { q: quotedFor(phone) } : {}),
      })
      params.set('expires', String(Math.floor((at + CHALLENGE_TTL_MS) / 1000)))
      // The trailing '&' keeps a solver from splicing parameters into the salt.
      const salt = `${randomBytes(SALT_BYTES).toString('hex')}?${params}&`
      // The secret number, 1 to difficulty like ALTCHA's own.
      const number = options.numberFor?.(difficulty) ?? randomInt(1, Math.max(1, difficulty) + 1)
      const challenge = sha256Hex(`${salt}${number}`)
      return {
        algorithm: 'SHA-256',
        challenge,
        maxnumber: difficulty,
        salt,
        signature: signatureOf(challenge),
      }
    },

    async redeem(payload, projectId, minDifficulty, at, phone) {
      let decoded: {
        algorithm?: unknown
        challenge?: unknown
        number?: unknown
        salt?: unknown
        signature?: unknown
      }
      try {
        decoded = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'))
      } catch {
        return false
      }
      const { algorithm, challenge, number, salt, signature } = decoded ?? {}
      if (
        algorithm !== 'SHA-256' ||
        typeof challenge !== 'string' ||
        typeof salt !== 'string' ||
        typeof signature !== 'string' ||
        typeof number !== 'number' ||
        !Number.isSafeInteger(number) ||
        number < 0
      ) {
        return false
      }
      const params = Object.fromEntries(new URLSearchParams(salt.split('?')[1] ?? ''))
      const quoted = phone !== undefined && params.q === quotedFor(phone)
      if (params.p !== projectId || (!quoted && Number(params.d) < minDifficulty)) return false
      const expires = Number(params.expires) * 1000
      if (!Number.isFinite(expires) || expires <= at) return false
      // The number solves the puzzle, and the puzzle is ours (its signature is our HMAC).
      const solved = sha256Hex(`${salt.endsWith('&') ? salt : `${salt}&`}${number}`)
      if (!safeEqual(solved, challenge) || !safeEqual(signatureOf(solved), signature)) return false
      // Once only: the signature is remembered until the puzzle expires.
      const inserted = await db
        .insertInto('fraud_spent_challenges')
        .values({ signature, expires_at: expires })
        .onConflict((oc) => oc.column('signature').doNothing())
        .executeTakeFirst()
      return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1
    },
  }
}

/** Checks a Turnstile or hCaptcha token with the provider's siteverify endpoint. */
export async function verifyCaptcha(
  captcha: NonNullable<FraudSettings['challenge']['captcha']>,
  token: string,
  ip: string | null,
): Promise<boolean> {
  const url =
    captcha.verifyUrl ??
    (captcha.provider === 'turnstile'
      ? 'https://challenges.cloudflare.com/turnstile/v0/siteverify'
      : 'https://api.hcaptcha.com/siteverify')
  const form = new URLSearchParams({ secret: captcha.secret, response: token })
  if (ip) form.set('remoteip', ip)
  try {
    const response = await fetch(url, {
      method: 'POST',
      body: form,
      signal: AbortSignal.timeout(3_000),
    })
    if (!response.ok) return false
    const body = (await response.json()) as { success?: unknown }
    return body.success === true
  } catch {
    return false
  }
}
