/**
 * The overlap of a webhook secret rotation: every earlier secret whose overlap has not ended
 * signs too (one more `v1,` signature each), until its own end, so a receiver still on any of
 * them verifies while it moves to the newest. Kept in the endpoint's `previous_secrets`, newest
 * first, encrypted like the current one.
 * @module
 */

/** Earlier secrets that sign at once at most: a further rotation drops the oldest. */
export const MAX_PREVIOUS_SECRETS = 5

/** One earlier secret: `secret` encrypted, `expiresAt` when it stops signing (epoch ms). */
export interface PreviousSecret {
  secret: string
  expiresAt: number
}

/** The column's JSON read (null and unreadable both as none). */
export function readPreviousSecrets(column: string | null): PreviousSecret[] {
  if (column === null) return []
  try {
    const parsed: unknown = JSON.parse(column)
    return Array.isArray(parsed)
      ? parsed.filter(
          (p): p is PreviousSecret =>
            typeof p?.secret === 'string' && typeof p?.expiresAt === 'number',
        )
      : []
  } catch {
    return []
  }
}

/** Those still signing at `at`, newest first. */
export function inOverlap(column: string | null, at: number): PreviousSecret[] {
  return readPreviousSecrets(column).filter((p) => p.expiresAt > at)
}

/**
 * The column after a rotation at `at` that replaces `current` (encrypted) and keeps it signing
 * for `keepMs`: it joins those still in their overlap, newest first, {@link MAX_PREVIOUS_SECRETS}
 * at most. `keepMs` 0 ends every overlap: the new secret alone signs from now (a leaked secret).
 * @example
 * afterRotation(endpoint.secret_encrypted, endpoint.previous_secrets, 86_400_000, Date.now())
 */
export function afterRotation(
  current: string,
  column: string | null,
  keepMs: number,
  at: number,
): string | null {
  if (keepMs <= 0) return null
  const kept = [{ secret: current, expiresAt: at + keepMs }, ...inOverlap(column, at)]
  return JSON.stringify(kept.slice(0, MAX_PREVIOUS_SECRETS))
}
