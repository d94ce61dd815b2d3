import { fraudCheckContract } from '../../../testing/fraud-check.case'
import { spendCheck } from './spend'

fraudCheckContract({
  check: spendCheck,
  settings: (mode) => ({ spend: { mode, dailyCountryCap: 0.1, defaultCostPerSms: 0.04 } }),
  provoke: async (start, { run }) => {
    // Two texts at 0.04 leave 0.02 of the country's 0.1 a day: the next one passes the cap.
    await run(start)
    await run(start)
    return start
  },
})
