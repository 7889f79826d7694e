import { configDefaults, defineConfig } from 'vitest/config';

// One root config: unit tests beside the code in packages/*, integration tests in test/.
// Packages are consumed through their built dist (worker threads need compiled JS), so
// `npm test` builds first.
//
// Two projects share one pool (so files still run one at a time): the Kafka broker tests have a
// global setup that starts ONE real broker for the whole run (test/src/kafka-global-setup.ts).
// Vitest runs a project's global setup only when that project has test files in the run, so
// `vitest run packages/api` starts no broker.
// The monitoring test runs a Kafka job on the Mesos fake, so it needs the broker too.
const KAFKA_TESTS = ['test/src/kafka*.test.ts', 'test/src/monitoring.test.ts', 'test/src/walkthrough.test.ts'];

export default defineConfig({
  test: {
    // Hang guards, not speed limits: the suite must pass on a machine whose cores are busy with
    // other work (`npm run test:load`), where a test that starts worker pools, processes or a
    // Prometheus server takes several times as long as on an idle one. Tests wait for the
    // state they need with their own generous bounds; none asserts on how long something took
    // except, where the time is the point, with a bound far from the expected value.
    testTimeout: 120_000,
    hookTimeout: 120_000,
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
