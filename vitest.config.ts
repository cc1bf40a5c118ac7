import { defineConfig } from 'vitest/config';

// Lab tests build whole network-namespace clusters; running their files in
// parallel on a 2-core machine only makes them slower and noisier.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'suites/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
