import { randomPoolBytes } from './random'

/** Base32 in ASCII order, so ids that start with a time sort by it. */
const ALPHABET = '234567abcdefghijklmnopqrstuvwxyz'
/** 9 characters of the time in milliseconds (45 bits: until the year 3084). */
const TIME_LENGTH = 9
/** 16 random characters: 80 bits, so an id is never guessed from another or from the time. */
const RANDOM_LENGTH = 16

/**
 * `prefix_` then the time (9 base32 characters, milliseconds) and 16 random base32 characters
 * (80 bits). Ids made close together sort together, so a table's primary-key index grows at one
 * end (a new row dirties the pages of the newest rows, which are in cache, instead of a random
 * page of the whole index): the reasoning of UUIDv7 (RFC 9562).
 */
export function newId(prefix: string, at = Date.now()): string {
  let time = ''
  let rest = Math.max(0, Math.floor(at))
  for (let i = 0; i < TIME_LENGTH; i++) {
    time = ALPHABET[rest % 32] + time
    rest = Math.floor(rest / 32)
  }
  let id = `${prefix}_${time}`
  const random = randomPoolBytes(RANDOM_LENGTH)
  for (let i = 0; i < RANDOM_LENGTH; i++) id += ALPHABET[(random[i] as number) & 31]
  return id
}

/**
 * True when `value` looks like an id {@link newId} made with `prefix` (ids made by older versions
 * included). Checked before any query: a NUL or a stray byte never reaches the database.
 */
export function isId(prefix: string, value: string): boolean {
  return value.startsWith(`${prefix}_`) && /^[a-z0-9]{1,64}$/.test(value.slice(prefix.length + 1))
}
