/**
 * The conversion-rate breaker: SMS pumping sends codes nobody enters. Per country and per
 * number prefix, codes sent versus codes entered in a sliding window; once there is enough
 * volume, a low rate asks for a challenge and a very low one blocks.
 *
 * While the destination check enforces, a very low rate restricts the country or prefix there
 * (where each caller is weighed, and probes go through) instead of a decoy for every start:
 * this check then only asks for a challenge.
 * @module
 */
import type { CounterRef } from '../counters'
import { prefixOf } from '../network'
import { durationMs } from '../settings'
import type { Finding, FraudCheck, FraudContext } from '../types'

export function conversionRefs({ project, destination, settings }: FraudContext) {
  const windowMs = durationMs(settings.conversion.window)
  const prefix = prefixOf(destination.phone, settings.conversion.prefixDigits)
  const ref = (what: string, scope: string): CounterRef => ({
    key: `${what}:${project.id}:${scope}`,
    windowMs,
  })
  return {
    country: {
      sent: ref('sent', `country:${destination.country}`),
      entered: ref('entered', `country:${destination.country}`),
    },
    prefix: { sent: ref('sent', `prefix:${prefix}`), entered: ref('entered', `prefix:${prefix}`) },
  }
}

export const conversionCheck: FraudCheck = {
  id: 'conversion',
  phase: 'screen',
  mode: (settings) => settings.conversion.mode,
  async run(ctx, { counters }) {
    const settings = ctx.settings.conversion
    if (settings.mode === 'off') return { findings: [] }
    const r = conversionRefs(ctx)
    const [countrySent, countryEntered, prefixSent, prefixEntered] = await counters.read(
      [r.country.sent, r.country.entered, r.prefix.sent, r.prefix.entered],
      ctx.at,
    )
    const findings: Finding[] = []
    const judge = (name: string, sent = 0, entered = 0, minSent: number) => {
      if (sent < minSent) return
      const rate = entered / sent
      const figures = { sent, entered, rate }
      if (rate < settings.blockBelow) {
        const takenOver =
          ctx.settings.destinations.mode === 'enforce' && ctx.project.mode === 'live'
        const decision = takenOver ? 'challenge' : 'block'
        findings.push({ decision, reason: `conversion.${name}`, scope: 'number', figures })
      } else if (rate < settings.challengeBelow) {
        findings.push({
          decision: 'challenge',
          reason: `conversion.${name}`,
          scope: 'number',
          figures,
        })
      }
    }
    judge('country', countrySent, countryEntered, settings.minSent)
    judge('prefix', prefixSent, prefixEntered, settings.minSentPerPrefix)
    return { findings }
  },
  // Counted whatever the mode, so the rates are true the moment the breaker is switched on.
  async afterSent(ctx, { counters }) {
    const r = conversionRefs(ctx)
    await counters.add([r.country.sent, r.prefix.sent], ctx.at)
  },
  async afterApproved(ctx, { counters }) {
    const r = conversionRefs(ctx)
    await counters.add([r.country.entered, r.prefix.entered], ctx.at)
  },
}
