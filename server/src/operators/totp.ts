/**
 * TOTP (RFC 6238) second factor: 30-second steps, 6 digits, one step of clock drift either way,
 * and each step accepted at most once per operator (a code seen over a shoulder or replayed from
 * a log opens nothing). Codes come from @oslojs/otp.
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { encodeBase32UpperCaseNoPadding } from '@oslojs/encoding'
import { createTOTPKeyURI, generateHOTP } from '@oslojs/otp'

export const TOTP_PERIOD_SECONDS = 30
export const TOTP_DIGITS = 6

export function newTotpSecret(): Uint8Array {
  return new Uint8Array(randomBytes(20))
}

export function totpSecretText(secret: Uint8Array): string {
  return encodeBase32UpperCaseNoPadding(secret)
}

/** The `otpauth://` URI an authenticator app reads from the QR code. */
export function totpUri(secret: Uint8Array, issuer: string, account: string): string {
  return createTOTPKeyURI(issuer, account, secret, TOTP_PERIOD_SECONDS, TOTP_DIGITS)
}

export function totpStep(now: number): number {
  return Math.floor(now / 1000 / TOTP_PERIOD_SECONDS)
}

/** The current code (tests and the CLI's demo set-up use it; never logged). */
export function totpCode(secret: Uint8Array, now: number): string {
  return generateHOTP(secret, BigInt(totpStep(now)), TOTP_DIGITS)
}

/**
 * The step `code` belongs to (now, one before or one after), or null when it matches none or
 * only steps at or before `lastStep`.
 */
export function matchTotp(
  secret: Uint8Array,
  code: string,
  now: number,
  lastStep: number | null,
): number | null {
  if (!/^\d{6}$/.test(code)) return null
  const current = totpStep(now)
  let matched: number | null = null
  for (const step of [current - 1, current, current + 1]) {
    const expected = generateHOTP(secret, BigInt(step), TOTP_DIGITS)
    // Every step is compared, whatever matched: no timing tells which one did.
    if (timingSafeEqual(Buffer.from(expected), Buffer.from(code)) && matched === null) {
      matched = step
    }
  }
  if (matched === null || (lastStep !== null && matched <= lastStep)) return null
  return matched
}
