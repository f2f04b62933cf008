// cacheValue and cacheClear over two tiered "replicas" in one process (own L1s, one L2, one memoryBus): every
// invalidation path of core goes through the tiers and the bus, and values come back equal from L1 and from L2.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { cacheClear, cacheValue, type TieredEvent } from '@memokit/core'
import { advance, type Cluster, cluster, type Replica, settle, uniqueNs, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

const pair = (c: Cluster): [Replica, Replica] => [c.replicas[0] as Replica, c.replicas[1] as Replica]
const invalidation = (e: TieredEvent): boolean => e.type === 'received' && e.message.kind !== 'heartbeat'

/** The same function cached on each replica; `version` is what the origin returns now. */
function wrappers(c: Cluster, namespace: string, options: { ttl?: number; swr?: number } = {}) {
  const origin = { version: 1, runs: 0 }
  const fn = async (id: number) => {
    origin.runs++
    return `v${origin.version}:${id}`
  }
  const [a, b] = pair(c)
  const onA = cacheValue(fn, { storage: a.tier, namespace, name: 'user', ...options })
  const onB = cacheValue(fn, { storage: b.tier, namespace, name: 'user', ...options })
  return { origin, onA, onB, a, b }
}

describe('cacheValue over tiered replicas', () => {
  it('.delete on one replica makes the other recompute', async () => {
    const c = await cluster(2)
    const { origin, onA, onB, b } = wrappers(c, uniqueNs())
    expect(await onA(1)).toBe('v1:1')
    expect(await onB(1)).toBe('v1:1')
    expect(origin.runs).toBe(1)
    origin.version = 2
    const heard = b.next(invalidation)
    expect(await onA.delete(1)).toBe(true)
    await heard
    expect(await onB(1)).toBe('v2:1')
    await c.close()
  })

  it('.clear and cacheClear on one replica clear the function and the namespace on the other', async () => {
    const c = await cluster(2)
    const ns = uniqueNs()
    const { origin, onA, onB, b } = wrappers(c, ns)
    await onA(1)
    await onB(1)
    origin.version = 2
    let heard = b.next(invalidation)
    await onA.clear()
    expect(await heard).toMatchObject({ message: { kind: 'prefix', namespace: ns } })
    expect(await onB(1)).toBe('v2:1')

    origin.version = 3
    const save = cacheClear(async () => 'saved', { namespaces: ns, storage: pair(c)[0].tier })
    heard = b.next(invalidation)
    expect(await save()).toBe('saved')
    expect(await heard).toMatchObject({ message: { kind: 'namespace', namespace: ns } })
    expect(await onB(1)).toBe('v3:1')
    await c.close()
  })

  it("a computation running on one replica when another clears the function or deletes its key isn't stored", async () => {
    const c = await cluster(2)
    const ns = uniqueNs()
    const [a, b] = pair(c)
    const gates: ((value: string) => void)[] = []
    let runs = 0
    const fn = (id: number) => {
      runs++
      return new Promise<string>((resolve) => gates.push((v) => resolve(`${v}:${id}`)))
    }
    const onA = cacheValue(fn, { storage: a.tier, namespace: ns, name: 'slow' })
    const onB = cacheValue(fn, { storage: b.tier, namespace: ns, name: 'slow' })
    const clears: [number, () => Promise<unknown>][] = [
      [1, () => onA.clear()],
      [2, () => onA.delete(2)],
    ]
    for (const [id, clear] of clears) {
      const running = onB(id)
      await settle()
      const heard = b.next(invalidation)
      await clear()
      await heard
      gates.shift()?.('computed before the clear')
      expect(await running).toBe(`computed before the clear:${id}`)
      await settle()
      const again = onB(id)
      await settle()
      gates.shift()?.('after')
      expect(await again).toBe(`after:${id}`)
    }
    expect(runs).toBe(4)
    await c.close()
  })

  it('.refresh on one replica: the other reads the new value, without running fn', async () => {
    const c = await cluster(2)
    const { origin, onA, onB, b } = wrappers(c, uniqueNs())
    await onA(1)
    await onB(1)
    origin.version = 2
    const heard = b.next(invalidation)
    expect(await onA.refresh(1)).toBe('v2:1')
    await heard
    const runs = origin.runs
    expect(await onB(1)).toBe('v2:1')
    expect(origin.runs).toBe(runs)
    await c.close()
  })

  it("a background (swr) refresh on one replica reaches the other's readers", async () => {
    const c = await cluster(2)
    const { origin, onA, onB, b } = wrappers(c, uniqueNs(), { ttl: 1000, swr: 60_000 })
    await onA(1)
    await onB(1)
    await advance(1500)
    origin.version = 2
    const heard = b.next((e) => invalidation(e) && e.type === 'received' && e.message.kind === 'keys')
    // Stale at once; the refresh runs in the background and writes through A's tiers.
    expect(await onA(1)).toBe('v1:1')
    expect(await heard).toMatchObject({ message: { kind: 'keys', op: 'set' } })
    const runs = origin.runs
    expect(await onB(1)).toBe('v2:1')
    expect(origin.runs).toBe(runs)
    await c.close()
  })
})

describe('values through L1 and L2', () => {
  it('Date, Map, BigInt and bytes come back equal from L1 and from an encoding L2', async () => {
    const c = await cluster(2, {}, { encoded: true })
    const [a, b] = pair(c)
    const ns = uniqueNs()
    const value = {
      when: new Date('2031-02-03T04:05:06.789Z'),
      map: new Map<unknown, unknown>([
        ['a', 1n],
        [2, new Date(0)],
      ]),
      big: 2n ** 70n,
      bytes: new Uint8Array([0, 1, 254, 255]),
      buffer: Buffer.from('memokit'),
    }
    await a.tier.set(ns, 'k', value, { ttl: 60_000 })
    const gets = c.l2.calls.get
    const fromL1 = await a.tier.get(ns, 'k')
    expect(c.l2.calls.get).toBe(gets)
    const fromL2 = await b.tier.get(ns, 'k')
    expect(c.l2.calls.get).toBe(gets + 1)
    const promoted = await b.tier.get(ns, 'k')
    expect(c.l2.calls.get).toBe(gets + 1)
    for (const entry of [fromL1, fromL2, promoted]) {
      expect(entry?.value).toEqual(value)
      const got = entry?.value as typeof value
      expect(got.when).toBeInstanceOf(Date)
      expect(got.map).toBeInstanceOf(Map)
      expect(typeof got.big).toBe('bigint')
      expect(got.bytes).toBeInstanceOf(Uint8Array)
      expect(Buffer.isBuffer(got.buffer)).toBe(true)
    }
    // The decoded copy, not the object written: L2's round trip really ran.
    expect(fromL2?.value).not.toBe(value)
    await c.close()
  })
})
