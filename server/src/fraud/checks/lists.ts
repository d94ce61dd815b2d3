/**
 * Allow and block lists. A block entry blocks; an allow entry (a tester's number, the office
 * network) lets the request skip every other check but the number type.
 * @module
 */
import { matchLists } from '../lists'
import type { CheckDeps, CheckResult, FraudContext } from '../types'

export async function listsCheck(
  ctx: FraudContext,
  { db }: CheckDeps,
): Promise<CheckResult & { allowedBy?: string }> {
  const { mode } = ctx.settings.lists
  const matches = await matchLists(db, ctx.projectId, ctx)
  const blocked = matches.filter((m) => m.list === 'block')
  const allowed = matches.find((m) => m.list === 'allow')
  return {
    check: 'lists',
    mode,
    findings: blocked.map((m) => ({
      decision: 'block' as const,
      reason: `list.block.${m.kind}`,
      scope: m.kind === 'ip' ? ('request' as const) : ('number' as const),
    })),
    ...(allowed && blocked.length === 0 ? { allowedBy: `list.allow.${allowed.kind}` } : {}),
  }
}
