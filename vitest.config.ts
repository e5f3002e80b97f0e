import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // verbose: the output names each suite, e.g. which store the contract suite ran against.
    reporters: ['verbose', './tests/support/summary-reporter.ts'],
  },
});
