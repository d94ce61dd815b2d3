import { fillFromPool } from './random'

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
  // Written as character codes into one buffer and read as one string: appending 25 characters
  // one by one makes a chain of 25 partial strings for the garbage collector (a start makes
  // several ids).
  let rest = Math.max(0, Math.floor(at))
  for (let i = TIME_LENGTH - 1; i >= 0; i--) {
    ID_CHARS[i] = ALPHABET_CODES[rest % 32] as number
    rest = Math.floor(rest / 32)
  }
  fillFromPool(ID_CHARS, TIME_LENGTH, ID_CHARS.length)
  for (let i = TIME_LENGTH; i < ID_CHARS.length; i++) {
    ID_CHARS[i] = ALPHABET_CODES[(ID_CHARS[i] as number) & 31] as number
  }
  return `${prefix}_${ID_CHARS.toString('latin1')}`
}

const ALPHABET_CODES = Buffer.from(ALPHABET, 'latin1')
/** The characters after the prefix, rewritten by every call (ids are made one at a time). */
const ID_CHARS = Buffer.alloc(TIME_LENGTH + RANDOM_LENGTH)

/**
 * True when `value` looks like an id {@link newId} made with `prefix` (ids made by older versions
 * included). Checked before any query: a NUL or a stray byte never reaches the database.
 */
export function isId(prefix: string, value: string): boolean {
  return value.startsWith(`${prefix}_`) && /^[a-z0-9]{1,64}$/.test(value.slice(prefix.length + 1))
}
