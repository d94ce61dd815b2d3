/**
 * Counter keys as keyed HMACs: counters are keyed by numbers, prefixes and addresses
 * (`start:prj_…:phone:+447400123456`), and a counter row must not keep a number the shopper
 * asked to have erased, nor hand one to whoever reads the table or Redis. The store sees only
 * HMAC-SHA256(key derived from TEXTGATE_SECRET, key): same counting, nothing readable.
 * @module
 */
import { createHmac } from 'node:crypto'
import { BoundedCache } from '../../bounded-cache'
import { sha256Hmac } from '../../secrets/hmac'
import type { CounterRef, CounterStore } from './types'

/** Counter-key HMACs kept per process (a generation: up to twice as many). */
const DIGEST_CACHE_SIZE = 4096
/**
 * HMACs asked for once wait in young generations of this many (about 30 starts' own keys),
 * and enter the cache when asked for again after: a start's own number and address die young.
 */
const DIGEST_YOUNG = 256

/**
 * @example
 * const counters = keyedCounters(databaseCounters(db), secrets.pepper)
 */
export function keyedCounters(store: CounterStore, secret: Buffer): CounterStore {
  const key = createHmac('sha256', secret).update('textgate/counter-keys/v1').digest()
  // A start names a dozen counters, most of them shared by every start to a country or from a
  // project (`start:prj_…:country:GB`): their HMACs are kept, in memory only, the oldest dropped
  // past the bound, so a hot key costs a map lookup rather than an HMAC.
  const digests = new BoundedCache<string, string>(DIGEST_CACHE_SIZE, { young: DIGEST_YOUNG })
  const hmac = sha256Hmac(key)
  const hmacOf = (plain: string) => hmac(plain, 'base64url').slice(0, 32)
  const keyed = (refs: CounterRef[]) =>
    refs.map((ref): CounterRef => {
      const key = digests.getOrSet(ref.key, hmacOf)
      return ref.fixed
        ? { key, windowMs: ref.windowMs, fixed: true }
        : { key, windowMs: ref.windowMs }
    })
  return {
    hit: (refs, at, amount) => store.hit(keyed(refs), at, amount),
    add: (refs, at, amount) => store.add(keyed(refs), at, amount),
    read: (refs, at) => store.read(keyed(refs), at),
    ...(store.close ? { close: () => (store.close as () => Promise<void>)() } : {}),
  }
}
