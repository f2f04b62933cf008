// The published contract suite under Jest's default configuration, registered through Jest's globals, over the
// memory storage with fake timers (its own file: fake timers apply to a whole file).
const { memoryStorage } = require('@memokit/core')
const { runStorageContract } = require('@memokit/storage-test-suite')

jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] })
runStorageContract(
  { describe, it, beforeAll, afterAll },
  { name: 'memory', create: () => memoryStorage(), advanceTime: (ms) => jest.advanceTimersByTime(ms) },
)
