/**
 * Allow and block lists. A block entry blocks; an allow entry (a tester's number, the office
 * network) lets the request skip every other screening check (not the number type, not the
 * spend caps).
 * @module
 */
import { matchLists } from '../list-entries'
import type { FraudCheck } from '../types'

export const listsCheck: FraudCheck = {
  id: 'lists',
  phase: 'screen',
  mode: (settings) => settings.lists.mode,
  async run({ project, destination, caller, at }, { db }) {
    const matches = await matchLists(
      db,
      project.id,
      { phone: destination.phone, country: destination.country, ip: caller.ip },
      at,
    )
    const blocked = matches.filter((m) => m.list === 'block')
    const allowed = matches.find((m) => m.list === 'allow')
    return {
      findings: blocked.map((m) => ({
        decision: 'block' as const,
        reason: `list.block.${m.kind}`,
        scope: m.kind === 'ip' ? ('request' as const) : ('number' as const),
      })),
      allow: allowed && blocked.length === 0 ? `list.allow.${allowed.kind}` : undefined,
    }
  },
}
