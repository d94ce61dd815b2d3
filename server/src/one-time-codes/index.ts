/**
 * One-time codes: drawn from a CSPRNG, stored only as HMAC(pepper, verification id ‖ code)
 * so a code is bound to the verification that created it, compared in constant time.
 * @module
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto'

/** A code of `length` decimal digits, uniformly drawn (leading zeros allowed). */
export function generateCode(length: number): string {
  let code = ''
  for (let i = 0; i < length; i++) code += String(randomInt(0, 10))
  return code
}

export function hashCode(pepper: Buffer, verificationId: string, code: string): string {
  return createHmac('sha256', pepper).update(`${verificationId}\u0000${code}`).digest('hex')
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
