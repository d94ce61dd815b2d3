/**
 * Keys derived from TEXTGATE_SECRET, the one secret kept outside the database, and the
 * authenticated encryption used for data at rest (signing keys, message bodies).
 * @module
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto'
import { randomPoolBytes } from '../random'

export interface Secrets {
  /** Pepper of HMAC(pepper, code): codes are stored only as that HMAC. */
  pepper: Buffer
  /** AES-256-GCM key for private signing keys and message bodies at rest. */
  encryptionKey: Buffer
  /** HMAC key of the audit log's hash chain: only its holder can write a row that verifies. */
  auditKey: Buffer
}

// The version in each label lets a future derivation coexist with this one during rotation.
const PEPPER_INFO = 'textgate/code-pepper/v1'
const ENCRYPTION_INFO = 'textgate/at-rest-encryption/v1'
const AUDIT_INFO = 'textgate/audit-chain/v1'
const SALT = 'textgate'

/**
 * Derives every key Textgate needs from the one secret (HKDF-SHA256).
 * @example
 * const { pepper, encryptionKey } = deriveSecrets(process.env.TEXTGATE_SECRET!)
 */
export function deriveSecrets(secret: string): Secrets {
  const ikm = Buffer.from(secret, 'utf8')
  return {
    pepper: Buffer.from(hkdfSync('sha256', ikm, SALT, PEPPER_INFO, 32)),
    encryptionKey: Buffer.from(hkdfSync('sha256', ikm, SALT, ENCRYPTION_INFO, 32)),
    auditKey: Buffer.from(hkdfSync('sha256', ikm, SALT, AUDIT_INFO, 32)),
  }
}

const CIPHER_VERSION = 'v1'

/** AES-256-GCM; the result is `v1.<base64url(iv ‖ tag ‖ ciphertext)>`. */
export function encrypt(key: Buffer, plaintext: string | Buffer): string {
  // A fresh random IV per text (96 bits, as GCM wants), from the CSPRNG's pooled bytes.
  const iv = randomPoolBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  const sealed = Buffer.concat([iv, cipher.getAuthTag(), ciphertext])
  return `${CIPHER_VERSION}.${sealed.toString('base64url')}`
}

/** Reverses {@link encrypt}; throws when the text was altered or the key is wrong. */
export function decryptToBuffer(key: Buffer, text: string): Buffer {
  const [version, payload] = text.split('.', 2)
  if (version !== CIPHER_VERSION || !payload) {
    throw new Error('[textgate] [secrets] unknown ciphertext format')
  }
  const sealed = Buffer.from(payload, 'base64url')
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12))
  decipher.setAuthTag(sealed.subarray(12, 28))
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()])
}

export function decrypt(key: Buffer, text: string): string {
  return decryptToBuffer(key, text).toString('utf8')
}
