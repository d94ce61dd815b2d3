import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createTestStorage, DIALECTS } from '../../testing/storage'
import { migrateToLatest, openStorage, parseDatabaseUrl } from './index'
import { migrations } from './migrations'

describe('DATABASE_URL', () => {
  it('reads every documented form', () => {
    expect(parseDatabaseUrl('postgres://u@h:5432/db')).toEqual({
      dialect: 'postgres',
      connectionString: 'postgres://u@h:5432/db',
    })
    expect(parseDatabaseUrl('postgresql://h/db').dialect).toBe('postgres')
    expect(parseDatabaseUrl('sqlite:./data/x.db')).toEqual({
      dialect: 'sqlite',
      path: './data/x.db',
    })
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' })
    expect(() => parseDatabaseUrl('mysql://h/db')).toThrow(/must start with/)
    expect(() => parseDatabaseUrl('sqlite:')).toThrow(/needs a path/)
  })

  it('opens a SQLite file in WAL mode, creating its folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-storage-'))
    const storage = openStorage(`sqlite:${dir}/nested/textgate.db`)
    await migrateToLatest(storage)
    const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(storage.db)
    expect(rows[0]?.journal_mode).toBe('wal')
    await storage.close()
  })
})

for (const dialect of DIALECTS) {
  describe(`storage (${dialect})`, () => {
    it('applies every listed migration once, and is idempotent', async () => {
      const storage = await createTestStorage(dialect)
      try {
        expect(await migrateToLatest(storage)).toEqual([])
        const tables = (await storage.db.introspection.getTables()).map((t) => t.name)
        for (const table of [
          'projects',
          'api_keys',
          'verifications',
          'messages',
          'outbox',
          'signing_keys',
        ]) {
          expect(tables).toContain(table)
        }
        expect(Object.keys(migrations).every((name) => /^\d{8}T\d{6}-[a-z0-9-]+$/.test(name))).toBe(
          true,
        )
      } finally {
        await storage.dispose()
      }
    })

    it('round-trips epoch milliseconds as numbers', async () => {
      const storage = await createTestStorage(dialect)
      try {
        const at = Date.parse('2026-11-25T12:34:56.789Z')
        await storage.db
          .insertInto('projects')
          .values({
            id: 'prj_x',
            name: 'x',
            allowed_origins: '[]',
            allowed_countries: null,
            brand: 'x',
            code_length: 6,
            created_at: at,
          })
          .execute()
        const row = await storage.db.selectFrom('projects').selectAll().executeTakeFirstOrThrow()
        expect(row.created_at).toBe(at)
        expect(typeof row.created_at).toBe('number')
      } finally {
        await storage.dispose()
      }
    })
  })
}
