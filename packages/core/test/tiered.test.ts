import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { memoryStorage, tieredStorage } from '@memokit/core'
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
