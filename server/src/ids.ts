import { randomBytes } from 'node:crypto'

/** `prefix_` followed by 20 random base32 characters (100 bits). */
export function newId(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  const bytes = randomBytes(20)
  let id = ''
  for (const byte of bytes) id += alphabet[byte & 31]
  return `${prefix}_${id}`
}
