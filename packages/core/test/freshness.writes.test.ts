// Invalidation-safe writes and .refresh(), from the freshness spec: a .delete, .clear or cacheClear while fn runs
// keeps that result out of the storage, for background refreshes, soft-timeout completions and late results after
// a hard timeout; .refresh(...args) runs fn now, stores, returns as a call would, and flights already running for
// the key don't overwrite it.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type AnyStorage, cacheClear, cacheValue, memoryStorage, type TimeoutError } from '@memokit/core'
import { type Controllable, capture, controllable, tick, tickTo, useFakeClock } from './controllable'
import { faultyStorage, uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

type Invalidate = (
  cached: { delete(k: string): unknown; clear(): unknown },
  storage: AnyStorage,
  ns: string,
) => Promise<unknown>
const invalidations: [string, Invalidate][] = [
  ['.delete', async (cached) => cached.delete('k')],
  ['.clear', async (cached) => cached.clear()],
  ['cacheClear', async (_cached, storage, namespaces) => cacheClear(async () => 'written', { namespaces, storage })()],
]
const storages: [string, () => AnyStorage][] = [
  ['memoryStorage', () => memoryStorage()],
  ['an async storage', () => faultyStorage(true).storage],
]

const stored = async (storage: AnyStorage, namespace: string, key: string): Promise<unknown> =>
  (await storage.get(namespace, key))?.value

async function seeded(c: Controllable<string>, call: () => Promise<unknown>): Promise<void> {
  const first = call()
  await tick(0)
  c.resolve('v1')
  await first
}

describe.each(storages)('invalidation-safe writes over %s', (_label, makeStorage) => {
  describe.each(invalidations)('%s while fn runs', (_name, invalidate) => {
    it('keeps a background (swr) refresh\u2019s result out of the storage', async () => {
      const storage = makeStorage()
      const namespace = uniqueNamespace()
      const c = controllable()
      const cached = cacheValue(c.fn, { storage, namespace, name: 'bg', ttl: 1000, swr: '1m' })
      await seeded(c, () => cached('k'))
      await tickTo(1500)
      await expect(cached('k')).resolves.toBe('v1')
      await tick(0)
      expect(c.runs).toHaveLength(2)
      await invalidate(cached, storage, namespace)
      c.resolve('refreshed')
      await tick(0)
      expect(await stored(storage, namespace, cached.keyFor('k'))).toBeUndefined()
    })

    it('keeps a soft-timeout completion out of the storage', async () => {
      const storage = makeStorage()
      const namespace = uniqueNamespace()
      const c = controllable()
      const cached = cacheValue(c.fn, {
        storage,
        namespace,
        name: 'softDone',
        ttl: 1000,
        staleIfError: '1m',
        timeout: { soft: 100 },
      })
      await seeded(c, () => cached('k'))
      await tickTo(2000)
      const call = cached('k')
      await tick(100)
      await expect(call).resolves.toBe('v1')
      expect(c.runs).toHaveLength(2)
      await invalidate(cached, storage, namespace)
      c.resolve('completed')
      await tick(0)
      expect(await stored(storage, namespace, cached.keyFor('k'))).toBeUndefined()
    })

    it('keeps a late result after a hard timeout out of the storage; the next call runs fn again', async () => {
      const storage = makeStorage()
      const namespace = uniqueNamespace()
      const c = controllable()
      const cached = cacheValue(c.fn, { storage, namespace, name: 'lateDone', ttl: '1h', timeout: { hard: 500 } })
      const call = capture(cached('k'))
      await tick(500)
      const outcome = await call
      expect((outcome.ok ? undefined : (outcome.error as TimeoutError))?.code).toBe('E_TIMEOUT')
      await invalidate(cached, storage, namespace)
      c.resolve('late')
      await tick(0)
      expect(await stored(storage, namespace, cached.keyFor('k'))).toBeUndefined()
      const next = cached('k')
      await tick(0)
      expect(c.runs).toHaveLength(2)
      c.resolve('fresh')
      await expect(next).resolves.toBe('fresh')
    })
  })
})

describe('.refresh(...args)', () => {
  it('runs fn now even when the entry is fresh, stores the result and returns it as a call would', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let n = 0
    const fn = jest.fn((id: number) => `v${++n}:${id}`)
    const cached = cacheValue(fn, { storage, namespace, name: 'syncRefresh', ttl: '1h' })
    expect(cached(1)).toBe('v1:1')
    // A sync fn over a sync storage: a plain value.
    expect(cached.refresh(1)).toBe('v2:1')
    expect(fn).toHaveBeenCalledTimes(2)
    expect(cached(1)).toBe('v2:1')
    expect(fn).toHaveBeenCalledTimes(2)
  })

  it('an async fn over memoryStorage: a Promise of the new value', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable((run) => `v${run}`)
    const cached = cacheValue(c.fn, { storage, namespace, name: 'asyncRefresh', ttl: '1h' })
    await expect(cached()).resolves.toBe('v1')
    const refreshed = cached.refresh()
    expect(refreshed).toBeInstanceOf(Promise)
    await expect(refreshed).resolves.toBe('v2')
    await expect(cached()).resolves.toBe('v2')
    expect(c.runs).toHaveLength(2)
  })

  it('over an async storage: a Promise even for a sync fn, and the new value is stored', async () => {
    const { storage } = faultyStorage(true)
    const namespace = uniqueNamespace()
    let n = 0
    const cached = cacheValue(() => `v${++n}`, { storage, namespace, name: 'asyncStorageRefresh', ttl: '1h' })
    await expect(cached()).resolves.toBe('v1')
    const refreshed = cached.refresh()
    expect(refreshed).toBeInstanceOf(Promise)
    await expect(refreshed).resolves.toBe('v2')
    await expect(storage.get(namespace, cached.keyFor())).resolves.toMatchObject({ value: 'v2' })
    await expect(cached()).resolves.toBe('v2')
  })

  it.each(storages)('over %s, a miss already running does not overwrite it', async (_label, make) => {
    const storage = make()
    const namespace = uniqueNamespace()
    const c = controllable()
    const cached = cacheValue(c.fn, { storage, namespace, name: 'raceMiss', ttl: '1h' })
    const miss = cached('k')
    await tick(0)
    expect(c.runs).toHaveLength(1)
    const refreshed = cached.refresh('k')
    await tick(0)
    expect(c.runs).toHaveLength(2)
    c.runs[1]?.resolve('new')
    await expect(refreshed).resolves.toBe('new')
    c.runs[0]?.resolve('old')
    await miss
    await tick(0)
    expect(await stored(storage, namespace, cached.keyFor('k'))).toBe('new')
  })

  it.each(storages)('over %s, a background refresh already running does not overwrite it', async (_label, make) => {
    const storage = make()
    const namespace = uniqueNamespace()
    const c = controllable()
    const cached = cacheValue(c.fn, { storage, namespace, name: 'raceBg', ttl: 1000, swr: '1m' })
    await seeded(c, () => cached('k'))
    await tickTo(1500)
    await cached('k')
    await tick(0)
    expect(c.runs).toHaveLength(2)
    const refreshed = cached.refresh('k')
    await tick(0)
    expect(c.runs).toHaveLength(3)
    c.runs[2]?.resolve('forced')
    await expect(refreshed).resolves.toBe('forced')
    c.runs[1]?.resolve('background')
    await tick(0)
    expect(await stored(storage, namespace, cached.keyFor('k'))).toBe('forced')
  })

  it.each(storages)(
    'over %s, after a hard timeout it runs fn now, and the abandoned computation\u2019s late result does not overwrite it',
    async (_label, make) => {
      const storage = make()
      const namespace = uniqueNamespace()
      const c = controllable()
      const cached = cacheValue(c.fn, { storage, namespace, name: 'raceAbandoned', ttl: '1h', timeout: { hard: 500 } })
      const call = capture(cached('k'))
      await tick(500)
      expect((await call).ok).toBe(false)
      const refreshed = capture(cached.refresh('k'))
      await tick(0)
      // "runs fn now": a second run, not a wait on the hung one.
      expect(c.runs).toHaveLength(2)
      c.runs[1]?.resolve('forced')
      await tick(0)
      expect(await refreshed).toEqual({ ok: true, value: 'forced' })
      c.runs[0]?.resolve('abandoned')
      await tick(0)
      expect(await stored(storage, namespace, cached.keyFor('k'))).toBe('forced')
    },
  )
})
