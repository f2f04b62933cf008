import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, memoryStorage, tieredStorage } from '@memokit/core'
import { advance, cluster, settle, testL2, uniqueNs, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

describe('tieredStorage: reads and promotion', () => {
  it('promotes an L2 entry into L1 with its createdAt, meta and expiry, then serves it without L2', async () => {
    const l2 = testL2()
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    const meta = { staleAt: Date.now() + 60_000, swrUntil: Date.now() + 120_000 }
    await l2.storage.set(ns, 'k', { n: 1 }, { ttl: 300_000, meta })
    const written = await l2.storage.get(ns, 'k')
    await advance(1000)
    const first = await tier.get(ns, 'k')
    expect(first).toEqual(written)
    const gets = l2.calls.get
    const second = await tier.get(ns, 'k')
    expect(second).toEqual(written)
    expect(second?.createdAt).toBe(written?.createdAt)
    expect(second?.expiresAt).toBe(written?.expiresAt)
    expect(second?.meta).toEqual(meta)
    expect(l2.calls.get).toBe(gets)
    await tier.close()
  })

  it('reads its own writes from L1 once set, delete and clear resolve', async () => {
    const l2 = testL2()
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    await tier.set(ns, 'f:[1]', 'one', { ttl: 10_000 })
    const gets = l2.calls.get
    expect((await tier.get(ns, 'f:[1]'))?.value).toBe('one')
    expect(l2.calls.get).toBe(gets)
    expect(await tier.delete(ns, 'f:[1]')).toBe(true)
    expect(await tier.get(ns, 'f:[1]')).toBeUndefined()
    await tier.set(ns, 'f:[2]', 'two')
    await tier.set(ns, 'g:[2]', 'other')
    await tier.clear(ns, 'f:')
    expect(await tier.get(ns, 'f:[2]')).toBeUndefined()
    expect((await tier.get(ns, 'g:[2]'))?.value).toBe('other')
    await tier.clear(ns)
    expect(await tier.get(ns, 'g:[2]')).toBeUndefined()
    await tier.close()
  })
})

describe('tieredStorage: getMany', () => {
  it('answers L1 hits in place and the misses with one L2 getMany, promoting them', async () => {
    const l2 = testL2()
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    await tier.set(ns, 'a', 'A')
    await l2.storage.set(ns, 'b', 'B', { meta: { staleAt: Date.now() + 1000 } })
    await l2.storage.set(ns, 'c', 'C')
    const found = await tier.getMany?.(ns, ['c', 'a', 'x', 'b', 'c'])
    expect(found?.map((e) => e?.value)).toEqual(['C', 'A', undefined, 'B', 'C'])
    expect(found?.[3]).toEqual(await l2.storage.get(ns, 'b'))
    expect(l2.calls.getMany).toBe(1)
    const gets = l2.calls.get
    expect((await tier.getMany?.(ns, ['a', 'b', 'c']))?.map((e) => e?.value)).toEqual(['A', 'B', 'C'])
    expect(l2.calls.getMany).toBe(1)
    expect(l2.calls.get).toBe(gets)
    expect(await tier.getMany?.(ns, [])).toEqual([])
  })

  it('a batched read that raced a local write does not promote the older value', async () => {
    const l2 = testL2()
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    await l2.storage.set(ns, 'k', 'old')
    l2.pauseReads = true
    const reading = tier.getMany?.(ns, ['k', 'j'])
    await settle()
    await tier.set(ns, 'k', 'new')
    l2.pauseReads = false
    l2.releaseReads()
    expect((await reading)?.[0]?.value).toBe('old')
    const gets = l2.calls.get
    expect((await tier.get(ns, 'k'))?.value).toBe('new')
    expect(l2.calls.get).toBe(gets)
  })
})

describe('tieredStorage: writes racing each other', () => {
  it('a set acknowledged after a delete issued later does not bring its value back into L1', async () => {
    const inner = memoryStorage()
    let releaseSet: () => void = () => {}
    const l2: AsyncStorage = {
      async: true,
      name: 'slow-set',
      get: async (ns, key) => inner.get(ns, key),
      // L2 applies operations in order; only its answer to the set comes late.
      set: async (ns, key, value, o) => {
        inner.set(ns, key, value, o)
        await new Promise<void>((resolve) => {
          releaseSet = resolve
        })
      },
      delete: async (ns, key) => inner.delete(ns, key),
      clear: async (ns, prefix) => inner.clear(ns, prefix),
    }
    const tier = tieredStorage({ l1: memoryStorage(), l2 })
    const ns = uniqueNs()
    const setting = tier.set(ns, 'k', 'old')
    await Promise.resolve()
    expect(await tier.delete(ns, 'k')).toBe(true)
    releaseSet()
    await setting
    expect(await tier.get(ns, 'k')).toBeUndefined()
  })

  it('a read that raced a local write does not promote the older value over it', async () => {
    const l2 = testL2()
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    await l2.storage.set(ns, 'k', 'old')
    l2.pauseReads = true
    const reading = tier.get(ns, 'k')
    await settle()
    await tier.set(ns, 'k', 'new')
    l2.pauseReads = false
    l2.releaseReads()
    expect((await reading)?.value).toBe('old')
    const gets = l2.calls.get
    expect((await tier.get(ns, 'k'))?.value).toBe('new')
    expect(l2.calls.get).toBe(gets)
  })
})

describe('tieredStorage: replicas on a bus', () => {
  it("drops another replica's L1 copy when one replica writes", async () => {
    const { replicas, close } = await cluster(2)
    const [a, b] = replicas as [NonNullable<(typeof replicas)[0]>, NonNullable<(typeof replicas)[0]>]
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    const heard = b.next((e) => e.type === 'received' && e.message.kind === 'keys')
    await a.tier.set(ns, 'k', 2)
    await heard
    expect((await b.tier.get(ns, 'k'))?.value).toBe(2)
    await settle()
    await close()
  })
})
