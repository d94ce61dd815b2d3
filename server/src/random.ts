/**
 * Random bytes from the CSPRNG, drawn a few kilobytes at a time: one call into OpenSSL per id or
 * per IV (a start needs about six) costs more than what it is for. Every byte is handed out once.
 * @module
 */
import { randomFillSync } from 'node:crypto'

const pool = Buffer.alloc(4096)
let used = pool.length

/** `length` (at most 4096) fresh random bytes, a copy of the pool's next unused ones. */
export function randomPoolBytes(length: number): Buffer {
  if (length > pool.length) throw new RangeError('[textgate] [random] asked for more than the pool')
  if (used + length > pool.length) {
    randomFillSync(pool)
    used = 0
  }
  const bytes = Buffer.from(pool.subarray(used, used + length))
  used += length
  return bytes
}
