import { describe, expect, it, jest } from '@jest/globals'
import { cacheValue, memoryStorage } from '@memokit/core'
import fc from 'fast-check'
import { MISS, memoryInternals, WithMeta } from '../src/memory'

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

  it('number keys of many tables match a Map through growth, rehashing, deletes and evictions', () => {
    // Three functions in two namespaces share numbers. 150 entries take the arrays from 64 slots through a rehash;
    // 3 or 10 give a few buckets only, so numbers of different tables share chains.
    const tablesOf = [
      ['n', 'f:'],
      ['n', 'g:'],
      ['m', 'f:'],
    ] as const
    const key = fc.oneof(
      fc.integer({ min: -40, max: 400 }),
      fc.integer({ min: 0, max: 6 }),
      fc.constantFrom(0.5, 1e21, Number.NaN, 2 ** 40),
    )
    const op = fc.record({ t: fc.nat({ max: 2 }), k: key, del: fc.boolean() })
    fc.assert(
      fc.property(
        fc.constantFrom(3, 10, 150),
        fc.array(op, { minLength: 50, maxLength: 400, size: 'max' }),
        (max, ops) => {
          const storage = memoryStorage({ maxEntries: max })
          const internals = memoryInternals(storage)
          if (!internals) throw new Error('no internals')
          // Map order is the LRU order of the reference.
          const model = new Map<string, number>()
          ops.forEach(({ t, k, del }, i) => {
            const [ns, prefix] = tablesOf[t] as (typeof tablesOf)[number]
            const full = `${prefix}[${Number.isNaN(k) ? 'NaN' : k}]`
            const id = JSON.stringify([ns, full])
            if (del) {
              expect(storage.delete(ns, full)).toBe(model.delete(id))
              return
            }
            const held = internals.read(internals.numberTable(ns, prefix), k)
            expect(held).toBe(model.has(id) ? model.get(id) : MISS)
            if (model.delete(id)) model.set(id, held as number)
            else {
              storage.set(ns, full, i)
              if (model.size >= max) model.delete(model.keys().next().value as string)
              model.set(id, i)
            }
          })
          for (const [id, value] of model) {
            const [ns, full] = JSON.parse(id) as [string, string]
            expect(storage.get(ns, full)?.value).toBe(value)
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  it('keeps createdAt and expiresAt exact when the clock leaves the 32-bit range or goes back', () => {
    const start = 1_700_000_000_000
    jest.useFakeTimers({ now: start })
    try {
      const storage = memoryStorage()
      storage.set(NS, 'a', 1, { ttl: 1_000 })
      storage.set(NS, 'f:[1]', 2)
      // 60 days on: past what 32 bits of ms after the storage's start hold.
      const later = start + 60 * 86_400_000
      jest.setSystemTime(later)
      storage.set(NS, 'b', 3, { ttl: 5_000 })
      storage.set(NS, 'c', 4, { ttl: 100 * 86_400_000 })
      expect(storage.get(NS, 'a')).toBeUndefined()
      expect(storage.get(NS, 'f:[1]')).toEqual({ value: 2, createdAt: start, expiresAt: undefined })
      expect(storage.get(NS, 'b')).toEqual({ value: 3, createdAt: later, expiresAt: later + 5_000 })
      expect(storage.get(NS, 'c')?.expiresAt).toBe(later + 100 * 86_400_000)
      // And a clock set back before the storage was made.
      const fresh = memoryStorage()
      jest.setSystemTime(start - 10_000)
      fresh.set(NS, 'd', 5, { ttl: 50 })
      expect(fresh.get(NS, 'd')).toEqual({ value: 5, createdAt: start - 10_000, expiresAt: start - 9_950 })
      jest.advanceTimersByTime(50)
      expect(fresh.get(NS, 'd')).toBeUndefined()
    } finally {
      jest.useRealTimers()
    }
  })

  it("stores a Promise's result unboxed, flagged, and returns its metadata as written", () => {
    const storage = memoryStorage()
    const internals = memoryInternals(storage)
    if (!internals) throw new Error('no internals')
    storage.set(NS, 'f:[3]', 'v', { meta: { promise: true } })
    storage.set(NS, 'f:[4]', 'w', { meta: { promise: true, staleAt: 1 } })
    const table = internals.numberTable(NS, 'f:')
    // The fast read returns the value itself; the slow path's form carries the flag as metadata.
    expect(internals.read(table, 3)).toBe('v')
    expect(table).toMatchObject({ hasMeta: true, hasPromised: true, hasBox: true, hasTimeline: true })
    const held = internals.heldAt(internals.numberSlot(table, 3))
    expect(held).toBeInstanceOf(WithMeta)
    expect(held).toMatchObject({ value: 'v', meta: { promise: true } })
    expect(storage.get(NS, 'f:[3]')?.meta).toEqual({ promise: true })
    expect(storage.get(NS, 'f:[4]')?.meta).toEqual({ promise: true, staleAt: 1 })
    // An overwrite without metadata clears the flag.
    storage.set(NS, 'f:[3]', 'plain')
    expect(internals.heldAt(internals.numberSlot(table, 3))).toBe('plain')
    expect(storage.get(NS, 'f:[3]')?.meta).toBeUndefined()
  })

  it('a sync function sharing entries with an async one returns Promises for its results, on every path', async () => {
    const storage = memoryStorage()
    const asyncFn = cacheValue(async (...args: unknown[]) => args.length, { storage, name: 'shared' })
    const syncFn = cacheValue((...args: unknown[]) => -args.length, { storage, name: 'shared' })
    const lists: unknown[][] = [[7], [{ a: 1 }, 'x'], [new Date(0)]]
    for (const args of lists) expect(await asyncFn(...args)).toBe(args.length)
    for (let round = 0; round < 3; round++) {
      for (const args of lists) {
        const hit = syncFn(...args)
        expect(hit).toBeInstanceOf(Promise)
        expect(await hit).toBe(args.length)
      }
    }
  })
})
