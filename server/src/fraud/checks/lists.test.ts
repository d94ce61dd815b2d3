import { expect, it } from 'vitest'
import { fraudCheckContract } from '../../../testing/fraud-check.case'
import { fraudContext } from '../context'
import { databaseCounters } from '../counters'
import { addListEntry } from '../list-entries'
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
  },
})
