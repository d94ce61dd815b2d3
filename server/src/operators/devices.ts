/**
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"). A browser on
 * which an operator passed both sign-in factors gets a cookie naming them, signed with a key
 * derived from TEXTGATE_SECRET and backed by a row with its own failure count and lock (see
 * ./lockout.ts). Sign-in attempts for that operator that present it count toward that browser's
 * lock, not the account's: a guesser spread over many addresses, who locks the account for every
 * other client, does not lock its operator out of the browsers they sign in on, and a browser
 * whose cookie fails ten times in a row is locked itself.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../storage'
import { hashToken } from './index'
import { accountLockout, type KnownDevices, type Lockout } from './lockout'

/** A browser stays known this long after its last full sign-in (each one renews it). */
export const DEVICE_TTL_MS = 90 * 24 * 3600_000
/** Operators one browser remembers (a shared office computer); the longest unused drops out. */
const MAX_OPERATORS = 5
const MAX_COOKIE_LENGTH = 1024
/** `operatorId.randomId.signature`, the last two base64url (16 and 32 bytes). */
const ENTRY = /^(op_[a-z0-9]{1,64})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/

/** The key that signs device cookies, derived from the at-rest key (itself from the secret). */
export function deviceKey(encryptionKey: Buffer): Buffer {
  return createHmac('sha256', encryptionKey).update('textgate/console-device/v1').digest()
}

interface Entry {
  operatorId: string
  randomId: string
  text: string
}

const signature = (key: Buffer, operatorId: string, randomId: string) =>
  createHmac('sha256', key).update(`${operatorId}.${randomId}`).digest()

/** The cookie's entries whose signature holds, one per operator; anything else is ignored. */
function readEntries(key: Buffer, cookie: string | undefined): Entry[] {
  if (!cookie || cookie.length > MAX_COOKIE_LENGTH) return []
  const entries: Entry[] = []
  for (const text of cookie.split('~').slice(0, MAX_OPERATORS)) {
    const [, operatorId, randomId, sent] = ENTRY.exec(text) ?? []
    if (!operatorId || !randomId || !sent) continue
    if (!timingSafeEqual(Buffer.from(sent, 'base64url'), signature(key, operatorId, randomId))) {
      continue
    }
    if (!entries.some((e) => e.operatorId === operatorId))
      entries.push({ operatorId, randomId, text })
  }
  return entries
}

/**
 * The device cookie a sign-in attempt came with. An entry makes the browser known only for the
 * operator it names, with a right signature, and while its row exists and was used within
 * {@link DEVICE_TTL_MS}; otherwise the attempt is an unknown client's and counts toward the
 * account.
 * @example
 * const devices = knownDevices(db, key, getCookie(c, 'textgate_device'), Date.now())
 * await checkPassword(db, email, password, Date.now(), devices)
 */
export function knownDevices(
  db: Kysely<Database>,
  key: Buffer,
  cookie: string | undefined,
  now: number,
): KnownDevices {
  const entries = readEntries(key, cookie)
  return {
    async lockoutFor(operatorId: string): Promise<Lockout> {
      const entry = entries.find((e) => e.operatorId === operatorId)
      if (!entry) return accountLockout(operatorId)
      const deviceId = hashToken(entry.randomId)
      const row = await db
        .selectFrom('operator_devices')
        .select('id')
        .where('id', '=', deviceId)
        .where('operator_id', '=', operatorId)
        .where('last_used_at', '>', now - DEVICE_TTL_MS)
        .executeTakeFirst()
      return row ? { kind: 'device', operatorId, deviceId } : accountLockout(operatorId)
    },
  }
}

/**
 * Both factors passed on this browser: its entry for the operator is renewed (or made, with a new
 * row), and the cookie's new value returned, the other operators' entries kept after it.
 */
export async function rememberDevice(
  db: Kysely<Database>,
  key: Buffer,
  cookie: string | undefined,
  operatorId: string,
  now: number,
): Promise<string> {
  const entries = readEntries(key, cookie)
  let entry = entries.find((e) => e.operatorId === operatorId)
  const renewed =
    entry &&
    Number(
      (
        await db
          .updateTable('operator_devices')
          .set({ last_used_at: now })
          .where('id', '=', hashToken(entry.randomId))
          .where('operator_id', '=', operatorId)
          .executeTakeFirst()
      ).numUpdatedRows,
    ) === 1
  if (!renewed) {
    const randomId = randomBytes(16).toString('base64url')
    await db
      .insertInto('operator_devices')
      .values({
        id: hashToken(randomId),
        operator_id: operatorId,
        created_at: now,
        last_used_at: now,
        locked_until: null,
      })
      .execute()
    const signed = signature(key, operatorId, randomId).toString('base64url')
    entry = { operatorId, randomId, text: `${operatorId}.${randomId}.${signed}` }
  }
  return [entry as Entry, ...entries.filter((e) => e.operatorId !== operatorId)]
    .slice(0, MAX_OPERATORS)
    .map((e) => e.text)
    .join('~')
}

/** Rows of browsers not signed in on for {@link DEVICE_TTL_MS} (their cookies opened nothing). */
export async function dropExpiredDevices(db: Kysely<Database>, now: number): Promise<number> {
  const result = await db
    .deleteFrom('operator_devices')
    .where('last_used_at', '<=', now - DEVICE_TTL_MS)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
