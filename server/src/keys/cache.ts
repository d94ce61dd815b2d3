/**
 * The API key lookup cache of one process: every authenticated request asks it, so it is an
 * in-process map with a short lifetime per entry (bounded staleness: a key revoked by another
 * process stops working here within {@link KEY_CACHE_TTL_MS}) and a bounded size (the entry
 * fetched longest ago out: each is fetched again every TTL anyway, and a hit moves nothing, since
 * a long-lived Map that loses and regains a key per request makes old-generation garbage, see
 * ../in-flight). It also records when each key was last used, at most once a minute per key.
 * @module
 */
import type { Kysely } from 'kysely'
import { findApiKeyByHash, hashKey, isApiKeyShaped, type KeyLookup } from '../projects'
import type { Database } from '../storage'
import { registerKeyCache } from './invalidation'

/** How long a lookup (found or not) is trusted: a revocation reaches every process within it. */
export const KEY_CACHE_TTL_MS = 2_000
const MAX_ENTRIES = 10_000
const LAST_USED_EVERY_MS = 60_000

interface Entry {
  lookup: Promise<KeyLookup | undefined>
  fetchedAt: number
}

export interface KeyCache {
  /** The active key and its project, or undefined (malformed, unknown or revoked). */
  find(rawKey: string): Promise<KeyLookup | undefined>
  /** Drops every entry: this process sees a revocation at once. */
  clear(): void
  readonly size: number
}

export interface KeyCacheOptions {
  ttlMs?: number
  maxEntries?: number
  now?: () => number
}

/**
 * @example
 * const keys = createKeyCache(db)
 * const auth = await keys.find('pk_test_…')
 */
export function createKeyCache(
  db: Kysely<Database>,
  { ttlMs = KEY_CACHE_TTL_MS, maxEntries = MAX_ENTRIES, now = Date.now }: KeyCacheOptions = {},
): KeyCache {
  const entries = new Map<string, Entry>()
  /** Key id → when this process last wrote its last_used_at. */
  const usedWritten = new Map<string, number>()

  function noteUse(lookup: KeyLookup | undefined, at: number): void {
    if (!lookup) return
    const id = lookup.apiKey.id
    if (at - (usedWritten.get(id) ?? 0) < LAST_USED_EVERY_MS) return
    usedWritten.set(id, at)
    if (usedWritten.size > maxEntries) usedWritten.delete(usedWritten.keys().next().value as string)
    // Off the request's path; a lost write only makes "last used" a minute older.
    db.updateTable('api_keys')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .execute()
      .catch(() => {})
  }

  return {
    async find(rawKey: string) {
      if (!isApiKeyShaped(rawKey)) return undefined
      const at = now()
      const hash = hashKey(rawKey)
      let entry = entries.get(hash)
      if (!entry || at - entry.fetchedAt >= ttlMs) {
        // Fetched last, so the one fetched longest ago is first out.
        if (entry) entries.delete(hash)
        entry = { lookup: findApiKeyByHash(db, hash), fetchedAt: at }
        entries.set(hash, entry)
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string)
        // A failed lookup is not remembered: the next request asks the database again.
        entry.lookup.catch(() => {
          if (entries.get(hash) === entry) entries.delete(hash)
        })
      }
      const lookup = await entry.lookup
      noteUse(lookup, at)
      return lookup
    },
    clear() {
      entries.clear()
    },
    get size() {
      return entries.size
    },
  }
}

const caches = new WeakMap<Kysely<Database>, KeyCache>()

/** The process's cache for this database handle (one per server, one per test harness). */
export function keyCacheFor(db: Kysely<Database>): KeyCache {
  let cache = caches.get(db)
  if (!cache) {
    cache = createKeyCache(db)
    caches.set(db, cache)
    registerKeyCache(db, cache)
  }
  return cache
}
