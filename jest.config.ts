import type { Config } from 'jest'

// Files that spend their run waiting with little CPU (memcached's whole-second TTLs, SIGSTOPped or killed servers,
// operation timeouts, held replies): alone, 9-15 s each for 2.4-3.4 s of CPU with jest's start-up, the three
// memcached contracts 61 s for 5.2 s (2026-12-05). `pnpm test:unit` runs them in a jest of their own
// (MEMOKIT_JEST_LANE=side, one file at a time) beside the other files (MEMOKIT_JEST_LANE=main, two workers), so
// their waiting overlaps the main run's instead of holding one of its two workers. Without the variable, jest runs
// every file as before. Paths from the repository root; a renamed file falls back to the main lane.
const WAITING_FILES = [
  'packages/memcached/test/contract-memjs.test.ts',
  'packages/memcached/test/contract-memcache-client.test.ts',
  'packages/memcached/test/contract-version-cache.test.ts',
  'packages/memcached/test/leases.test.ts',
  'packages/memcached/test/write-order.test.ts',
  'packages/postgres/test/faults.test.ts',
  'packages/redis/test/faults.test.ts',
  'packages/redis/test/adversarial-failures.test.ts',
  'packages/memcached/test/memcached-faults.test.ts',
  'packages/memcached/test/adversarial-stream.test.ts',
  'packages/memcached/test/close-hits.test.ts',
  'packages/redis/test/ioredis-faults.test.ts',
  'packages/redis/test/lifecycle-unreachable.test.ts',
  'packages/keyv/test/faults.test.ts',
  'packages/keyv/test/close-exit.test.ts',
  'packages/file/test/corrupt.test.ts',
  'packages/redis/test/leases-server.test.ts',
  'packages/redis/test/offline-queue-cluster.test.ts',
  'packages/redis/test/offline-queue-sentinel.test.ts',
  'packages/keyv/test/order.test.ts',
]
const lane = process.env.MEMOKIT_JEST_LANE
if (lane !== undefined && lane !== 'main' && lane !== 'side') {
  throw new Error(`MEMOKIT_JEST_LANE=${lane}: expected main or side`)
}
const escaped = WAITING_FILES.map((file) => `<rootDir>/${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)

// Tests import packages by name; map them to their sources so no build is needed before testing.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/examples'],
  testMatch: lane === 'side' ? WAITING_FILES.map((file) => `<rootDir>/${file}`) : ['**/test/**/*.test.ts'],
  // The main lane leaves out the waiting files and the soak (`pnpm test:soak` runs it after both lanes).
  testPathIgnorePatterns: lane === 'main' ? ['/node_modules/', '/packages/soak/', ...escaped] : ['/node_modules/'],
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
  // How long jest waits for a worker to exit after its last file before it kills it and prints "A worker process has
  // failed to exit gracefully". The default 500 ms is shorter than a worker's own exit here: its event loop empties
  // (process 'exit' fires) 20-60 ms after jest asks it to end, but at the end of the full run it holds 1-1.9 GB RSS
  // (0.5-1.7 GB of heap that no GC has collected yet; after a forced GC, 40-60 MB and no context kept from earlier
  // files), and tearing that down took 0.6-1.7 s on this 2-core machine (2026-12-05). A worker that really keeps
  // its loop alive (a leaked socket, timer or child) never exits, so it is still killed and reported, 5 s later.
  workerGracefulExitTimeout: 5000,
  // Contract-suite files first when jest has no timings (a fresh clone): small files, long runs.
  testSequencer: '<rootDir>/scripts/jest-sequencer.cjs',
  testTimeout: 30_000,
}

export default config
