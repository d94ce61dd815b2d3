/**
 * Operator passwords per NIST SP 800-63B: a minimum length and a maximum far above it, any
 * character, no composition rules, refused when on a list of passwords known from breaches;
 * stored as scrypt (OWASP's parameters) with a random salt, compared in constant time.
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

export const MIN_PASSWORD_LENGTH = 12
export const MAX_PASSWORD_LENGTH = 256

export interface PasswordCost {
  N: number
  r: number
  p: number
}

/** OWASP Password Storage Cheat Sheet: N=2^15, r=8, p=3 (32 MiB) is one of its equal choices. */
export const PASSWORD_COST: Readonly<PasswordCost> = Object.freeze({ N: 2 ** 15, r: 8, p: 3 })
const KEY_LENGTH = 32

let cost: Readonly<PasswordCost> = PASSWORD_COST

/**
 * Tests only: hash new passwords at a lower cost (a hash keeps its own parameters, so
 * verifying is unchanged). In-process suites log operators in hundreds of times, each a
 * 32 MiB scrypt at the production cost. Refused outside vitest, so no server can run with it.
 */
export function setPasswordCostForTests(testCost: PasswordCost): void {
  if (!process.env.VITEST) throw new Error('setPasswordCostForTests is for tests run by vitest')
  cost = Object.freeze({ ...testCost })
}

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFKC'),
      salt,
      KEY_LENGTH,
      { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  )
}

/** `scrypt$N$r$p$salt$hash`: the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const { N, r, p } = cost
  const key = await derive(password, salt, N, r, p)
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64url')
  const key = await derive(
    password,
    Buffer.from(salt, 'base64url'),
    Number(n),
    Number(r),
    Number(p),
  )
  return key.length === expected.length && timingSafeEqual(key, expected)
}

/** A stand-in hash, so a login with an unknown email takes as long as one with a known one. */
let dummyHash: Promise<string> | undefined
export async function spendPasswordTime(password: string): Promise<void> {
  dummyHash ??= hashPassword('textgate-dummy-password')
  await verifyPassword(password, await dummyHash)
}

let breached: Set<string> | undefined

/**
 * The zxcvbn-ts common-password list (about 49,000 passwords seen most often in breaches),
 * shipped as data in the package: no network call, loaded on first use.
 */
async function breachedPasswords(): Promise<Set<string>> {
  if (!breached) {
    const { dictionary } = await import('@zxcvbn-ts/language-common')
    breached = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()))
  }
  return breached
}

export type PasswordProblem = 'too_short' | 'too_long' | 'breached' | 'contains_email'

/** Why a new password is refused, or null when it is fine. */
export async function passwordProblem(
  password: string,
  email?: string,
): Promise<PasswordProblem | null> {
  const length = [...password].length
  if (length < MIN_PASSWORD_LENGTH) return 'too_short'
  if (length > MAX_PASSWORD_LENGTH) return 'too_long'
  const lower = password.toLowerCase()
  const list = await breachedPasswords()
  // A listed password padded with digits or a "!" is as guessable as the password itself.
  const core = lower.replace(/[\d!.?@#$%^&*_-]+$/u, '').replace(/^[\d!.?@#$%^&*_-]+/u, '')
  if (list.has(lower) || list.has(core)) return 'breached'
  const local = email?.split('@')[0]?.toLowerCase()
  if (local && local.length >= 4 && lower.includes(local)) return 'contains_email'
  return null
}
