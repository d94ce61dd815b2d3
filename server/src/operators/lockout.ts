/**
 * Whose failed sign-ins an attempt counts toward, and the lock that follows: the account's, which
 * holds every client without a device cookie for it (a guesser, from however many addresses), or
 * one browser's the operator signed in on before (see ./devices.ts), which holds that browser
 * alone. Ten failures in a row lock the one they count toward for 15 minutes.
 * @module
 */
import type { DatabaseWriter } from '../storage'

export const MAX_FAILED_LOGINS = 10
export const LOCKOUT_MS = 15 * 60_000

export type Lockout =
  /** Clients without a device cookie for the account: its `failed_logins` and `locked_until`. */
  | { kind: 'account'; operatorId: string }
  /** A browser with the operator's device cookie: the device row's own count and lock. */
  | { kind: 'device'; operatorId: string; deviceId: string }

export const accountLockout = (operatorId: string): Lockout => ({ kind: 'account', operatorId })

/** The row that keeps the count: both tables have `id`, `failed_logins` and `locked_until`. */
const rowOf = (lockout: Lockout) =>
  lockout.kind === 'account'
    ? { table: 'operators' as 'operators' | 'operator_devices', id: lockout.operatorId }
    : { table: 'operator_devices' as 'operators' | 'operator_devices', id: lockout.deviceId }

/**
 * One more failure; the tenth in a row locks. One statement that counts from the stored value, so
 * failures that run at the same time each count (a count read before a 100 ms scrypt and written
 * back after let a burst of guesses count as one).
 */
export async function recordFailure(db: DatabaseWriter, lockout: Lockout, now: number) {
  const { table, id } = rowOf(lockout)
  await db
    .updateTable(table)
    .set((eb) => {
      const locks = eb('failed_logins', '>=', MAX_FAILED_LOGINS - 1)
      return {
        failed_logins: eb
          .case()
          .when(locks)
          .then(0)
          .else(eb('failed_logins', '+', 1))
          .end(),
        locked_until: eb
          .case()
          .when(locks)
          .then(now + LOCKOUT_MS)
          .else(eb.ref('locked_until'))
          .end(),
      }
    })
    .where('id', '=', id)
    .execute()
}

/**
 * The lock as stored now, read again after a slow check: guesses sent at once all pass the first
 * look before any of them fails, and a right one among them must not open what the wrong ones
 * locked meanwhile.
 */
export async function lockedNow(
  db: DatabaseWriter,
  lockout: Lockout,
  now: number,
): Promise<number | null> {
  const { table, id } = rowOf(lockout)
  const row = await db
    .selectFrom(table)
    .select('locked_until')
    .where('id', '=', id)
    .executeTakeFirst()
  return row?.locked_until != null && row.locked_until > now ? row.locked_until : null
}

/**
 * A sign-in completed: the count starts again. Only while not locked (false then): wrong answers
 * sent alongside may have locked it, and the right one must then be refused as they are.
 */
export async function clearFailures(
  db: DatabaseWriter,
  lockout: Lockout,
  now: number,
): Promise<boolean> {
  const { table, id } = rowOf(lockout)
  const result = await db
    .updateTable(table)
    .set({ failed_logins: 0, locked_until: null })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

/** What a sign-in attempt from one client counts toward, per operator (see ./devices.ts). */
export interface KnownDevices {
  lockoutFor(operatorId: string): Promise<Lockout>
}

/** A client without a device cookie: every attempt counts toward the account. */
export const NO_DEVICE: KnownDevices = { lockoutFor: async (id) => accountLockout(id) }
