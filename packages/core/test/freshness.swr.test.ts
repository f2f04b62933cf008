// Stale-while-revalidate, from the freshness spec: a call in the swr window gets the stale value at once and
// starts exactly one background refresh per key; a sync fn over a sync storage stays sync and refreshes after
// the call stack; a failed refresh keeps the old entry, goes to onError and waits errorBackoff.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { ComputeError, cacheValue, type ErrorReport, memoryStorage } from '@memokit/core'
import { controllable, T0, tick, tickTo, useFakeClock } from './controllable'
import { cachedControllable, storeV1ThenMoveTo } from './freshness-helpers'
import { faultyStorage, uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

describe('swr over a sync storage with a sync fn', () => {
  it('returns the stale value synchronously and runs the refresh after the call stack, not inside it', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let n = 0
    const fn = jest.fn((id: number) => `v${++n}:${id}`)
    const cached = cacheValue(fn, { storage, namespace, name: 'price', ttl: 1000, swr: 5000 })
    expect(cached(1)).toBe('v1:1')

    await tickTo(1500)
    const stale = cached(1)
    // A plain value, not a Promise: the wrapper stays sync.
    expect(stale).toBe('v1:1')
    // The refresh did not run inside the call.
    expect(fn).toHaveBeenCalledTimes(1)
    await Promise.resolve()
    expect(fn).toHaveBeenCalledTimes(1)

    await tick(0)
    expect(fn).toHaveBeenCalledTimes(2)
    expect(cached(1)).toBe('v2:1')
    expect(fn).toHaveBeenCalledTimes(2)
    // The refreshed entry starts a new timeline.
    expect(storage.get(namespace, cached.keyFor(1))?.meta?.staleAt).toBe(T0 + 1500 + 1000)
  })

  it('50 callers in the window get the stale value and start exactly one refresh', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let n = 0
    const fn = jest.fn(() => `v${++n}`)
    const cached = cacheValue(fn, { storage, namespace, name: 'rate', ttl: '1s', swr: '1m' })
    cached()
    await tickTo(2000)
    const answers = Array.from({ length: 50 }, () => cached())
    expect(answers).toEqual(Array(50).fill('v1'))
    expect(fn).toHaveBeenCalledTimes(1)
    await tick(0)
    expect(fn).toHaveBeenCalledTimes(2)
    expect(cached()).toBe('v2')
  })

  it('a refresh that throws keeps the old entry, is reported, and nothing escapes into the event loop', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const reports: ErrorReport[] = []
    const boom = new Error('database down')
    let fail = false
    const fn = jest.fn(() => {
      if (fail) throw boom
      return 'good'
    })
    const cached = cacheValue(fn, {
      storage,
      namespace,
      name: 'syncFail',
      ttl: 1000,
      swr: 60_000,
      onError: (r) => reports.push(r),
    })
    cached()
    fail = true
    await tickTo(1500)
    expect(cached()).toBe('good')
    await tick(0)
    expect(fn).toHaveBeenCalledTimes(2)
    expect(storage.get(namespace, cached.keyFor())?.value).toBe('good')
    expect(reports).toHaveLength(1)
    expect(reports[0]?.op).toBe('compute')
    expect(reports[0]?.error).toBeInstanceOf(ComputeError)
    expect(reports[0]?.error.cause).toBe(boom)
  })
})

describe('swr with an async fn', () => {
  it('over memoryStorage: 50 concurrent and 50 sequential callers in the window start exactly one background refresh', async () => {
    const storage = memoryStorage()
    const { c, cached } = cachedControllable(storage, { name: 'quote', ttl: 1000, swr: '1m' })
    const first = cached('k')
    c.resolve('v1')
    await expect(first).resolves.toBe('v1')

    await tickTo(1500)
    const concurrent = await Promise.all(Array.from({ length: 50 }, () => cached('k')))
    expect(concurrent).toEqual(Array(50).fill('v1'))
    await tick(0)
    expect(c.runs).toHaveLength(2)
    expect(c.last().context?.background).toBe(true)
    // The refresh is still running: later callers get the stale value and start nothing.
    for (let i = 0; i < 50; i++) {
      await expect(cached('k')).resolves.toBe('v1')
      await tick(10)
    }
    expect(c.runs).toHaveLength(2)
    c.resolve('v2')
    await tick(0)
    await expect(cached('k')).resolves.toBe('v2')
    expect(c.runs).toHaveLength(2)
  })

  it('over an async storage: every answer is a Promise, the stale one too, and 50 callers start one refresh', async () => {
    const { storage } = faultyStorage(true)
    const { c, cached } = cachedControllable(storage, { name: 'quoteAsync', ttl: 1000, swr: '1m' })
    const first = cached('k')
    await tick(0)
    c.resolve('v1')
    await expect(first).resolves.toBe('v1')

    await tickTo(1500)
    const calls = Array.from({ length: 50 }, () => cached('k'))
    for (const call of calls) expect(call).toBeInstanceOf(Promise)
    expect(await Promise.all(calls)).toEqual(Array(50).fill('v1'))
    await tick(0)
    expect(c.runs).toHaveLength(2)
    for (let i = 0; i < 50; i++) await expect(cached('k')).resolves.toBe('v1')
    await tick(0)
    expect(c.runs).toHaveLength(2)
    c.resolve('v2')
    await tick(0)
    await expect(cached('k')).resolves.toBe('v2')
    expect(c.runs).toHaveLength(2)
  })

  it('a sync fn over an async storage still returns a Promise for a stale hit', async () => {
    const { storage } = faultyStorage(true)
    const namespace = uniqueNamespace()
    let n = 0
    const cached = cacheValue(() => `v${++n}`, { storage, namespace, name: 'syncOverAsync', ttl: 1000, swr: '1m' })
    await expect(cached()).resolves.toBe('v1')
    await tickTo(1500)
    const stale = cached()
    expect(stale).toBeInstanceOf(Promise)
    await expect(stale).resolves.toBe('v1')
  })

  it('a failed refresh keeps the old entry, reports a ComputeError whose cause is fn\u2019s error, and waits errorBackoff', async () => {
    const storage = memoryStorage()
    const reports: ErrorReport[] = []
    const { namespace, c, cached } = cachedControllable(storage, {
      name: 'feed',
      ttl: 1000,
      swr: '1m',
      errorBackoff: '5s',
      onError: (r) => reports.push(r),
    })
    await storeV1ThenMoveTo(c, cached('k'), 1500)
    await expect(cached('k')).resolves.toBe('v1')
    await tick(0)
    expect(c.runs).toHaveLength(2)
    const boom = new Error('upstream 503')
    c.reject(boom)
    await tick(0)

    expect(storage.get(namespace, cached.keyFor('k'))?.value).toBe('v1')
    expect(reports).toHaveLength(1)
    const report = reports[0] as ErrorReport
    expect(report.op).toBe('compute')
    expect(report.namespace).toBe(namespace)
    expect(report.key).toBe(cached.keyFor('k'))
    expect(report.functionName).toBe('feed')
    expect(report.error).toBeInstanceOf(ComputeError)
    expect(report.error.code).toBe('E_COMPUTE')
    expect(report.error.cause).toBe(boom)

    // No new refresh of that key before errorBackoff (5 s after the failure at T0 + 1500).
    for (const at of [1600, 3000, 6499]) {
      await tickTo(at)
      await expect(cached('k')).resolves.toBe('v1')
      await tick(0)
    }
    expect(c.runs).toHaveLength(2)
    await tickTo(6500)
    await expect(cached('k')).resolves.toBe('v1')
    await tick(0)
    expect(c.runs).toHaveLength(3)
    c.resolve('v3')
    await tick(0)
    await expect(cached('k')).resolves.toBe('v3')
  })

  it('past the swr window the entry is gone: the caller waits for fn', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable((run) => `v${run}`)
    const cached = cacheValue(c.fn, { storage, namespace, name: 'window', ttl: 1000, swr: 2000 })
    await expect(cached('k')).resolves.toBe('v1')
    await tickTo(2999)
    await expect(cached('k')).resolves.toBe('v1')
    await tick(0)
    expect(c.runs).toHaveLength(2)
    // The refresh at T0 + 2999 wrote a new timeline; let it run out as well.
    await tickTo(2999 + 3000)
    expect(storage.get(namespace, cached.keyFor('k'))).toBeUndefined()
    await expect(cached('k')).resolves.toBe('v3')
    expect(c.runs).toHaveLength(3)
  })

  it('swr may be a function of the result: each entry gets its own window', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable((run, args) => `${String(args[0])}-${run}`)
    const cached = cacheValue(c.fn, {
      storage,
      namespace,
      name: 'perResultSwr',
      ttl: 1000,
      swr: (value: string) => (value.startsWith('hot') ? '10s' : '1s'),
    })
    await cached('hot')
    await cached('cold')
    expect(storage.get(namespace, cached.keyFor('hot'))?.meta?.swrUntil).toBe(T0 + 1000 + 10_000)
    expect(storage.get(namespace, cached.keyFor('cold'))?.meta?.swrUntil).toBe(T0 + 1000 + 1000)
    await tickTo(3000)
    // hot is in its window: stale at once; cold is past its own: computed now.
    await expect(cached('hot')).resolves.toBe('hot-1')
    await expect(cached('cold')).resolves.toBe('cold-3')
  })
})
