import { configDefaults, defineConfig } from 'vitest/config';

// One root config: unit tests beside the code in packages/*, integration tests in test/.
// Packages are consumed through their built dist (worker threads need compiled JS), so
// `npm test` builds first.
//
// Two projects share one pool (so files still run one at a time): the Kafka broker tests have a
// global setup that starts ONE real broker for the whole run (test/src/kafka-global-setup.ts).
// Vitest runs a project's global setup only when that project has test files in the run, so
// `vitest run packages/api` starts no broker.
const KAFKA_TESTS = ['test/src/kafka*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration tests spin up worker pools; on a 2-core machine running files in parallel
    // only adds contention and timing noise.
    fileParallelism: false,
    projects: [
      {
        extends: true,
        test: {
          name: 'sluice',
          include: ['packages/*/src/**/*.test.ts', 'test/src/**/*.test.ts', 'examples/src/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...KAFKA_TESTS],
        },
      },
      {
        extends: true,
        test: {
          name: 'kafka',
          include: KAFKA_TESTS,
          globalSetup: ['test/src/kafka-global-setup.ts'],
        },
      },
    ],
  },
});
