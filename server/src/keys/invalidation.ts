/**
 * Dropping cached key lookups when a key or its project changes in this process (other processes
 * see the change when their entries expire). Kept apart from the cache so the projects module can
 * call it without importing the cache.
 * @module
 */

const caches = new WeakMap<object, { clear(): void }>()

/** Registers the cache that serves lookups for this database handle. */
export function registerKeyCache(db: object, cache: { clear(): void }): void {
  caches.set(db, cache)
}

/** Call after writing a key or a project: this process then reads them afresh. */
export function forgetCachedKeys(db: object): void {
  caches.get(db)?.clear()
}
