import { defineConfig } from 'vitest/config';

// The unit tier alone (no root, no lab): what `npm run mutate` runs under Stryker.
export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts'],
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
