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
  const bytes = Buffer.allocUnsafe(length)
  fillFromPool(bytes, 0, length)
  return bytes
}

/** Writes fresh random bytes into `target[start..end)` (at most 4096), with no allocation. */
export function fillFromPool(target: Uint8Array, start: number, end: number): void {
  const length = end - start
  if (length > pool.length) throw new RangeError('[textgate] [random] asked for more than the pool')
  if (used + length > pool.length) {
    randomFillSync(pool)
    used = 0
  }
  target.set(pool.subarray(used, used + length), start)
  // Past what was handed out: no byte is handed out twice.
  used += length
}
