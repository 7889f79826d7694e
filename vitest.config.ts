import { defineConfig } from 'vitest/config';

// One root config: unit tests beside the code in packages/*, integration tests in test/.
// Packages are consumed through their built dist (worker threads need compiled JS), so
// `npm test` builds first.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/src/**/*.test.ts', 'examples/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration tests spin up worker pools; on a 2-core machine running files in parallel
    // only adds contention and timing noise.
    fileParallelism: false,
  },
});
