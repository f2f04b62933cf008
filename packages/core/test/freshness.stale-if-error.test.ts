// Stale-if-error, from the freshness spec: when fn fails and the stale entry is within the window, the caller gets
// the stale value, onError gets the error, and for errorBackoff calls get the stale value without running fn;
// past the window (or with no entry) the caller gets fn's own error object.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { ComputeError, cacheValue, type ErrorReport, memoryStorage } from '@memokit/core'
import { capture, tick, tickTo, useFakeClock } from './controllable'
import { cachedControllable, storeV1ThenMoveTo } from './freshness-helpers'
import { faultyStorage, uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

describe.each([
  ['memoryStorage', () => memoryStorage()],
  ['an async storage', () => faultyStorage(true).storage],
])('staleIfError over %s', (_label, makeStorage) => {
  it('serves the stale value when fn fails in the window, reports it, and backs off for errorBackoff', async () => {
    const storage = makeStorage()
    const reports: ErrorReport[] = []
    const { c, cached } = cachedControllable(storage, {
      name: 'account',
      ttl: 1000,
      staleIfError: '1m',
      errorBackoff: '5s',
      onError: (r) => reports.push(r),
    })
    const first = cached(7)
    await tick(0)
    c.resolve('v1')
    await expect(first).resolves.toBe('v1')

    await tickTo(2000)
    const call = capture(cached(7))
    await tick(0)
    // Past staleAt and without swr, fn runs in the foreground with the stale value in hand.
    expect(c.runs).toHaveLength(2)
    const boom = new Error('database down')
    c.reject(boom)
    await expect(call).resolves.toEqual({ ok: true, value: 'v1' })
    expect(reports).toHaveLength(1)
    expect(reports[0]?.op).toBe('compute')
    expect(reports[0]?.error).toBeInstanceOf(ComputeError)
    expect(reports[0]?.error.cause).toBe(boom)

    // errorBackoff: calls get the stale value without running fn.
    for (const at of [2001, 4000, 6999]) {
      await tickTo(at)
      await expect(cached(7)).resolves.toBe('v1')
    }
    expect(c.runs).toHaveLength(2)
    expect(reports).toHaveLength(1)

    // After it, the next call tries fn again; a success is stored and served.
    await tickTo(7000)
    const retry = cached(7)
    await tick(0)
    expect(c.runs).toHaveLength(3)
    c.resolve('v3')
    await expect(retry).resolves.toBe('v3')
    await expect(cached(7)).resolves.toBe('v3')
    expect(c.runs).toHaveLength(3)
  })

  it('50 concurrent callers while fn fails: one fn run, all get the stale value, one report', async () => {
    const storage = makeStorage()
    const reports: ErrorReport[] = []
    const { c, cached } = cachedControllable(storage, {
      name: 'many',
      ttl: 1000,
      staleIfError: '1m',
      onError: (r) => reports.push(r),
    })
    const first = cached()
    await tick(0)
    await storeV1ThenMoveTo(c, first, 5000)
    const calls = Array.from({ length: 50 }, () => capture(cached()))
    await tick(0)
    expect(c.runs).toHaveLength(2)
    c.reject(new Error('timeout from the database'))
    const outcomes = await Promise.all(calls)
    expect(outcomes).toEqual(Array(50).fill({ ok: true, value: 'v1' }))
    expect(reports).toHaveLength(1)
  })

  it('window edge: 1 ms before its end the stale value is served; at its end, fn\u2019s own error (===)', async () => {
    const storage = makeStorage()
    const namespace = uniqueNamespace()
    const reports: ErrorReport[] = []
    let fail = false
    let n = 0
    const errors: Error[] = []
    const fn = async (): Promise<string> => {
      n++
      if (!fail) return `v${n}`
      const error = new Error(`failure ${n}`)
      errors.push(error)
      throw error
    }
    // staleAt = T0 + 1000, window 5000: it ends at T0 + 6000.
    const cached = cacheValue(fn, {
      storage,
      namespace,
      name: 'edge',
      ttl: 1000,
      staleIfError: 5000,
      onError: (r) => reports.push(r),
    })
    await expect(cached()).resolves.toBe('v1')
    fail = true
    await tickTo(5999)
    await expect(cached()).resolves.toBe('v1')
    expect(reports).toHaveLength(1)
    // The backoff that failure started (10 s by default) does not stretch the window.
    await tickTo(6000)
    const outcome = await capture(cached())
    expect(outcome.ok).toBe(false)
    expect(outcome.ok ? undefined : outcome.error).toBe(errors[errors.length - 1])
    expect(errors).toHaveLength(2)
    expect(reports).toHaveLength(1)
  })

  it('with no entry at all, the caller gets fn\u2019s own error, unwrapped, and nothing is reported', async () => {
    const storage = makeStorage()
    const namespace = uniqueNamespace()
    const reports: ErrorReport[] = []
    const boom = new TypeError('bad row')
    const cached = cacheValue(
      async () => {
        throw boom
      },
      { storage, namespace, name: 'cold', ttl: 1000, staleIfError: '1h', onError: (r) => reports.push(r) },
    )
    await expect(cached()).rejects.toBe(boom)
    expect(reports).toHaveLength(0)
  })
})

describe('staleIfError with a sync fn over memoryStorage', () => {
  it('a throw in the window returns the stale value synchronously; past the window the error is thrown as is', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const reports: ErrorReport[] = []
    let fail = false
    const boom = new Error('disk gone')
    const fn = jest.fn((id: number) => {
      if (fail) throw boom
      return { id }
    })
    const cached = cacheValue(fn, {
      storage,
      namespace,
      name: 'syncSie',
      ttl: 1000,
      staleIfError: 2000,
      errorBackoff: 100,
      onError: (r) => reports.push(r),
    })
    const value = cached(1)
    expect(value).toEqual({ id: 1 })
    fail = true
    await tickTo(1500)
    expect(cached(1)).toEqual({ id: 1 })
    expect(fn).toHaveBeenCalledTimes(2)
    expect(reports.map((r) => r.op)).toEqual(['compute'])
    await tickTo(3000)
    expect(() => cached(1)).toThrow(boom)
    let thrown: unknown
    try {
      cached(1)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBe(boom)
  })

  it('the default errorBackoff is 10 s', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let fail = false
    const fn = jest.fn(() => {
      if (fail) throw new Error('down')
      return 'ok'
    })
    const cached = cacheValue(fn, {
      storage,
      namespace,
      name: 'defaultBackoff',
      ttl: 1000,
      staleIfError: '1m',
      onError: () => {},
    })
    cached()
    fail = true
    await tickTo(2000)
    expect(cached()).toBe('ok')
    expect(fn).toHaveBeenCalledTimes(2)
    await tickTo(2000 + 9_999)
    expect(cached()).toBe('ok')
    expect(fn).toHaveBeenCalledTimes(2)
    await tickTo(2000 + 10_000)
    expect(cached()).toBe('ok')
    expect(fn).toHaveBeenCalledTimes(3)
  })
})
