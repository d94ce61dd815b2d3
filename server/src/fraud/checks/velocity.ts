/**
 * Velocity: starts per number, per IP, per IP network (/24, /48), per number prefix, per
 * country and per project, in sliding windows. Every start counts, whatever is decided, so an
 * attacker cannot wait out a block by being refused.
 * @module
 */
import type { CounterRef } from '../counters'
import { networkOf, prefixOf } from '../network'
import { durationMs, type VelocityRule } from '../settings'
import type { CheckDeps, CheckResult, Finding, FraudContext } from '../types'

function subjectOf(rule: VelocityRule, ctx: FraudContext): string | null {
  switch (rule.scope) {
    case 'phone':
      return ctx.phone
    case 'prefix':
      return prefixOf(ctx.phone, rule.digits ?? 3)
    case 'ip':
      return ctx.ip
    case 'network':
      return ctx.ip === null ? null : networkOf(ctx.ip)
    case 'country':
      return ctx.country
    case 'project':
      return '*'
  }
}

const NUMBER_SCOPES = new Set(['phone', 'prefix', 'country'])

export async function velocityCheck(
  ctx: FraudContext,
  { counters }: CheckDeps,
): Promise<CheckResult> {
  const { mode, rules } = ctx.settings.velocity
  const active: { rule: VelocityRule; ref: CounterRef }[] = []
  for (const rule of rules) {
    const subject = subjectOf(rule, ctx)
    if (subject === null) continue
    const digits = rule.scope === 'prefix' ? `-${rule.digits}` : ''
    active.push({
      rule,
      ref: {
        key: `start:${ctx.projectId}:${rule.scope}${digits}:${subject}`,
        windowMs: durationMs(rule.window),
      },
    })
  }
  const values = await counters.hit(
    active.map((a) => a.ref),
    ctx.at,
  )
  const findings: Finding[] = []
  active.forEach(({ rule, ref }, i) => {
    const value = values[i] ?? 0
    const scope = NUMBER_SCOPES.has(rule.scope) ? ('number' as const) : ('request' as const)
    const name = rule.scope === 'prefix' ? `prefix${rule.digits}` : rule.scope
    if (rule.blockAt !== undefined && value > rule.blockAt) {
      findings.push({
        decision: 'block',
        reason: `velocity.${name}.${rule.window}`,
        scope,
        retryAfterMs: ref.windowMs,
      })
    } else if (rule.challengeAt !== undefined && value > rule.challengeAt) {
      findings.push({ decision: 'challenge', reason: `velocity.${name}.${rule.window}`, scope })
    }
  })
  return { check: 'velocity', mode, findings }
}
