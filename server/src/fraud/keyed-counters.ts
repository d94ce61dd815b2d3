/**
 * Counter keys as keyed HMACs: counters are keyed by numbers, prefixes and addresses
 * (`start:prj_…:phone:+447400123456`), and a counter row must not keep a number the shopper
 * asked to have erased, nor hand one to whoever reads the table or Redis. The store sees only
 * HMAC-SHA256(key derived from TEXTGATE_SECRET, key): same counting, nothing readable.
 * @module
 */
import { createHmac } from 'node:crypto'
import type { CounterRef, CounterStore } from './counters'

/**
 * @example
 * const counters = keyedCounters(databaseCounters(db), secrets.pepper)
 */
export function keyedCounters(store: CounterStore, secret: Buffer): CounterStore {
  const key = createHmac('sha256', secret).update('textgate/counter-keys/v1').digest()
  const keyed = (refs: CounterRef[]) =>
    refs.map((ref) => ({
      ...ref,
      key: createHmac('sha256', key).update(ref.key).digest('base64url').slice(0, 32),
    }))
  return {
    hit: (refs, at, amount) => store.hit(keyed(refs), at, amount),
    add: (refs, at, amount) => store.add(keyed(refs), at, amount),
    read: (refs, at) => store.read(keyed(refs), at),
    ...(store.close ? { close: () => (store.close as () => Promise<void>)() } : {}),
  }
}
