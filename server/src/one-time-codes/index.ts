/**
 * One-time codes: drawn from a CSPRNG, stored only as HMAC(pepper, verification id ‖ code)
 * so a code is bound to the verification that created it, compared in constant time.
 * @module
 */
import { randomInt, timingSafeEqual } from 'node:crypto'
import { type Sha256Hmac, sha256Hmac } from '../secrets/hmac'

/** A code of `length` decimal digits, uniformly drawn (leading zeros allowed). */
export function generateCode(length: number): string {
  let code = ''
  for (let i = 0; i < length; i++) code += String(randomInt(0, 10))
  return code
}

/** Each pepper's HMAC, its pads laid out once (a server has one pepper). */
const hmacs = new WeakMap<Buffer, Sha256Hmac>()

export function hashCode(pepper: Buffer, verificationId: string, code: string): string {
  let hmac = hmacs.get(pepper)
  if (!hmac) {
    hmac = sha256Hmac(pepper)
    hmacs.set(pepper, hmac)
  }
  return hmac(`${verificationId}\u0000${code}`, 'hex')
}

/** Constant-time comparison of a submitted code with the stored HMAC. */
export function codeMatches(
  pepper: Buffer,
  verificationId: string,
  code: string,
  storedHmac: string,
): boolean {
  const expected = Buffer.from(storedHmac, 'hex')
  const actual = Buffer.from(hashCode(pepper, verificationId, code), 'hex')
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}
