import { fraudCheckContract } from '../../../testing/fraud-check.case'
import { numberTypeCheck } from './number-type'

fraudCheckContract({
  check: numberTypeCheck,
  settings: (mode) => ({ numberType: { mode } }),
  provoke: async (start) => ({ ...start, phone: '+449012345678', numberType: 'premium_rate' }),
  skip: [
    {
      reason: 'it judges the number alone and keeps nothing',
      tests: ['keeps what it saw in one project out of another'],
    },
  ],
})
