import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The examples' own tests run too: the plugin-author example is a vitest file.
    include: ['test/**/*.test.ts', 'examples/**/*.test.mjs'],
    // Every wait in a test is bounded; a hung test fails instead of stalling CI.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Worker and child-process tests start real threads and processes: keep the
    // 2-core machine from being oversubscribed.
    pool: 'forks',
    maxWorkers: 2,
  },
});
