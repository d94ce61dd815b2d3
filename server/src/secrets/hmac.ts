/**
 * HMAC-SHA256 (RFC 2104) for the hot path's short messages (counter keys, one-time codes): the
 * key's inner and outer pads are laid out once, and a message costs two one-shot hashes
 * (`crypto.hash`) instead of a new Hmac object and its key set-up. The digest is
 * `createHmac('sha256', key)`'s, byte for byte.
 * @module
 */
import { createHash, createHmac, hash } from 'node:crypto'

/** SHA-256's block: a longer key is hashed first, a shorter one padded with zeros. */
const BLOCK = 64
/** Message bytes the prepared buffer holds; a longer message goes to `createHmac`. */
const MAX_MESSAGE_BYTES = 1024

export type Sha256Hmac = (message: string, encoding: 'hex' | 'base64url') => string

/**
 * @example
 * const hmac = sha256Hmac(key)
 * hmac('start:prj_…:phone:+447400123456', 'base64url')
 */
export function sha256Hmac(key: Buffer): Sha256Hmac {
  const block = key.length > BLOCK ? createHash('sha256').update(key).digest() : key
  const inner = Buffer.alloc(BLOCK + MAX_MESSAGE_BYTES)
  const outer = Buffer.alloc(BLOCK + 32)
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (block[i] ?? 0) ^ 0x36
    outer[i] = (block[i] ?? 0) ^ 0x5c
  }
  return (message, encoding) => {
    // UTF-8 takes at most three bytes for each UTF-16 unit.
    if (message.length * 3 > MAX_MESSAGE_BYTES) {
      return createHmac('sha256', key).update(message).digest(encoding)
    }
    const length = inner.write(message, BLOCK, 'utf8')
    hash('sha256', inner.subarray(0, BLOCK + length), 'buffer').copy(outer, BLOCK)
    return hash('sha256', outer, encoding)
  }
}
