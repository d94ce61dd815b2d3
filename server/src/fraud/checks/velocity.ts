/**
 * Velocity: starts per number, per IP, per IP network (/24, /48), per number prefix, per
 * country and per project, in sliding windows. Every start counts, whatever is decided, so an
 * attacker cannot wait out a block by being refused. A refusal about the requester is a 429
 * with Retry-After.
 * @module
 */
import { addressGroup } from '../../http/client-ip'
import { judgeCaller } from '../callers'
import type { CounterRef } from '../counters'
import { prefixOf } from '../network'
import { durationMs, type VelocityRule } from '../settings'
import type { Finding, FraudCheck, FraudContext } from '../types'

function subjectOf(rule: VelocityRule, { destination, caller }: FraudContext): string | null {
  switch (rule.scope) {
    case 'phone':
      return destination.phone
    case 'prefix':
      return prefixOf(destination.phone, rule.digits ?? 3)
    case 'ip':
      // IPv6 by its /64: a client picks any address of its network at no cost.
      return caller.ip ? addressGroup(caller.ip) : null
    case 'network':
      return caller.network
    case 'country':
      return destination.country
    case 'project':
      return '*'
  }
}

const NUMBER_SCOPES = new Set(['phone', 'prefix', 'country'])

/**
 * A prefix over its block limit is one strike about the destination, not about the caller.
 * While the destination check weighs callers (a live key, destinations enforcing, with its own
 * per-prefix ceilings), a caller who looks like a person or is the store's server gets a
 * challenge here instead of the decoy: the destination check restricts the prefix and weighs
 * them there (a person escalates and gets their code; a bot, two strikes, is decoyed). A real
 * shopper whose number falls in a range being pumped was decoyed before.
 */
function personTakenOver(rule: VelocityRule, ctx: FraudContext): boolean {
  const { destinations, callers } = ctx.settings
  if (rule.scope !== 'prefix' || ctx.project.mode !== 'live') return false
  if (destinations.mode !== 'enforce' || destinations.prefix.mode !== 'enforce') return false
  if (callers.mode !== 'enforce') return true
  const caller = judgeCaller(
    ctx.caller.signals,
    ctx.caller.userAgent,
    {},
    callers,
    ctx.caller.keyKind,
  ).class
  return caller === 'human' || caller === 'server'
}

export const velocityCheck: FraudCheck = {
  id: 'velocity',
  phase: 'screen',
  mode: (settings) => settings.velocity.mode,
  async run(ctx, { counters }) {
    const { mode, rules } = ctx.settings.velocity
    if (mode === 'off') return { findings: [] }
    const active: { rule: VelocityRule; ref: CounterRef }[] = []
    for (const rule of rules) {
      const subject = subjectOf(rule, ctx)
      if (subject === null) continue
      const digits = rule.scope === 'prefix' ? `-${rule.digits}` : ''
      active.push({
        rule,
        ref: {
          key: `start:${ctx.project.id}:${rule.scope}${digits}:${subject}`,
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
      const reason = `velocity.${rule.scope === 'prefix' ? `prefix${rule.digits}` : rule.scope}.${rule.window}`
      if (rule.blockAt !== undefined && value > rule.blockAt && personTakenOver(rule, ctx)) {
        findings.push({
          decision: 'challenge',
          reason,
          scope,
          figures: { count: value, limit: rule.blockAt },
        })
      } else if (rule.blockAt !== undefined && value > rule.blockAt) {
        findings.push({
          decision: 'block',
          reason,
          scope,
          refusal: { code: 'rate_limited', retryAfterMs: ref.windowMs },
          figures: { count: value, limit: rule.blockAt },
        })
      } else if (rule.challengeAt !== undefined && value > rule.challengeAt) {
        findings.push({
          decision: 'challenge',
          reason,
          scope,
          figures: { count: value, limit: rule.challengeAt },
        })
      }
    })
    return { findings }
  },
}
