/**
 * Number type from libphonenumber's metadata: premium-rate, shared-cost, toll-free, pagers,
 * VoIP and fixed lines cannot (or should not) receive verification texts. Which types are
 * accepted is a project setting; mobile numbers are by default.
 * @module
 */
import type { CheckResult, FraudContext } from '../types'

export function numberTypeCheck(ctx: FraudContext): CheckResult {
  const { mode, allow } = ctx.settings.numberType
  const allowed = (allow as readonly string[]).includes(ctx.numberType)
  return {
    check: 'number_type',
    mode,
    findings: allowed
      ? []
      : [{ decision: 'block', reason: `number_type.${ctx.numberType}`, scope: 'number' }],
  }
}
