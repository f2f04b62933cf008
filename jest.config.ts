import type { Config } from 'jest'

// Tests import packages by name; map them to their sources so no build is needed before testing.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/examples'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    // TC39 standard decorators (@cached), as TypeScript 5 compiles them without experimentalDecorators.
    '^.+\\.tsx?$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { decoratorVersion: '2023-11' },
        },
      },
    ],
    '^.+\\.jsx?$': ['@swc/jest', { jsc: { target: 'es2022' } }],
  },
  // superjson and its helpers ship ESM only; let swc turn them into CommonJS for jest.
  transformIgnorePatterns: ['/node_modules/\\.pnpm/(?!(superjson|copy-anything|is-what)@)'],
  moduleNameMapper: {
    '^@memokit/core/backend$': '<rootDir>/packages/core/src/backend.ts',
    '^@memokit/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  // Two workers on CI's two cores. Three finished the same files in 172-194 s instead of 322 s (most files wait
  // on timers and servers), but the extra load broke failover tests' timing in two of eight runs (2026-12-04).
  maxWorkers: 2,
  // Contract-suite files first when jest has no timings (a fresh clone): small files, long runs.
  testSequencer: '<rootDir>/scripts/jest-sequencer.cjs',
  testTimeout: 30_000,
}

export default config
