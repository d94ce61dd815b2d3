/**
 * The conversion-rate breaker: SMS pumping sends codes nobody enters. Per country and per
 * number prefix, codes sent versus codes entered in a sliding window; once there is enough
 * volume, a low rate asks for a challenge and a very low one blocks.
 * @module
 */
import type { CounterRef } from '../counters'
import { prefixOf } from '../network'
import { durationMs, type FraudSettings } from '../settings'
import type { CheckDeps, CheckResult, Finding, FraudContext } from '../types'
import { sentRefs } from './destination'

function refs(
  projectId: string,
  phone: string,
  country: string,
  settings: FraudSettings['conversion'],
) {
  const windowMs = durationMs(settings.window)
  const prefix = prefixOf(phone, settings.prefixDigits)
  const ref = (what: string, scope: string): CounterRef => ({
    key: `${what}:${projectId}:${scope}`,
    windowMs,
  })
  return {
    country: {
      sent: ref('sent', `country:${country}`),
      entered: ref('entered', `country:${country}`),
    },
    prefix: { sent: ref('sent', `prefix:${prefix}`), entered: ref('entered', `prefix:${prefix}`) },
  }
}

export async function conversionCheck(
  ctx: FraudContext,
  { counters }: CheckDeps,
): Promise<CheckResult> {
  const settings = ctx.settings.conversion
  const r = refs(ctx.projectId, ctx.phone, ctx.country, settings)
  const [countrySent, countryEntered, prefixSent, prefixEntered] = await counters.read(
    [r.country.sent, r.country.entered, r.prefix.sent, r.prefix.entered],
    ctx.at,
  )
  const findings: Finding[] = []
  const judge = (name: string, sent = 0, entered = 0, minSent: number) => {
    if (sent < minSent) return
    const rate = entered / sent
    if (rate < settings.blockBelow) {
      findings.push({ decision: 'block', reason: `conversion.${name}`, scope: 'number' })
    } else if (rate < settings.challengeBelow) {
      findings.push({ decision: 'challenge', reason: `conversion.${name}`, scope: 'number' })
    }
  }
  judge('country', countrySent, countryEntered, settings.minSent)
  judge('prefix', prefixSent, prefixEntered, settings.minSentPerPrefix)
  return { check: 'conversion', mode: settings.mode, findings }
}

/** Counts a code sent to `phone` (called once its message is queued). */
export async function countSent(
  deps: CheckDeps,
  ctx: Pick<FraudContext, 'projectId' | 'phone' | 'country' | 'at' | 'settings'>,
): Promise<void> {
  const r = refs(ctx.projectId, ctx.phone, ctx.country, ctx.settings.conversion)
  await deps.counters.hit(
    [r.country.sent, r.prefix.sent, ...sentRefs(ctx.projectId, ctx.country)],
    ctx.at,
  )
}

/** Counts a code entered correctly for `phone`. */
export async function countEntered(
  deps: CheckDeps,
  ctx: Pick<FraudContext, 'projectId' | 'phone' | 'country' | 'at' | 'settings'>,
  /** Other counters of a verified shopper, counted in the same write. */
  also: CounterRef[] = [],
): Promise<void> {
  const r = refs(ctx.projectId, ctx.phone, ctx.country, ctx.settings.conversion)
  await deps.counters.hit([r.country.entered, r.prefix.entered, ...also], ctx.at)
}
