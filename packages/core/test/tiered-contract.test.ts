// The storage contract over tieredStorage: with no bus (L1 aged by maxL1Age), and on a memoryBus.
import { afterAll, beforeAll, describe, it, jest } from '@jest/globals'
import { memoryBus, memoryStorage, tieredStorage } from '@memokit/core'
import { runStorageContract } from '@memokit/storage-test-suite'
import { testL2, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

const advanceTime = (ms: number): void => {
  jest.advanceTimersByTime(ms)
}

// Each storage gets an L2 of its own, scoped by its prefix: two storages of one prefix are two tiers over one L2.
const l2s = new Map<string, ReturnType<typeof testL2>>()
const l2For = (prefix: string) => {
  let l2 = l2s.get(prefix)
  if (l2 === undefined) {
    l2 = testL2({ scope: `test-l2 ${prefix}`, encoded: true })
    l2s.set(prefix, l2)
  }
  return l2.storage
}

runStorageContract(
  { describe, it, beforeAll, afterAll },
  {
    name: 'tiered (memory L1, encoding L2, no bus)',
    create: ({ prefix }) => tieredStorage({ l1: memoryStorage(), l2: l2For(prefix) }),
    advanceTime,
  },
)

const bus = memoryBus()
runStorageContract(
  { describe, it, beforeAll, afterAll },
  {
    name: 'tiered (memory L1, encoding L2, memoryBus)',
    create: async ({ prefix }) => {
      const tier = tieredStorage({ l1: memoryStorage(), l2: l2For(`bus ${prefix}`), bus })
      await tier.ready
      return tier
    },
    advanceTime,
  },
)
