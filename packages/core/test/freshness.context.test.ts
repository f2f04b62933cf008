// computeContext(), from the freshness spec: inside fn during a miss or refresh it gives { signal, background,
// stale } (stale: { value, createdAt, staleAt } for refreshes and staleIfError computations, else undefined);
// outside a computation it is undefined; the signal aborts when the key is deleted or cleared while fn runs.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type ComputeContext, cacheClear, cacheValue, computeContext, memoryStorage } from '@memokit/core'
import { controllable, T0, tick, tickTo, useFakeClock } from './controllable'
import { faultyStorage, uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

describe('computeContext()', () => {
  it('is undefined outside a computation: before, between and after calls, and on hits', async () => {
    expect(computeContext()).toBeUndefined()
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable((run) => `v${run}`)
    const cached = cacheValue(c.fn, { storage, namespace, name: 'outside', ttl: 1000 })
    await cached()
    expect(computeContext()).toBeUndefined()
    await cached()
    expect(c.runs).toHaveLength(1)
    expect(computeContext()).toBeUndefined()
    // Code that runs later, on its own (a timer set by the test, not by fn), sees none either.
    let inTimer: ComputeContext | undefined | 'unset' = 'unset'
    setTimeout(() => {
      inTimer = computeContext()
    }, 10)
    await tick(10)
    expect(inTimer).toBeUndefined()
  })

  it('a miss: a live signal, background false, stale undefined (sync and async fn)', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let seen: ComputeContext | undefined
    const sync = cacheValue(
      () => {
        seen = computeContext()
        return 1
      },
      { storage, namespace, name: 'syncMiss', ttl: 1000 },
    )
    sync()
    expect(seen?.signal).toBeInstanceOf(AbortSignal)
    expect(seen?.signal.aborted).toBe(false)
    expect(seen?.background).toBe(false)
    expect(seen?.stale).toBeUndefined()

    const c = controllable()
    const cached = cacheValue(c.fn, { storage, namespace, name: 'asyncMiss', ttl: 1000 })
    const call = cached()
    const context = c.last().context
    expect(context?.signal.aborted).toBe(false)
    expect(context?.background).toBe(false)
    expect(context?.stale).toBeUndefined()
    c.resolve('x')
    await call
  })

  it('is still there after an await inside fn', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let before: ComputeContext | undefined
    let after: ComputeContext | undefined
    const cached = cacheValue(
      async () => {
        before = computeContext()
        await new Promise((resolve) => setTimeout(resolve, 5))
        after = computeContext()
        return 1
      },
      { storage, namespace, name: 'afterAwait' },
    )
    const call = cached()
    await tick(5)
    await call
    expect(after).toBeDefined()
    expect(after).toBe(before)
  })

  it('a swr refresh: background true, stale = the entry it replaces', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable((run) => `v${run}`)
    const cached = cacheValue(c.fn, { storage, namespace, name: 'swrContext', ttl: 1000, swr: '1m' })
    await cached()
    await tickTo(1500)
    await cached()
    await tick(0)
    expect(c.runs).toHaveLength(2)
    const context = c.last().context
    expect(context?.background).toBe(true)
    expect(context?.stale).toEqual({ value: 'v1', createdAt: T0, staleAt: T0 + 1000 })
  })

  it('a refresh-ahead refresh: background true, stale = the entry it replaces', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable((run) => `v${run}`)
    const cached = cacheValue(c.fn, { storage, namespace, name: 'aheadContext', ttl: 1000, refreshAhead: 0.5 })
    await cached()
    await tickTo(600)
    await cached()
    await tick(0)
    expect(c.runs).toHaveLength(2)
    expect(c.last().context?.background).toBe(true)
    expect(c.last().context?.stale).toEqual({ value: 'v1', createdAt: T0, staleAt: T0 + 1000 })
  })

  it('a staleIfError computation: background false, stale = the entry in hand', async () => {
    const { storage } = faultyStorage(true)
    const namespace = uniqueNamespace()
    const c = controllable((run) => `v${run}`)
    const cached = cacheValue(c.fn, { storage, namespace, name: 'sieContext', ttl: 1000, staleIfError: '1h' })
    await cached()
    await tickTo(5000)
    await expect(cached()).resolves.toBe('v2')
    expect(c.last().context?.background).toBe(false)
    expect(c.last().context?.stale).toEqual({ value: 'v1', createdAt: T0, staleAt: T0 + 1000 })
  })

  describe.each([
    ['memoryStorage', () => memoryStorage()],
    ['an async storage', () => faultyStorage(true).storage],
  ])('over %s, the signal aborts while fn runs when the entry is invalidated', (_label, make) => {
    const setup = () => {
      const storage = make()
      const namespace = uniqueNamespace()
      const c = controllable()
      const cached = cacheValue(c.fn, { storage, namespace, name: 'aborted', ttl: '1h' })
      return { storage, namespace, c, cached }
    }
    const started = async (c: ReturnType<typeof controllable>): Promise<AbortSignal> => {
      await tick(0)
      expect(c.runs).toHaveLength(1)
      return c.last().context?.signal as AbortSignal
    }

    it('by .delete(args): aborted, and the result is not stored', async () => {
      const { storage, namespace, c, cached } = setup()
      const call = cached('k').catch(() => undefined)
      const signal = await started(c)
      expect(signal.aborted).toBe(false)
      await cached.delete('k')
      expect(signal.aborted).toBe(true)
      c.resolve('v1')
      await call
      await tick(0)
      expect(await storage.get(namespace, cached.keyFor('k'))).toBeUndefined()
    })

    it('by .delete of other arguments: not aborted', async () => {
      const { c, cached } = setup()
      const call = cached('k')
      const signal = await started(c)
      await cached.delete('other')
      expect(signal.aborted).toBe(false)
      c.resolve('v1')
      await call
    })

    it('by .clear(): aborted, and the result is not stored', async () => {
      const { storage, namespace, c, cached } = setup()
      const call = cached('k').catch(() => undefined)
      const signal = await started(c)
      await cached.clear()
      expect(signal.aborted).toBe(true)
      c.resolve('v1')
      await call
      await tick(0)
      expect(await storage.get(namespace, cached.keyFor('k'))).toBeUndefined()
    })

    it('by cacheClear of the namespace: aborted, and the result is not stored', async () => {
      const { storage, namespace, c, cached } = setup()
      const save = cacheClear(async () => 'saved', { namespaces: namespace, storage })
      const call = cached('k').catch(() => undefined)
      const signal = await started(c)
      await save()
      expect(signal.aborted).toBe(true)
      c.resolve('v1')
      await call
      await tick(0)
      expect(await storage.get(namespace, cached.keyFor('k'))).toBeUndefined()
    })
  })
})
