// tieredStorage (from @memokit/core) with the real shared Redis as its L2 and redisBus carrying its invalidations,
// in one process: the storage contract, promotion keeping what Redis stored (createdAt, staleAt, expiry), values
// equal from L1 and from Redis, and a write reaching a second tier. Multi-process replicas and server faults are in
// tiered-replicas.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type AsyncStorage, type Bus, memoryStorage, type TieredEvent, tieredStorage } from '@memokit/core'
import { type RedisStorage, redisBus, redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'
import { uid } from './counted'
import { disposer, envPort, sharedRedis } from './servers'

const cleanup = disposer()
let shared: Awaited<ReturnType<typeof sharedRedis>>
let bus: Bus

beforeAll(async () => {
  shared = await sharedRedis(envPort('REDIS_SPARE_PORT', 7200) + 12)
  bus = cleanup.track(redisBus({ url: shared.url }) as Bus & { close(): Promise<void> })
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await shared?.stop()
}, 60_000)

/** A tier over its own redisStorage; closing it closes the storage too (the bus is the file's). */
async function tierOver(prefix: string, onEvent?: (event: TieredEvent) => void) {
  const l2 = redisStorage({ url: shared.url, prefix })
  const gets = { count: 0 }
  const counting: AsyncStorage = {
    ...l2,
    get: (ns, key) => {
      gets.count++
      return l2.get(ns, key)
    },
  }
  const tier = tieredStorage({ l1: memoryStorage(), l2: counting, bus, ...(onEvent ? { onEvent } : {}) })
  await tier.ready
  const close = async () => {
    await tier.close()
    await l2.close()
  }
  return { tier, l2, gets, close }
}

runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'tiered (memory L1, redis L2, redisBus)',
    leases: true,
    create: async ({ prefix }) => {
      const { tier, close } = await tierOver(prefix)
      return Object.assign(Object.create(tier) as typeof tier, { close })
    },
  },
)

describe('tieredStorage over Redis', () => {
  it('promotes what Redis stored: createdAt, staleAt and expiry, then serves it from L1', async () => {
    const { tier, l2, gets, close } = await tierOver(uid('tiered'))
    const ns = uid('ns')
    const staleAt = Date.now() + 60_000
    await (l2 as RedisStorage).set(ns, 'k', { n: 1 }, { ttl: 120_000, meta: { staleAt, swrUntil: staleAt + 1000 } })
    const stored = await l2.get(ns, 'k')
    const first = await tier.get(ns, 'k')
    const second = await tier.get(ns, 'k')
    expect(gets.count).toBe(1)
    for (const entry of [first, second]) {
      expect(entry).toEqual(stored)
      expect(entry?.meta?.staleAt).toBe(staleAt)
      expect(entry?.expiresAt).toBe(stored?.expiresAt)
    }
    await close()
  })

  it('Date, Map, BigInt and bytes come back equal from L1 and from Redis, and a write reaches the other tier', async () => {
    const prefix = uid('tiered')
    const heard: TieredEvent[] = []
    const a = await tierOver(prefix)
    let received: () => void = () => {}
    const b = await tierOver(prefix, (event) => {
      heard.push(event)
      if (event.type === 'received' && event.message.kind === 'keys') received()
    })
    expect(a.tier.scope).toBe(b.tier.scope)
    const ns = uid('ns')
    const value = {
      when: new Date('2031-02-03T04:05:06.789Z'),
      map: new Map<unknown, unknown>([['a', 1n]]),
      big: -(2n ** 80n),
      bytes: new Uint8Array([0, 255]),
    }
    // B drops its copy of k when A's message for this write arrives: read only after that.
    let arrived = new Promise<void>((resolve) => {
      received = resolve
    })
    await a.tier.set(ns, 'k', value, { ttl: 60_000 })
    await arrived
    expect((await a.tier.get(ns, 'k'))?.value).toEqual(value)
    expect(a.gets.count).toBe(0)
    const fromRedis = await b.tier.get(ns, 'k')
    const fromL1 = await b.tier.get(ns, 'k')
    expect(b.gets.count).toBe(1)
    expect(fromRedis?.value).toEqual(value)
    expect(fromL1?.value).toEqual(value)
    expect((fromL1?.value as typeof value | undefined)?.when).toBeInstanceOf(Date)

    arrived = new Promise<void>((resolve) => {
      received = resolve
    })
    await a.tier.set(ns, 'k', 'second')
    await arrived
    expect((await b.tier.get(ns, 'k'))?.value).toBe('second')
    expect(heard.filter((e) => e.type === 'flush' && e.reason === 'gap')).toEqual([])
    await a.close()
    await b.close()
  })
})
