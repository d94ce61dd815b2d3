import { PostgresAdapter } from 'kysely'
import { expect, it, vi } from 'vitest'
import { fraudCheckContract } from '../../../testing/fraud-check.case'
import { fraudContext } from '../context'
import { databaseCounters } from '../counters'
import {
  addListEntry,
  LIST_COPY_TTL_MS,
  listEntries,
  matchLists,
  removeListEntry,
} from '../list-entries'
import { DEFAULT_FRAUD_SETTINGS } from '../settings'
import { listsCheck } from './lists'

fraudCheckContract({
  check: listsCheck,
  settings: (mode) => ({ lists: { mode } }),
  provoke: async (start, { deps }) => {
    await addListEntry(deps.db, start.projectId, { list: 'block', kind: 'prefix', value: '+44740' })
    return start
  },
  additionalTests: ({ storage }) => {
    it('an allow entry allows, unless a block entry matches too', async () => {
      const { db } = storage()
      const deps = { db, counters: databaseCounters(db) }
      const ctx = fraudContext(
        {
          projectId: 'prj_lists',
          mode: 'test',
          phone: '+447400123456',
          country: 'GB',
          ip: '203.0.113.7',
        },
        { settings: DEFAULT_FRAUD_SETTINGS, at: Date.now() },
      )
      await addListEntry(db, 'prj_lists', { list: 'allow', kind: 'ip', value: '203.0.113.0/24' })
      expect(await listsCheck.run(ctx, deps)).toEqual({ findings: [], allow: 'list.allow.ip' })
      await addListEntry(db, 'prj_lists', { list: 'block', kind: 'country', value: 'GB' })
      expect(await listsCheck.run(ctx, deps)).toEqual({
        findings: [{ decision: 'block', reason: 'list.block.country', scope: 'number' }],
        allow: undefined,
      })
    })

    it('answers lookups made together each with its own matches', async () => {
      const { db } = storage()
      const at = Date.now()
      await addListEntry(db, 'prj_many', { list: 'block', kind: 'prefix', value: '+4474001' })
      await addListEntry(db, 'prj_many', { list: 'allow', kind: 'ip', value: '198.51.100.0/24' })
      await addListEntry(db, '*', { list: 'block', kind: 'country', value: 'NG' })
      await addListEntry(db, 'prj_other', { list: 'block', kind: 'phone', value: '+447400999999' })
      const statements = vi.spyOn(db, 'executeQuery')
      const found = await Promise.all([
        matchLists(
          db,
          'prj_many',
          { phone: '+447400123456', country: 'GB', ip: '198.51.100.7' },
          at,
        ),
        matchLists(db, 'prj_many', { phone: '+2348031234567', country: 'NG', ip: null }, at),
        matchLists(
          db,
          'prj_many',
          { phone: '+447400999999', country: 'GB', ip: '203.0.113.1' },
          at,
        ),
        matchLists(db, 'prj_other', { phone: '+447400999999', country: 'GB', ip: null }, at),
      ])
      // Short lists are copied into memory: one read per project, shared by its lookups.
      expect(statements).toHaveBeenCalledTimes(2)
      statements.mockClear()
      await matchLists(db, 'prj_many', { phone: '+447400123456', country: 'GB', ip: null }, at)
      expect(statements).not.toHaveBeenCalled()
      statements.mockRestore()
      expect(found).toEqual([
        [
          { list: 'block', kind: 'prefix', value: '+4474001' },
          { list: 'allow', kind: 'ip', value: '198.51.100.0/24' },
        ],
        [{ list: 'block', kind: 'country', value: 'NG' }],
        [],
        [{ list: 'block', kind: 'phone', value: '+447400999999' }],
      ])
    })

    it('asks the database per lookup for a list too long to copy, batched on PostgreSQL', async () => {
      const { db } = storage()
      const at = Date.now()
      const entries = Array.from({ length: 5_001 }, (_, i) => ({
        id: `fle_long_${i}`,
        project_id: 'prj_long',
        list: 'block' as const,
        kind: 'phone' as const,
        value: `+4474000${String(i).padStart(5, '0')}`,
        note: null,
        created_at: at,
        expires_at: null,
      }))
      for (let i = 0; i < entries.length; i += 1_000) {
        await db
          .insertInto('fraud_list_entries')
          .values(entries.slice(i, i + 1_000))
          .execute()
      }
      const statements = vi.spyOn(db, 'executeQuery')
      const subject = (n: number) => ({
        phone: `+4474000${String(n).padStart(5, '0')}`,
        country: 'GB',
        ip: null,
      })
      const found = await Promise.all([
        matchLists(db, 'prj_long', subject(12), at),
        matchLists(db, 'prj_long', subject(5_000), at),
        matchLists(db, 'prj_long', subject(99_999), at),
      ])
      // The copy's read (too many), then PostgreSQL asks once for all three, SQLite for each.
      expect(statements).toHaveBeenCalledTimes(
        db.getExecutor().adapter instanceof PostgresAdapter ? 2 : 4,
      )
      statements.mockRestore()
      expect(found).toEqual([
        [{ list: 'block', kind: 'phone', value: '+447400000012' }],
        [{ list: 'block', kind: 'phone', value: '+447400005000' }],
        [],
      ])
      // Not copied, so a change made elsewhere counts at once.
      await db
        .insertInto('fraud_list_entries')
        .values({ ...entries[0]!, id: 'fle_long_new', value: '+447400099999' })
        .execute()
      expect(await matchLists(db, 'prj_long', subject(99_999), at)).toHaveLength(1)
    })

    it('a change made elsewhere counts within LIST_COPY_TTL_MS, one made here at once', async () => {
      const { db } = storage()
      vi.useFakeTimers({ toFake: ['Date'] })
      try {
        const at = Date.now()
        const subject = { phone: '+447400123456', country: 'GB', ip: null }
        expect(await matchLists(db, 'prj_ttl', subject, at)).toEqual([])
        // Another process (the CLI, another server) adds an entry: straight into the table.
        await db
          .insertInto('fraud_list_entries')
          .values({
            id: 'fle_elsewhere',
            project_id: 'prj_ttl',
            list: 'block',
            kind: 'prefix',
            value: '+447400',
            note: null,
            created_at: at,
            expires_at: null,
          })
          .execute()
        vi.setSystemTime(at + LIST_COPY_TTL_MS - 1)
        expect(await matchLists(db, 'prj_ttl', subject, at)).toEqual([])
        vi.setSystemTime(at + LIST_COPY_TTL_MS)
        const block = { list: 'block', kind: 'prefix', value: '+447400' }
        expect(await matchLists(db, 'prj_ttl', subject, at)).toEqual([block])
        // Through this process: at once, for this project and (for `*`) every project.
        const allow = await addListEntry(db, 'prj_ttl', {
          list: 'allow',
          kind: 'phone',
          value: '+447400123456',
        })
        expect(await matchLists(db, 'prj_ttl', subject, at)).toEqual([
          block,
          { list: 'allow', kind: 'phone', value: '+447400123456' },
        ])
        expect(await removeListEntry(db, 'prj_ttl', allow.id)).toBe(true)
        expect(await matchLists(db, 'prj_ttl', subject, at)).toEqual([block])
        await addListEntry(db, '*', { list: 'block', kind: 'country', value: 'GB' })
        expect(await matchLists(db, 'prj_ttl', subject, at)).toContainEqual({
          list: 'block',
          kind: 'country',
          value: 'GB',
        })
      } finally {
        vi.useRealTimers()
      }
    })

    it('an entry stops counting once it has expired', async () => {
      const { db } = storage()
      const deps = { db, counters: databaseCounters(db) }
      const at = Date.parse('2026-11-25T12:00:00Z')
      const ctxAt = (when: number) =>
        fraudContext(
          {
            projectId: 'prj_expiry',
            mode: 'test',
            phone: '+447400123456',
            country: 'GB',
            ip: null,
          },
          { settings: DEFAULT_FRAUD_SETTINGS, at: when },
        )
      await addListEntry(
        db,
        'prj_expiry',
        { list: 'block', kind: 'phone', value: '+447400123456', expiresAt: at + 3_600_000 },
        at,
      )
      expect((await listsCheck.run(ctxAt(at + 3_599_999), deps)).findings).toEqual([
        { decision: 'block', reason: 'list.block.phone', scope: 'number' },
      ])
      expect((await listsCheck.run(ctxAt(at + 3_600_000), deps)).findings).toEqual([])
      expect(await listEntries(db, 'prj_expiry', at + 3_600_000)).toEqual([])
      expect((await listEntries(db, 'prj_expiry', at)).map((e) => e.expiresAt)).toEqual([
        '2026-11-25T13:00:00.000Z',
      ])
      // An expiry in the past is refused, with the field named.
      await expect(
        addListEntry(
          db,
          'prj_expiry',
          { list: 'block', kind: 'country', value: 'NG', expiresAt: '2026-11-25T11:00:00Z' },
          at,
        ),
      ).rejects.toMatchObject({ details: { issues: [{ path: 'expiresAt' }] } })
    })
  },
})
