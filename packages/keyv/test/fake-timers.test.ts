// A service's own tests often run under jest's default fake timers. docs/recipes.md promises that memokit's hits and
// misses answer there as with real timers: held here over an in-memory Keyv, so only memokit's own scheduling is
// under test (@keyv/redis runs on node-redis, whose own get waits for the clock).
import { describe, it, jest } from '@jest/globals'
import { runFakeTimersChecks } from '@memokit/storage-test-suite'
import Keyv from 'keyv'
import { keyvStorage } from '../src'

runFakeTimersChecks(
  { describe, it },
  {
    name: 'keyv in memory',
    open: ({ prefix }) => keyvStorage(new Keyv(), { prefix }),
    fake: () => jest.useFakeTimers(),
    restore: () => jest.useRealTimers(),
  },
)
