import { fraudCheckContract } from '../../../testing/fraud-check.case'
import { conversionCheck } from './conversion'

fraudCheckContract({
  check: conversionCheck,
  settings: (mode) => ({ conversion: { mode, minSent: 5, minSentPerPrefix: 5 } }),
  provoke: async (start, { deps, contextOf }) => {
    // Codes sent to the range that nobody enters: SMS pumping.
    for (let i = 0; i < 6; i++) {
      await conversionCheck.afterSent?.(contextOf({ ...start, phone: `+44740012345${i}` }), deps)
    }
    return start
  },
})
