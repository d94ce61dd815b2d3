import { expect, it } from 'vitest'
import { fraudCheckContract } from '../../../testing/fraud-check.case'
import { fraudContext } from '../context'
import { databaseCounters } from '../counters'
import { type FraudSettingsInput, parseFraudSettings } from '../settings'
import { velocityCheck } from './velocity'

fraudCheckContract({
  check: velocityCheck,
  settings: (mode) => ({
    velocity: {
      mode,
      rules: [
        { scope: 'phone', window: '1h', challengeAt: 2, blockAt: 4 },
        { scope: 'ip', window: '10m', blockAt: 3 },
      ],
    },
  }),
  provoke: async (start, { run }) => {
    for (let i = 0; i < 5; i++) await run(start)
    return start
  },
  additionalTests: ({ storage }) => {
    it('a prefix over its block limit: a person or the store server is challenged (the destination check weighs them), others decoyed', async () => {
      const rules = { rules: [{ scope: 'prefix' as const, digits: 3, window: '1h', blockAt: 2 }] }
      const AT = Date.parse('2026-12-07T12:00:00Z')
      let n = 0
      const decide = async (
        extra: Partial<Parameters<typeof fraudContext>[0]>,
        settings: FraudSettingsInput = {},
      ) => {
        const ctx = fraudContext(
          {
            projectId: 'prj_velocity',
            mode: 'live',
            phone: `+447400123${String(n++).padStart(3, '0')}`,
            country: 'GB',
            ip: '203.0.113.9',
            ...extra,
          },
          { settings: parseFraudSettings({ velocity: rules, ...settings }), at: AT },
        )
        const out = await velocityCheck.run(ctx, {
          db: storage().db,
          counters: databaseCounters(storage().db),
        })
        return out.findings.map((f) => f.decision)
      }
      const person = {
        signals: {
          deviceId: 'dev_person_0123456789',
          shownMs: 9000,
          entry: 'typed' as const,
          keys: 13,
          focuses: 1,
          visible: true,
          webdriver: false,
        },
      }
      expect(await decide({})).toEqual([])
      expect(await decide({})).toEqual([])
      // Over the limit: no signals, a decoy as before; a person or the store's server, a challenge.
      expect(await decide({})).toEqual(['block'])
      expect(await decide(person)).toEqual(['challenge'])
      expect(await decide({ keyKind: 'secret' })).toEqual(['challenge'])
      expect(await decide({ ...person, signals: { ...person.signals, webdriver: true } })).toEqual([
        'block',
      ])
      // Not while the destination check does not weigh (test keys, destinations off or in shadow).
      expect(await decide({ ...person, mode: 'test' })).toEqual(['block'])
      expect(await decide(person, { destinations: { mode: 'shadow' } })).toEqual(['block'])
      expect(await decide(person, { destinations: { prefix: { mode: 'off' } } })).toEqual(['block'])
    })
  },
})
