import { randomFillSync } from 'node:crypto'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const ID_LENGTH = 20

/**
 * Random bytes from the CSPRNG, drawn a few kilobytes at a time: one call into OpenSSL per id
 * (a start makes four) costs more than the id. Every byte is used once.
 */
const pool = Buffer.alloc(4096)
let used = pool.length

/** `prefix_` followed by 20 random base32 characters (100 bits). */
export function newId(prefix: string): string {
  if (used + ID_LENGTH > pool.length) {
    randomFillSync(pool)
    used = 0
  }
  let id = `${prefix}_`
  for (let i = used; i < used + ID_LENGTH; i++) id += ALPHABET[(pool[i] as number) & 31]
  used += ID_LENGTH
  return id
}

/**
 * True when `value` looks like an id {@link newId} made with `prefix` (ids made by older versions
 * included). Checked before any query: a NUL or a stray byte never reaches the database.
 */
export function isId(prefix: string, value: string): boolean {
  return value.startsWith(`${prefix}_`) && /^[a-z0-9]{1,64}$/.test(value.slice(prefix.length + 1))
}
