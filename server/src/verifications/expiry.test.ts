import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECT_NOTE, DIALECTS, insertTestVerification } from '../../testing/storage'
import { EXPIRE_BATCH, expireAllPending } from './service'

console.info(DIALECT_NOTE)

for (const dialect of DIALECTS) {
  describe(`the expiry sweep (${dialect})`, () => {
    let h: Harness
    beforeAll(async () => {
      h = await createHarness(dialect)
    })
    afterAll(() => h?.dispose())

    it('expires a backlog larger than one batch, each once, and leaves live codes alone', async () => {
      const { project } = await h.project()
      const backlog = 2 * EXPIRE_BATCH + 17
      const at = h.now()
      for (let i = 0; i < backlog; i++) {
        await insertTestVerification(h.db, {
          id: `ver_expiry_old_${i}`,
          projectId: project.id,
          phone: `+4474001${String(i).padStart(5, '0')}`,
          now: at - 11 * 60_000,
        })
      }
      await insertTestVerification(h.db, {
        id: 'ver_expiry_fresh',
        projectId: project.id,
        phone: '+447400999999',
        now: at,
      })
      expect(await expireAllPending(h.db, at)).toBe(backlog)
      expect(await expireAllPending(h.db, at)).toBe(0)
      const left = await h.db
        .selectFrom('verifications')
        .select(['status'])
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('project_id', '=', project.id)
        .groupBy('status')
        .execute()
      expect(Object.fromEntries(left.map((r) => [r.status, Number(r.n)]))).toEqual({
        expired: backlog,
        pending: 1,
      })
    })
  })
}
