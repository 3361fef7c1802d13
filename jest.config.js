/** Jest runs TypeScript through SWC; tests live beside the code they test. */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.tsx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } },
    ],
  },
  testMatch: [
    '<rootDir>/plugins/*/src/**/*.test.ts',
    '<rootDir>/packages/*/src/**/*.test.ts',
    '<rootDir>/test/**/*.test.ts',
  ],
  testTimeout: 120000,
  setupFiles: ['<rootDir>/test/support/env.js'],
  // Backend start-ups are heavy; two workers match the 2-core machine.
  maxWorkers: 2,
  // The real catalog and scaffolder leave background timers (processing
  // loops, task workers) that outlive backend.stop(); don't wait for them.
  forceExit: true,
};
