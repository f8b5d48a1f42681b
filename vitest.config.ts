import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/scratch-tmpdir.ts'],
    testTimeout: 20_000,
    hookTimeout: 300_000,
    // Docker integration tests share one engine and a 2-core machine: run files one at a time.
    fileParallelism: false,
  },
});
