import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { ConfigError, DEFAULT_MAX_ENTRIES, memoryStorage } from '@memokit/core'
import { runStorageContract } from '@memokit/storage-test-suite'

// memoryStorage reads Date.now(), so the clock is ours: TTL checks advance it instead of waiting.
beforeAll(() => {
  jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z'), doNotFake: ['nextTick', 'queueMicrotask'] })
})
afterAll(() => {
  jest.useRealTimers()
})

runStorageContract(
  { describe, it, beforeAll, afterAll },
  {
    name: 'memory',
    create: () => memoryStorage(),
    leases: true,
    advanceTime: (ms) => {
      jest.advanceTimersByTime(ms)
    },
  },
)

// The contract holds with the size bound on too (a bound the contract's entries never reach).
runStorageContract(
  { describe, it, beforeAll, afterAll },
  {
    name: 'memory with maxSize',
    create: () => memoryStorage({ maxSize: 1_000_000_000, sizeCalculation: () => 1 }),
    leases: true,
    advanceTime: (ms) => {
      jest.advanceTimersByTime(ms)
    },
  },
)

describe('memoryStorage specifics', () => {
  const ns = () => `ns-${Math.random().toString(36).slice(2)}`

  it('evicts the least recently used entry past maxEntries', () => {
    const storage = memoryStorage({ maxEntries: 3 })
    const n = ns()
    storage.set(n, 'a', 1)
    storage.set(n, 'b', 2)
    storage.set(n, 'c', 3)
    // Reading "a" makes "b" the least recently used.
    expect(storage.get(n, 'a')?.value).toBe(1)
    storage.set(n, 'd', 4)
    expect(storage.get(n, 'b')).toBeUndefined()
    expect(storage.get(n, 'a')?.value).toBe(1)
    expect(storage.get(n, 'c')?.value).toBe(3)
    expect(storage.get(n, 'd')?.value).toBe(4)
  })

  it('counts entries across namespaces for the bound, and an overwrite does not grow it', () => {
    const storage = memoryStorage({ maxEntries: 2 })
    const n1 = ns()
    const n2 = ns()
    storage.set(n1, 'k', 1)
    storage.set(n1, 'k', 2)
    storage.set(n2, 'k', 3)
    expect(storage.get(n1, 'k')?.value).toBe(2)
    expect(storage.get(n2, 'k')?.value).toBe(3)
    storage.set(n2, 'other', 4)
    // n1/k was least recently used (the get of n2/k came after it).
    expect(storage.get(n1, 'k')).toBeUndefined()
    expect(storage.get(n2, 'other')?.value).toBe(4)
  })

  it('frees room on delete and clear, so later writes evict nothing', () => {
    const storage = memoryStorage({ maxEntries: 2 })
    const n1 = ns()
    const n2 = ns()
    storage.set(n1, 'a', 1)
    storage.set(n2, 'b', 2)
    storage.clear(n1)
    storage.set(n2, 'c', 3)
    expect(storage.get(n2, 'b')?.value).toBe(2)
    expect(storage.delete(n2, 'b')).toBe(true)
    storage.set(n2, 'd', 4)
    expect(storage.get(n2, 'c')?.value).toBe(3)
    expect(storage.get(n2, 'd')?.value).toBe(4)
  })

  it('bounds itself to 10,000 entries by default', () => {
    expect(DEFAULT_MAX_ENTRIES).toBe(10_000)
    const storage = memoryStorage()
    const n = ns()
    for (let i = 0; i <= 10_000; i++) storage.set(n, `k${i}`, i)
    expect(storage.get(n, 'k0')).toBeUndefined()
    expect(storage.get(n, 'k1')?.value).toBe(1)
    expect(storage.get(n, 'k10000')?.value).toBe(10_000)
  })

  it('accepts Infinity as an explicit opt-out of the bound', () => {
    const storage = memoryStorage({ maxEntries: Number.POSITIVE_INFINITY })
    const n = ns()
    for (let i = 0; i <= 10_001; i++) storage.set(n, `k${i}`, i)
    expect(storage.get(n, 'k0')?.value).toBe(0)
  })

  it.each([0, -1, 1.5, Number.NaN, Number.NEGATIVE_INFINITY, '10' as unknown as number])(
    'rejects maxEntries %p with a ConfigError naming the option',
    (maxEntries) => {
      let error: unknown
      try {
        memoryStorage({ maxEntries })
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).option).toBe('maxEntries')
      expect((error as ConfigError).message).toMatch(/positive integer/)
    },
  )

  it('keeps values by reference: a hit returns the identical object', () => {
    const storage = memoryStorage()
    const n = ns()
    const value = { nested: { list: [1, 2, 3] } }
    storage.set(n, 'k', value)
    expect(storage.get(n, 'k')?.value).toBe(value)
    expect(storage.get(n, 'k')?.value).toBe(value)
  })

  it('expires exactly at createdAt + ttl on its own clock', () => {
    const storage = memoryStorage()
    const n = ns()
    storage.set(n, 'k', 'v', { ttl: 100 })
    jest.advanceTimersByTime(99)
    expect(storage.get(n, 'k')?.value).toBe('v')
    jest.advanceTimersByTime(1)
    expect(storage.get(n, 'k')).toBeUndefined()
  })

  it('does not let an expired entry block add', () => {
    const storage = memoryStorage({ maxEntries: 2 })
    const n = ns()
    storage.set(n, 'k', 'old', { ttl: 10 })
    jest.advanceTimersByTime(10)
    expect(storage.add?.(n, 'k', 'new')).toBe(true)
    expect(storage.get(n, 'k')?.value).toBe('new')
  })
})
