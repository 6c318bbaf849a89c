import { defineConfig } from 'vitest/config';
import { trustTestCa } from './test/helpers/test-ca.js';

// The stand-in https providers use a test CA; workers must trust it from their first instruction.
trustTestCa();

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
