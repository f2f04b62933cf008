// Adversarial probes of the serving-stale features that found bugs: each test failed before the fix committed with it.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import {
  type AnyStorage,
  type CacheStats,
  cacheValue,
  type ErrorReport,
  memoryStorage,
  type Storage,
  StorageError,
  TimeoutError,
} from '@memokit/core'
import { capture, controllable, T0, tick, tickTo, useFakeClock } from './controllable'
import { faultyStorage, uniqueNamespace } from './helpers'
import { replicaStorage, sharedState } from './lease-helpers'

describe('a sync fn over a sync storage whose write fails: the caller gets the error, nothing else does', () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }
  beforeEach(() => {
    unhandled.length = 0
    process.on('unhandledRejection', onUnhandled)
  })
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled)
  })
  // Jest reports an unhandled rejection as a failure of the test too, whether or not it reaches the listener.
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10))

  it('failOpen: false: the write error is thrown to the caller, with no unhandled rejection', async () => {
    const { storage, failing } = faultyStorage(false)
    failing.add('set')
    const cached = cacheValue((x: number) => x * 2, {
      storage: storage as Storage,
      namespace: uniqueNamespace(),
      name: 'strictSyncWrite',
      failOpen: false,
    })
    expect(() => cached(2)).toThrow(StorageError)
    await settle()
    expect(unhandled).toEqual([])
  })

  it('a shouldCache that throws: the value is returned unstored and the error reported, with no unhandled rejection', async () => {
    const refused = new Error('shouldCache failed')
    const reports: ErrorReport[] = []
    const storage = memoryStorage()
    let runs = 0
    const cached = cacheValue(
      (x: number) => {
        runs++
        return x * 2
      },
      {
        storage,
        namespace: uniqueNamespace(),
        name: 'throwingShouldCache',
        onError: (report) => reports.push(report),
        shouldCache: () => {
          throw refused
        },
      },
    )
    expect(cached(2)).toBe(4)
    expect(cached(2)).toBe(4)
    expect(runs).toBe(2)
    expect(reports.map((r) => [r.op, r.error])).toEqual([
      ['set', refused],
      ['set', refused],
    ])
    await settle()
    expect(unhandled).toEqual([])
  })
})

describe('a miss while a background refresh of its key runs (refresh-ahead, swr): one fn, never older over newer', () => {
  beforeEach(useFakeClock)
  afterEach(() => {
    jest.useRealTimers()
  })

  // fn's first result 'v1' is written at T0 (ttl 1000); a hit at 800 (refresh-ahead) or 1200 (swr) starts a background
  // refresh whose fn hangs; at 3000 the entry is gone and a call misses.
  async function hungRefresh(storage: AnyStorage, extra: Record<string, unknown>, hitAt: number) {
    const namespace = uniqueNamespace()
    const c = controllable()
    const reports: ErrorReport[] = []
    const cached = cacheValue(c.fn, {
      storage: storage as Storage,
      namespace,
      name: 'behind',
      ttl: 1000,
      stats: true,
      onError: (r) => reports.push(r),
      ...extra,
    }) as unknown as ((k: string) => Promise<string>) & { keyFor(k: string): string; stats(): CacheStats }
    const first = cached('k')
    await tick(0)
    c.resolve('v1')
    await expect(first).resolves.toBe('v1')
    await tickTo(hitAt)
    await expect(cached('k')).resolves.toBe('v1')
    await tick(0)
    expect(c.runs).toHaveLength(2)
    expect(c.runs[1]?.context?.background).toBe(true)
    await tickTo(3000)
    const stored = async (): Promise<unknown> => (await storage.get(namespace, cached.keyFor('k')))?.value
    expect(await stored()).toBeUndefined()
    return { c, cached, stored, reports }
  }

  describe.each([
    ['memoryStorage', () => memoryStorage() as AnyStorage],
    ['an async storage', () => faultyStorage(true).storage as AnyStorage],
    ['an async storage with leases', () => replicaStorage(sharedState()) as AnyStorage],
  ])('over %s', (_label, makeStorage) => {
    it.each([
      ['refreshAhead', { refreshAhead: 0.5 }, 800, { hits: 2, stale: 0 }],
      ['swr', { swr: 500 }, 1200, { hits: 1, stale: 1 }],
    ])(
      '%s: the miss joins the running refresh (no second fn) and gets its result, stored once',
      async (_l, extra, at, served) => {
        const { c, cached, stored } = await hungRefresh(makeStorage(), extra, at)
        const misses = [cached('k'), cached('k')]
        await tick(0)
        expect(c.runs).toHaveLength(2)
        c.runs[1]?.resolve('v2')
        await expect(Promise.all(misses)).resolves.toEqual(['v2', 'v2'])
        await tick(0)
        expect(await stored()).toBe('v2')
        await expect(cached('k')).resolves.toBe('v2')
        expect(c.runs).toHaveLength(2)
        expect(cached.stats()).toEqual({ ...served, misses: 1, joins: 2, errors: 0, refreshes: 0, computations: 2 })
      },
    )

    it('the refresh fails: the miss past every window gets fn’s error, not the stale value', async () => {
      const { c, cached, stored } = await hungRefresh(makeStorage(), { swr: 500 }, 1200)
      const miss = capture(cached('k'))
      await tick(0)
      const boom = new Error('origin down')
      c.runs[1]?.reject(boom)
      expect(await miss).toEqual({ ok: false, error: boom })
      expect(await stored()).toBeUndefined()
    })
  })

  it('a refresh whose fn has not started yet when the miss runs fn is dropped: one write, the miss’s', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable()
    const cached = cacheValue(c.fn, { storage, namespace, name: 'dropped', ttl: 1000, swr: 500 })
    const first = cached('k')
    c.resolve('v1')
    await first
    await tickTo(1200)
    const writes: unknown[] = []
    const set = storage.set.bind(storage)
    storage.set = (ns, key, value, options) => {
      writes.push(value)
      return set(ns, key, value, options)
    }
    // The stale hit schedules the refresh after the call stack; the clock moves past the window before it runs.
    await expect(cached('k')).resolves.toBe('v1')
    jest.setSystemTime(T0 + 3000)
    const miss = cached('k')
    expect(c.runs).toHaveLength(2)
    await tick(0)
    expect(c.runs).toHaveLength(2)
    c.runs[1]?.resolve('v2')
    await expect(miss).resolves.toBe('v2')
    await tick(0)
    expect(writes).toEqual(['v2'])
  })
})

describe('a background refresh that reaches its hard timeout', () => {
  beforeEach(useFakeClock)
  afterEach(() => {
    jest.useRealTimers()
  })

  it('is reported to onError as a failed refresh is, with no staleIfError window, and the old entry stays', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable()
    const reports: ErrorReport[] = []
    const cached = cacheValue(c.fn, {
      storage,
      namespace,
      name: 'hungRefreshReported',
      ttl: 1000,
      swr: '1h',
      timeout: { hard: 500 },
      onError: (r) => reports.push(r),
    })
    const first = cached()
    c.resolve('v1')
    await first
    await tickTo(2000)
    await expect(cached()).resolves.toBe('v1')
    await tick(499)
    expect(reports).toEqual([])
    await tick(1)
    expect(reports).toHaveLength(1)
    expect(reports[0]?.op).toBe('compute')
    expect(reports[0]?.error).toBeInstanceOf(TimeoutError)
    expect(storage.get(namespace, cached.keyFor())?.value).toBe('v1')
    await expect(cached()).resolves.toBe('v1')
  })
})
