import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Hang guards, not speed checks: a loaded 2-core CI machine takes minutes for what takes seconds here.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // verbose: the output names each suite, e.g. which store the contract suite ran against.
    reporters: ['verbose', './tests/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['tests/**/*.test.ts'], exclude: [...configDefaults.exclude, 'tests/load/**'], globalSetup: ['testkit/global-setup.ts'] },
      },
      // The load test runs after every other file (so they do not compete with it), on an S3 server of its own.
      { extends: true, test: { name: 'load', include: ['tests/load/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
