/**
 * The challenge: a proof of work (ALTCHA, SHA-256) whose size grows with the risk, solved by
 * the widget in a worker without the shopper noticing at normal risk. Each solution is
 * accepted once. A store's own Turnstile or hCaptcha token is accepted instead when the
 * project configured one.
 * @module
 */
import { createHmac } from 'node:crypto'
import type { PowChallenge } from '@textgate/shared'
import { createChallenge, verifySolution } from 'altcha-lib/v1'
import type { Kysely } from 'kysely'
import type { Database } from '../storage'
import type { FraudSettings } from './settings'

const CHALLENGE_TTL_MS = 5 * 60_000

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
  return {
    async issue(projectId, difficulty, at, phone) {
      const challenge = await createChallenge({
        algorithm: 'SHA-256',
        hmacKey,
        maxnumber: difficulty,
        ...(options.numberFor ? { number: options.numberFor(difficulty) } : {}),
        expires: new Date(at + CHALLENGE_TTL_MS),
        params: { p: projectId, d: String(difficulty), ...(phone ? { q: quotedFor(phone) } : {}) },
      })
      return {
        algorithm: 'SHA-256',
        challenge: challenge.challenge,
        maxnumber: difficulty,
        salt: challenge.salt,
        signature: challenge.signature,
      }
    },

    async redeem(payload, projectId, minDifficulty, at, phone) {
      let decoded: { salt?: unknown; signature?: unknown }
      try {
        decoded = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'))
      } catch {
        return false
      }
      if (typeof decoded.salt !== 'string' || typeof decoded.signature !== 'string') return false
      const params = Object.fromEntries(new URLSearchParams(decoded.salt.split('?')[1] ?? ''))
      const quoted = phone !== undefined && params.q === quotedFor(phone)
      if (params.p !== projectId || (!quoted && Number(params.d) < minDifficulty)) return false
      const expires = Number(params.expires) * 1000
      if (!Number.isFinite(expires) || expires <= at) return false
      let valid = false
      try {
        valid = await verifySolution(payload, hmacKey, false)
      } catch {
        return false
      }
      if (!valid) return false
      // Once only: the signature is remembered until the puzzle expires.
      const inserted = await db
        .insertInto('fraud_spent_challenges')
        .values({ signature: decoded.signature, expires_at: expires })
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
