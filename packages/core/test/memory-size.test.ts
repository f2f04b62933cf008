import { describe, expect, it, jest } from '@jest/globals'
import { ConfigError, cacheValue, type ErrorReport, memoryStorage, StorageError } from '@memokit/core'
import { uniqueNamespace } from './helpers'

// Values are strings; a value's size is its length, so the tests read like the byte counts they stand for.
const byLength = (value: unknown) => String(value).length

const live = (storage: ReturnType<typeof memoryStorage>, ns: string, keys: readonly string[]) =>
  keys.filter((k) => storage.get(ns, k) !== undefined)

describe('memoryStorage maxSize: options', () => {
  it.each([
    [{ maxSize: 100 }, 'sizeCalculation', /maxSize needs sizeCalculation/],
    [{ maxSize: 100, sizeCalculation: 10 }, 'sizeCalculation', /maxSize needs sizeCalculation/],
    [{ sizeCalculation: byLength }, 'maxSize', /sizeCalculation is used only with maxSize/],
    [{ maxSize: 0, sizeCalculation: byLength }, 'maxSize', /positive safe integer.*got 0/],
    [{ maxSize: -5, sizeCalculation: byLength }, 'maxSize', /got -5/],
    [{ maxSize: 1.5, sizeCalculation: byLength }, 'maxSize', /got 1.5/],
    [{ maxSize: Number.NaN, sizeCalculation: byLength }, 'maxSize', /got NaN/],
    [{ maxSize: Number.POSITIVE_INFINITY, sizeCalculation: byLength }, 'maxSize', /leave it out for no size bound/],
    [{ maxSize: '1MB', sizeCalculation: byLength }, 'maxSize', /got 1MB/],
    [{ maxSzie: 10 }, 'maxSzie', /did you mean 'maxSize'/],
  ])('%p is rejected with a ConfigError naming %s', (options, option, message) => {
    let thrown: unknown
    try {
      memoryStorage(options as never)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    expect(thrown).toMatchObject({ code: 'E_CONFIG', option })
    expect((thrown as Error).message).toMatch(message)
  })
})

describe('memoryStorage maxSize: eviction', () => {
  it('evicts the least recently used entries until a new entry fits, and never more', () => {
    const storage = memoryStorage({ maxSize: 10, sizeCalculation: byLength })
    const ns = uniqueNamespace()
    storage.set(ns, 'a', 'aaa')
    storage.set(ns, 'b', 'bbb')
    storage.set(ns, 'c', 'ccc')
    // 9 of 10 used; reading "a" makes "b" the least recently used.
    expect(storage.get(ns, 'a')?.value).toBe('aaa')
    storage.set(ns, 'd', 'dd')
    expect(live(storage, ns, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd'])
    // 8 used: a 6-unit entry needs "c" and "a" gone (in that order of use), not "d".
    expect(storage.get(ns, 'd')?.value).toBe('dd')
    storage.set(ns, 'e', 'eeeeee')
    expect(live(storage, ns, ['a', 'c', 'd', 'e'])).toEqual(['d', 'e'])
  })

  it('counts number keys and string keys, across namespaces, towards one bound', () => {
    const storage = memoryStorage({ maxSize: 6, sizeCalculation: byLength })
    const [n1, n2] = [uniqueNamespace(), uniqueNamespace()]
    storage.set(n1, 'f:[1]', 'xx')
    storage.set(n2, 'f:["1"]', 'yy')
    storage.set(n1, 'g:[2.5]', 'zz')
    storage.set(n2, 'f:[1]', 'w')
    expect(storage.get(n1, 'f:[1]')).toBeUndefined()
    expect(storage.get(n2, 'f:["1"]')?.value).toBe('yy')
    expect(storage.get(n1, 'g:[2.5]')?.value).toBe('zz')
    expect(storage.get(n2, 'f:[1]')?.value).toBe('w')
  })

  it('an overwrite counts the new size only, and evicts others rather than itself', () => {
    const storage = memoryStorage({ maxSize: 10, sizeCalculation: byLength })
    const ns = uniqueNamespace()
    storage.set(ns, 'a', 'aaaa')
    storage.set(ns, 'b', 'bbbb')
    // "b" grows from 4 to 6: 10 in all, nothing to evict.
    storage.set(ns, 'b', 'bbbbbb')
    expect(live(storage, ns, ['a', 'b'])).toEqual(['a', 'b'])
    // "a" (the least recently used) grows from 4 to 8: "b" must go, not "a" itself.
    storage.set(ns, 'a', 'aaaaaaaa')
    expect(live(storage, ns, ['a', 'b'])).toEqual(['a'])
    // Shrinking frees room: 2 + 8 fit.
    storage.set(ns, 'a', 'a')
    storage.set(ns, 'c', 'cccccccc')
    expect(live(storage, ns, ['a', 'c'])).toEqual(['a', 'c'])
  })

  it('delete, clear and expiry free their size', () => {
    jest.useFakeTimers({ now: 1_000_000 })
    try {
      const storage = memoryStorage({ maxSize: 10, sizeCalculation: byLength })
      const ns = uniqueNamespace()
      storage.set(ns, 'keep', 'kk')
      storage.set(ns, 'gone', 'gggg')
      storage.delete(ns, 'gone')
      storage.set(ns, 'f:[1]', 'ffff')
      storage.clear(ns, 'f:')
      storage.set(ns, 'short', 'ssss', { ttl: 100 })
      jest.advanceTimersByTime(100)
      expect(storage.get(ns, 'short')).toBeUndefined()
      // Only "keep" (2) is left: 8 more fit without evicting it.
      storage.set(ns, 'big', 'bbbbbbbb')
      expect(live(storage, ns, ['keep', 'big'])).toEqual(['keep', 'big'])
    } finally {
      jest.useRealTimers()
    }
  })

  it('applies maxEntries as well: whichever bound is reached first evicts', () => {
    const storage = memoryStorage({ maxEntries: 2, maxSize: 100, sizeCalculation: byLength })
    const ns = uniqueNamespace()
    for (const k of ['a', 'b', 'c']) storage.set(ns, k, k)
    expect(live(storage, ns, ['a', 'b', 'c'])).toEqual(['b', 'c'])
  })

  it('does not keep an entry larger than maxSize, and drops the one it would replace', () => {
    const storage = memoryStorage({ maxSize: 5, sizeCalculation: byLength })
    const ns = uniqueNamespace()
    storage.set(ns, 'other', 'oo')
    storage.set(ns, 'k', 'old')
    storage.set(ns, 'k', 'far too long')
    // No older value left behind the newer write; nothing else evicted for it.
    expect(storage.get(ns, 'k')).toBeUndefined()
    expect(storage.get(ns, 'other')?.value).toBe('oo')
    expect(storage.add?.(ns, 'k', 'far too long')).toBe(false)
    expect(storage.get(ns, 'k')).toBeUndefined()
    expect(storage.add?.(ns, 'k', 'fits')).toBe(true)
    expect(storage.get(ns, 'k')?.value).toBe('fits')
  })

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3', undefined])(
    'a size function returning %p fails the write with a ConfigError and changes nothing',
    (bad) => {
      const storage = memoryStorage({
        maxSize: 10,
        sizeCalculation: (v) => (v === 'bad' ? (bad as number) : byLength(v)),
      })
      const ns = uniqueNamespace()
      storage.set(ns, 'k', 'old')
      storage.set(ns, 'f:[1]', 'one')
      expect(() => storage.set(ns, 'k', 'bad')).toThrow(
        expect.objectContaining({ code: 'E_CONFIG', option: 'sizeCalculation' }),
      )
      expect(() => storage.set(ns, 'f:[1]', 'bad')).toThrow(ConfigError)
      expect(storage.get(ns, 'k')?.value).toBe('old')
      expect(storage.get(ns, 'f:[1]')?.value).toBe('one')
      // The accounting is intact: 4 more units fit without evicting either.
      storage.set(ns, 'x', 'xxxx')
      expect(live(storage, ns, ['k', 'f:[1]', 'x'])).toEqual(['k', 'f:[1]', 'x'])
    },
  )
})

describe('cacheValue over a storage with maxSize', () => {
  it('returns a result too large to keep uncached, and keeps the ones that fit', async () => {
    const storage = memoryStorage({ maxSize: 100, sizeCalculation: (v) => (v as string).length })
    const fn = jest.fn(async (n: number) => 'x'.repeat(n))
    const cached = cacheValue(fn, { storage, name: uniqueNamespace('size') })
    expect(await cached(50)).toHaveLength(50)
    expect(await cached(50)).toHaveLength(50)
    expect(await cached(150)).toHaveLength(150)
    expect(await cached(150)).toHaveLength(150)
    expect(fn.mock.calls.map(([n]) => n)).toEqual([50, 150, 150])
  })

  it('reports a size function that fails and serves the result uncached (fail-open)', () => {
    const reports: ErrorReport[] = []
    const storage = memoryStorage({ maxSize: 100, sizeCalculation: () => -1 })
    const fn = jest.fn((n: number) => n * 2)
    const cached = cacheValue(fn, { storage, name: uniqueNamespace('size'), onError: (r) => reports.push(r) })
    expect(cached(2)).toBe(4)
    expect(cached(2)).toBe(4)
    expect(fn).toHaveBeenCalledTimes(2)
    const error = reports[0]?.error as Error
    expect(error).toBeInstanceOf(StorageError)
    expect(error.cause).toMatchObject({ code: 'E_CONFIG', option: 'sizeCalculation' })
  })

  it('evicts by size in LRU order under many interleaved callers', async () => {
    // 40 keys of 10 units with room for 20: the 20 most recently used stay, and every call returns its own value.
    const storage = memoryStorage({ maxSize: 200, sizeCalculation: () => 10 })
    const fn = jest.fn(async (n: number) => ({ n }))
    const cached = cacheValue(fn, { storage, name: uniqueNamespace('size') })
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => cached(i % 40)))
    results.forEach((r, i) => {
      expect(r).toEqual({ n: i % 40 })
    })
    fn.mockClear()
    for (let n = 20; n < 40; n++) await cached(n)
    expect(fn).not.toHaveBeenCalled()
    await cached(0)
    expect(fn).toHaveBeenCalledTimes(1)
  })
})
