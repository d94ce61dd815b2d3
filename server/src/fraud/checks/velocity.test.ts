import { fraudCheckContract } from '../../../testing/fraud-check.case'
import { velocityCheck } from './velocity'

fraudCheckContract({
  check: velocityCheck,
  settings: (mode) => ({
    velocity: {
      mode,
      rules: [
        { scope: 'phone', window: '1h', challengeAt: 2, blockAt: 4 },
        { scope: 'ip', window: '10m', blockAt: 3 },
      ],
    },
  }),
  provoke: async (start, { run }) => {
    for (let i = 0; i < 5; i++) await run(start)
    return start
  },
})
