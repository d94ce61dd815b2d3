/**
 * Number type from libphonenumber's metadata: premium-rate, shared-cost, toll-free, pagers,
 * VoIP and fixed lines cannot (or should not) receive verification texts. Which types are
 * accepted is a project setting; mobile numbers are by default. A gate: the shopper is told
 * plainly (400 `unsupported_number_type`), and an allow-list entry does not lift it.
 * @module
 */
import type { FraudCheck } from '../types'

export const numberTypeCheck: FraudCheck = {
  id: 'number_type',
  phase: 'gate',
  mode: (settings) => settings.numberType.mode,
  async run({ destination, settings }) {
    const allowed = (settings.numberType.allow as readonly string[]).includes(
      destination.numberType,
    )
    if (allowed) return { findings: [] }
    return {
      findings: [
        {
          decision: 'block',
          reason: `number_type.${destination.numberType}`,
          scope: 'number',
          refusal: {
            code: 'unsupported_number_type',
            details: { numberType: destination.numberType },
          },
        },
      ],
    }
  },
}
