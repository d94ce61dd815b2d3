/**
 * Solves the server's proof-of-work challenge (ALTCHA, SHA-256): find the number n ≤ maxnumber
 * with SHA-256(salt + n) = challenge. The hashing runs in WebCrypto (`crypto.subtle`, off the
 * page's main thread); the page only hands out batches and stays responsive. No Worker and no
 * blob URL, so it runs under a strict Content-Security-Policy.
 * @module
 */
import type { PowChallenge } from '@textgate/shared'

const BATCH = 256

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return bytes
}

function equal(buffer: ArrayBuffer, target: Uint8Array): boolean {
  const view = new Uint8Array(buffer)
  if (view.length !== target.length) return false
  for (let i = 0; i < view.length; i++) if (view[i] !== target[i]) return false
  return true
}

/** The base64 payload the server takes as `challenge` in the retried start. */
export async function solveChallenge(
  challenge: PowChallenge,
  signal?: AbortSignal,
): Promise<string> {
  const encoder = new TextEncoder()
  const target = hexToBytes(challenge.challenge)
  for (let first = 0; first <= challenge.maxnumber; first += BATCH) {
    signal?.throwIfAborted()
    const last = Math.min(challenge.maxnumber, first + BATCH - 1)
    const numbers = Array.from({ length: last - first + 1 }, (_, i) => first + i)
    const hashes = await Promise.all(
      numbers.map((n) => crypto.subtle.digest('SHA-256', encoder.encode(`${challenge.salt}${n}`))),
    )
    const index = hashes.findIndex((hash) => equal(hash, target))
    if (index !== -1) {
      return btoa(
        JSON.stringify({
          algorithm: challenge.algorithm,
          challenge: challenge.challenge,
          number: numbers[index],
          salt: challenge.salt,
          signature: challenge.signature,
        }),
      )
    }
  }
  throw new Error('the challenge has no solution')
}
