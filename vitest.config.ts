import { defineConfig } from 'vitest/config'

/**
 * Two projects: `unit` is the everyday loop (unit tests and in-process HTTP tests through the
 * real Hono app, real SQLite/PostgreSQL: `pnpm test:unit`); `process` starts real server
 * processes, browsers and faults (`pnpm test:process`). `pnpm test` runs both, and more.
 */
export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          isolate: false,
          maxWorkers: 2,
          include: [
            'shared/src/**/*.test.ts',
            'store/src/**/*.test.ts',
            'server/src/**/*.test.ts',
            'demo/src/**/*.test.ts',
          ],
        },
      },
      {
        extends: true,
        test: {
          name: 'process',
          include: ['test/**/*.test.ts'],
        },
      },
    ],
  },
})
