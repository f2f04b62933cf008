// The L1 hit is a shortcut over an L2 read: whatever a replica does, a read through the tier returns what its L2
// alone would return (value, createdAt, expiry, meta), with and without a bus. Two tiers on one bus also agree with
// the L2 once each has heard the other's messages.
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, memoryBus, memoryStorage, type TieredStorage, tieredStorage } from '@memokit/core'
import fc from 'fast-check'
import { settle, testL2, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

const key = fc.constantFrom('f:[1]', 'f:[2]', 'g:[1]', 'g:["x"]')
const namespace = fc.constantFrom('a', 'b')
const op = fc.oneof(
  fc.record({
    t: fc.constant('set' as const),
    replica: fc.nat(1),
    ns: namespace,
    key,
    value: fc.integer(),
    ttl: fc.option(fc.integer({ min: 1, max: 8000 }), { nil: undefined }),
    staleIn: fc.option(fc.integer({ min: 0, max: 8000 }), { nil: undefined }),
  }),
  fc.record({ t: fc.constant('get' as const), replica: fc.nat(1), ns: namespace, key }),
  fc.record({ t: fc.constant('delete' as const), replica: fc.nat(1), ns: namespace, key }),
  fc.record({
    t: fc.constant('clear' as const),
    replica: fc.nat(1),
    ns: namespace,
    prefix: fc.option(fc.constantFrom('f:', 'g:'), { nil: undefined }),
  }),
  fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 3000 }) }),
)

async function check(ops: readonly Record<string, unknown>[], tiers: TieredStorage[], l2: AsyncStorage) {
  for (const o of ops) {
    const tier = tiers[(o.replica as number) % tiers.length] as TieredStorage
    const ns = o.ns as string
    switch (o.t) {
      case 'set': {
        const staleAt = o.staleIn === undefined ? undefined : Date.now() + (o.staleIn as number)
        const meta = staleAt === undefined ? undefined : { staleAt }
        await tier.set(ns, o.key as string, o.value, { ttl: o.ttl as number | undefined, meta })
        break
      }
      case 'get':
        expect(await tier.get(ns, o.key as string)).toEqual(await l2.get(ns, o.key as string))
        break
      case 'delete':
        await tier.delete(ns, o.key as string)
        break
      case 'clear':
        await tier.clear(ns, o.prefix as string | undefined)
        break
      case 'advance':
        jest.advanceTimersByTime(o.ms as number)
        break
    }
    // Each replica hears the other's message before the next operation: propagation, not its timing, is checked.
    await settle()
  }
}

it('a tier read returns what its L2 alone returns, one replica without a bus', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
      const l2 = testL2()
      const tier = tieredStorage({ l1: memoryStorage({ maxEntries: 3 }), l2: l2.storage })
      await check(
        ops.map((o) => ({ ...o, replica: 0 })),
        [tier],
        l2.storage,
      )
    }),
    { numRuns: 150 },
  )
})

it('two tiers on one bus both return what the L2 holds, whichever wrote', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
      const l2 = testL2()
      const bus = memoryBus()
      const tiers = [0, 1].map(() => tieredStorage({ l1: memoryStorage(), l2: l2.storage, bus, channel: 'p' }))
      await Promise.all(tiers.map((t) => t.ready))
      await settle()
      try {
        await check(ops, tiers, l2.storage)
      } finally {
        await Promise.all(tiers.map((t) => t.close()))
      }
    }),
    { numRuns: 150 },
  )
})
