import { configDefaults, defineConfig } from 'vitest/config'

/**
 * Three projects:
 * - `unit`, the everyday loop (`pnpm test:unit`): unit tests and in-process HTTP tests through
 *   the real Hono app on real SQLite/PostgreSQL. Three workers on two cores (a worker waiting
 *   on a timer or a database leaves its core to another: 62 s where two took 69-71) and no
 *   per-file module isolation: suites share loaded modules (each still gets its own database
 *   and app), which saves most of the time a file used to spend importing. Also the browser
 *   builds' checks (widget/scripts/, scripts/, server/console/).
 * - `fuzz` (`pnpm test:fuzz`): the property-based fuzzing of every route, thousands of
 *   in-process requests.
 * - `process` (`pnpm test:process`): real server processes, browsers and faults, and the
 *   measurements of this Node's own behaviour in child processes (`*.process.test.ts`).
 * `pnpm test` (and CI) runs all three, and more.
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
          maxWorkers: 3,
          // The key cache's concurrent tests each wait out a real 5 s interval: all at once.
          maxConcurrency: 10,
          // Projects with their own worker counts run one group after another: unit, fuzz, process.
          sequence: { groupOrder: 0 },
          include: [
            'shared/src/**/*.test.ts',
            'store/src/**/*.test.ts',
            'server/src/**/*.test.ts',
            'demo/src/**/*.test.ts',
            'widget/scripts/**/*.test.ts',
            'scripts/**/*.test.ts',
            'server/console/*.test.ts',
          ],
          exclude: [...configDefaults.exclude, '**/*.fuzz.test.ts', '**/*.process.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'fuzz',
          sequence: { groupOrder: 1 },
          include: ['server/src/**/*.fuzz.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'process',
          sequence: { groupOrder: 2 },
          // A page or a server process answering a step on a loaded 2-core CI machine: polls
          // wait up to 10 s (vitest's 1 s default failed a console step that answers in ms).
          expect: { poll: { timeout: 10_000 } },
          include: ['test/**/*.test.ts', 'server/src/**/*.process.test.ts'],
        },
      },
    ],
  },
})
