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
  // Three workers on CI's two cores: most test files wait on timers and servers (TTLs, leases, failovers), so two
  // workers kept the cores under half busy; three measured 175-190 s against 322 s for the same files.
  maxWorkers: 3,
  testTimeout: 30_000,
}

export default config
