import { describe, expect, it, jest } from '@jest/globals'
import { cacheValue, memoryStorage } from '@memokit/core'
import { MISS, memoryInternals } from '../src/memory'

const NS = 'n'

describe('memoryStorage internals', () => {
  it.each([1, 2, 3, 64, 65, 200])('keeps exactly the %i most recently used entries across growth', (max) => {
    const storage = memoryStorage({ maxEntries: max })
    const total = max * 3 + 7
    for (let i = 0; i < total; i++) {
      storage.set(NS, `f:[${i}]`, i)
      // Keep key 0 hot: it must survive every eviction.
      if (i > 0 && max > 1) expect(storage.get(NS, 'f:[0]')?.value).toBe(0)
    }
    const live = Array.from({ length: total }, (_, i) => storage.get(NS, `f:[${i}]`)).filter(Boolean)
    expect(live).toHaveLength(max)
    if (max > 1) expect(storage.get(NS, `f:[${total - 1}]`)?.value).toBe(total - 1)
  })

  it('stores one-number keys and string keys side by side without confusing them', () => {
    const storage = memoryStorage()
    const keys = ['f:[1]', 'f:["1"]', 'f:[1.0]', 'f:[01]', 'f:[-0]', 'f:[0]', 'f:[NaN]', 'f:[Infinity]', 'f:[1e21]']
    keys.forEach((key, i) => {
      storage.set(NS, key, i)
    })
    keys.forEach((key, i) => {
      expect(storage.get(NS, key)?.value).toBe(i)
    })
    expect(storage.delete(NS, 'f:[-0]')).toBe(true)
    expect(storage.get(NS, 'f:[0]')?.value).toBe(keys.indexOf('f:[0]'))
  })

  it('the fast read sees exactly what the public API wrote, and honours expiry', () => {
    jest.useFakeTimers({ now: 5_000 })
    try {
      const storage = memoryStorage()
      const internals = memoryInternals(storage)
      if (!internals) throw new Error('memoryStorage must expose its internals to core')
      const table = internals.numberTable(NS, 'f:')
      expect(internals.read(table, 7)).toBe(MISS)
      storage.set(NS, 'f:[7]', undefined, { ttl: 100 })
      expect(internals.read(table, 7)).toBeUndefined()
      jest.advanceTimersByTime(100)
      expect(internals.read(table, 7)).toBe(MISS)
      expect(storage.get(NS, 'f:[7]')).toBeUndefined()
    } finally {
      jest.useRealTimers()
    }
  })

  it('a storage spread into a new object does not inherit the fast path', () => {
    const storage = memoryStorage()
    const wrapped = { ...storage, name: 'wrapped' }
    expect(memoryInternals(storage)).toBeDefined()
    expect(memoryInternals(wrapped)).toBeUndefined()
  })

  it('clear with a key prefix removes exactly the matching entries of both kinds', () => {
    const storage = memoryStorage()
    for (const key of ['f:[1]', 'f:[2]', 'f:["x"]', 'fg:[1]', 'g:[1]', 'f:[10]']) storage.set(NS, key, key)
    storage.clear(NS, 'f:[1')
    expect(['f:[1]', 'f:[10]'].map((k) => storage.get(NS, k))).toEqual([undefined, undefined])
    expect(['f:[2]', 'f:["x"]', 'fg:[1]', 'g:[1]'].map((k) => storage.get(NS, k)?.value)).toEqual([
      'f:[2]',
      'f:["x"]',
      'fg:[1]',
      'g:[1]',
    ])
    storage.clear(NS, 'f:')
    expect(storage.get(NS, 'f:[2]')).toBeUndefined()
    expect(storage.get(NS, 'fg:[1]')?.value).toBe('fg:[1]')
  })

  it('cacheValue hits through the fast path return what the function returned', () => {
    const storage = memoryStorage()
    const fn = jest.fn((n: number) => ({ n }))
    const cached = cacheValue(fn, { storage, name: 'boxed' })
    const values = [0, -0, 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -3, 2 ** 53]
    const first = values.map((v) => cached(v))
    const second = values.map((v) => cached(v))
    second.forEach((v, i) => {
      expect(v).toBe(first[i])
    })
    expect(Object.is(cached(-0).n, -0)).toBe(true)
    expect(fn).toHaveBeenCalledTimes(values.length)
  })
})
