import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, CodecError, ConfigError, cacheValue, type ErrorReport, memoryStorage } from '@memokit/core'
import { faultyStorage } from './helpers'

let now = 1_000_000
beforeEach(() => {
  now = 1_000_000
  jest.spyOn(Date, 'now').mockImplementation(() => now)
})
afterEach(() => {
  jest.restoreAllMocks()
})

describe('cacheValue circuit breaker', () => {
  it('after 5 failures in a row skips the storage for the cooldown, then one call probes it', async () => {
    const { storage, failing, calls } = faultyStorage(true)
    const reports: ErrorReport[] = []
    const fn = jest.fn(async (n: number) => n + 1)
    // random 0.5: the middle of the ±20% cooldown jitter, so the cooldown is exactly cooldownMs.
    const cached = cacheValue(fn, { storage, name: 'guarded', onError: (r) => reports.push(r), random: () => 0.5 })
    failing.add('get')
    for (let i = 0; i < 5; i++) await expect(cached(i)).resolves.toBe(i + 1)
    expect(calls.get).toBe(5)
    // The fifth failure opened the circuit, and that was reported once.
    const opened = reports.filter((r) => r.error.message.includes('circuitBreaker'))
    expect(opened).toHaveLength(1)
    expect(opened[0]?.error.code).toBe('E_STORAGE')

    // Open: calls run fn without touching the storage at all.
    for (let i = 0; i < 20; i++) await expect(cached(i)).resolves.toBe(i + 1)
    expect(calls.get).toBe(5)
    expect(calls.set).toBe(0)

    // After the cooldown the storage is healthy again: one probe closes the circuit, caching resumes.
    failing.clear()
    now += 5_000
    await expect(cached(100)).resolves.toBe(101)
    expect(calls.get).toBe(6)
    expect(calls.set).toBe(1)
    const runs = fn.mock.calls.length
    await expect(cached(100)).resolves.toBe(101)
    expect(fn.mock.calls.length).toBe(runs)
  })

  it('a failed probe opens the circuit for another cooldown; concurrent calls send only one probe', async () => {
    const { storage, failing, calls } = faultyStorage(true)
    const cached = cacheValue(async (n: number) => n, {
      storage,
      name: 'probed',
      onError: () => {},
      circuitBreaker: { failures: 2, cooldownMs: 1_000 },
      // The cooldown varies by ±20% so replicas don't probe together; 0.5 is the middle: exactly cooldownMs.
      random: () => 0.5,
    })
    failing.add('get')
    await cached(1)
    await cached(2)
    expect(calls.get).toBe(2)
    now += 999
    await cached(3)
    expect(calls.get).toBe(2)
    now += 1
    await Promise.all([cached(4), cached(5), cached(6)])
    expect(calls.get).toBe(3)
    await cached(7)
    expect(calls.get).toBe(3)
    now += 1_000
    failing.clear()
    await cached(8)
    await cached(9)
    expect(calls.get).toBe(5)
  })

  it('circuitBreaker: false asks the storage on every call', async () => {
    const { storage, failing, calls } = faultyStorage(true)
    const cached = cacheValue(async (n: number) => n, {
      storage,
      name: 'unguarded',
      onError: () => {},
      circuitBreaker: false,
    })
    failing.add('get')
    for (let i = 0; i < 12; i++) await cached(i)
    expect(calls.get).toBe(12)
  })

  it('a corrupt payload is not a storage failure: it never opens the circuit', async () => {
    const inner = faultyStorage(true)
    let reads = 0
    const storage: AsyncStorage = {
      ...(inner.storage as AsyncStorage),
      name: 'corrupt',
      get: async () => {
        reads++
        throw new CodecError('corrupt payload')
      },
    }
    const cached = cacheValue(async (n: number) => n, {
      storage,
      name: 'corrupted',
      onError: () => {},
      circuitBreaker: { failures: 2 },
    })
    for (let i = 0; i < 6; i++) await cached(i)
    expect(reads).toBe(6)
    // Each corrupt read is overwritten.
    expect(inner.calls.set).toBe(6)
  })

  it('guards a sync storage too, and never skips delete or clear', () => {
    const { storage, failing, calls } = faultyStorage(false)
    const cached = cacheValue((n: number) => n * 2, {
      storage,
      name: 'syncGuarded',
      onError: () => {},
      circuitBreaker: { failures: 3 },
    })
    failing.add('get')
    for (let i = 0; i < 10; i++) expect(cached(i)).toBe(i * 2)
    expect(calls.get).toBe(3)
    expect(cached.delete(1)).toBe(false)
    cached.clear()
    expect(calls.delete).toBe(1)
    expect(calls.clear).toBe(1)
  })

  it('memory storages are never guarded (they cannot fail), and bad options are a ConfigError', () => {
    expect(cacheValue((n: number) => n, { storage: memoryStorage(), name: 'm' })(3)).toBe(3)
    for (const circuitBreaker of [
      { failures: 0 },
      { failures: 1.5 },
      { cooldownMs: -1 },
      { cooldownMs: Number.NaN },
      'on',
    ]) {
      expect(() => cacheValue((n: number) => n, { name: 'bad', circuitBreaker: circuitBreaker as never })).toThrow(
        ConfigError,
      )
    }
  })
})
