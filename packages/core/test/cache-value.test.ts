import { afterEach, describe, expect, it, jest } from '@jest/globals'
import {
  CodecError,
  ConfigError,
  cacheValue,
  createCodec,
  KeyError,
  memoryStorage,
  type Storage,
  StorageError,
} from '@memokit/core'
import { faultyStorage, flush, uniqueNamespace } from './helpers'

afterEach(() => {
  jest.useRealTimers()
})

describe('cacheValue: sync function over sync storage', () => {
  it('returns the plain value (not a Promise) and runs fn once per distinct arguments', () => {
    const storage = memoryStorage()
    const square = jest.fn((n: number) => n * n)
    const cached = cacheValue(square, { storage, name: 'square' })
    expect(cached(3)).toBe(9)
    expect(cached(3)).toBe(9)
    expect(cached(4)).toBe(16)
    expect(square).toHaveBeenCalledTimes(2)
  })

  it('keeps fn name and length and passes `this` through', () => {
    const obj = {
      factor: 10,
      times(this: { factor: number }, a: number, _b?: number) {
        return a * this.factor
      },
    }
    const cached = cacheValue(obj.times, { storage: memoryStorage() })
    expect(cached.name).toBe('times')
    expect(cached.length).toBe(2)
    expect(cached.call(obj, 2)).toBe(20)
  })

  it('caches undefined and null results by default, and shouldCache can refuse them', () => {
    const storage = memoryStorage()
    const lookup = jest.fn((id: number): string | null | undefined => (id === 1 ? null : undefined))
    const cached = cacheValue(lookup, { storage, name: 'lookup' })
    expect(cached(1)).toBeNull()
    expect(cached(1)).toBeNull()
    expect(cached(2)).toBeUndefined()
    expect(cached(2)).toBeUndefined()
    expect(lookup).toHaveBeenCalledTimes(2)

    const lookup2 = jest.fn((id: number): string | null => (id > 0 ? 'x' : null))
    const picky = cacheValue(lookup2, { storage, name: 'lookup2', shouldCache: (v) => v != null })
    picky(0)
    picky(0)
    picky(5)
    picky(5)
    expect(lookup2).toHaveBeenCalledTimes(3)
  })

  it('never caches a thrown error; the same error object propagates', () => {
    const boom = new Error('boom')
    let fail = true
    const fn = jest.fn((n: number) => {
      if (fail) throw boom
      return n
    })
    const cached = cacheValue(fn, { storage: memoryStorage() })
    expect(() => cached(1)).toThrow(boom)
    fail = false
    expect(cached(1)).toBe(1)
    expect(fn).toHaveBeenCalledTimes(2)
  })

  it('expires entries after ttl (fake clock), in ms or as a duration string', () => {
    jest.useFakeTimers({ now: 1_000_000 })
    const storage = memoryStorage()
    const fn = jest.fn((n: number) => n + 1)
    const cached = cacheValue(fn, { storage, ttl: '5m', name: 'plusOne' })
    cached(1)
    jest.advanceTimersByTime(5 * 60_000 - 1)
    cached(1)
    expect(fn).toHaveBeenCalledTimes(1)
    jest.advanceTimersByTime(1)
    cached(1)
    expect(fn).toHaveBeenCalledTimes(2)

    const fn2 = jest.fn((n: number) => n)
    const short = cacheValue(fn2, { storage, ttl: 250, name: 'same' })
    short(1)
    jest.advanceTimersByTime(249)
    short(1)
    jest.advanceTimersByTime(1)
    short(1)
    expect(fn2).toHaveBeenCalledTimes(2)
  })

  it('delete() drops one entry, clear() drops only this function, keyFor() names the key', () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const a = jest.fn((n: number) => `a${n}`)
    const b = jest.fn((n: number) => `b${n}`)
    const ca = cacheValue(a, { storage, namespace, name: 'a' })
    const cb = cacheValue(b, { storage, namespace, name: 'b' })
    ca(1)
    ca(2)
    cb(1)
    expect(ca.delete(1)).toBe(true)
    expect(ca.delete(1)).toBe(false)
    ca(1)
    ca(2)
    expect(a).toHaveBeenCalledTimes(3)
    ca.clear()
    ca(1)
    ca(2)
    cb(1)
    expect(a).toHaveBeenCalledTimes(5)
    expect(b).toHaveBeenCalledTimes(1)
    expect(ca.keyFor(1)).not.toBe(ca.keyFor(2))
    expect(ca.keyFor(1)).not.toBe(cb.keyFor(1))
    expect(storage.get(namespace, ca.keyFor(1))?.value).toBe('a1')
  })

  it('recursion through the wrapper works (memoized fibonacci)', () => {
    const calls: number[] = []
    const fib: (n: number) => number = cacheValue(
      (n: number): number => {
        calls.push(n)
        return n < 2 ? n : fib(n - 1) + fib(n - 2)
      },
      { storage: memoryStorage(), name: 'fib' },
    )
    expect(fib(60)).toBe(1548008755920)
    expect(calls.length).toBe(61)
  })
})

describe('cacheValue: async', () => {
  it('an async fn over sync storage returns a Promise on misses and on hits', async () => {
    const storage = memoryStorage()
    const fetchUser = jest.fn(async (id: number) => ({ id, name: `user${id}` }))
    const cached = cacheValue(fetchUser, { storage })
    const first = cached(1)
    expect(first).toBeInstanceOf(Promise)
    await expect(first).resolves.toEqual({ id: 1, name: 'user1' })
    const second = cached(1)
    expect(second).toBeInstanceOf(Promise)
    await expect(second).resolves.toEqual({ id: 1, name: 'user1' })
    expect(fetchUser).toHaveBeenCalledTimes(1)
  })

  it('a non-async function returning a promise is learned as promise-returning', async () => {
    const storage = memoryStorage()
    const load = jest.fn((n: number) => Promise.resolve(n * 2))
    const cached = cacheValue(load, { storage })
    await expect(cached(2)).resolves.toBe(4)
    const hit = cached(2)
    expect(hit).toBeInstanceOf(Promise)
    await expect(hit).resolves.toBe(4)
  })

  it('a sync fn over an async storage returns a Promise', async () => {
    const { storage } = faultyStorage(true)
    const fn = jest.fn((n: number) => n + 1)
    const cached = cacheValue(fn, { storage })
    const result = cached(1)
    expect(result).toBeInstanceOf(Promise)
    await expect(result).resolves.toBe(2)
    await expect(cached(1)).resolves.toBe(2)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it.each([false, true])(
    '1,000 concurrent calls on one cold key run fn once (async storage: %s)',
    async (asyncStorage) => {
      const storage = asyncStorage ? faultyStorage(true).storage : memoryStorage()
      let runs = 0
      const slow = async (key: string) => {
        runs++
        await new Promise((resolve) => setTimeout(resolve, 10))
        return `value:${key}`
      }
      const cached = cacheValue(slow, { storage })
      const results = await Promise.all(Array.from({ length: 1000 }, () => cached('k')))
      expect(runs).toBe(1)
      expect(new Set(results)).toEqual(new Set(['value:k']))
    },
  )

  it('calls for other keys never wait on a slow key', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const fn = async (key: string) => {
      if (key === 'slow') await gate
      return key
    }
    const cached = cacheValue(fn, { storage: faultyStorage(true).storage })
    const slow = cached('slow')
    await expect(cached('fast')).resolves.toBe('fast')
    release()
    await expect(slow).resolves.toBe('slow')
  })

  it('rejections are never cached and propagate unchanged; the next call retries', async () => {
    for (const storage of [memoryStorage(), faultyStorage(true).storage]) {
      const failure = new TypeError('upstream down')
      let fail = true
      const fn = jest.fn(async (n: number) => {
        if (fail) throw failure
        return n
      })
      const cached = cacheValue(fn, { storage })
      const concurrent = [cached(1), cached(1)]
      for (const p of concurrent) await expect(p).rejects.toBe(failure)
      fail = false
      await expect(cached(1)).resolves.toBe(1)
      await expect(cached(1)).resolves.toBe(1)
      expect(fn).toHaveBeenCalledTimes(2)
    }
  })

  it('a delete during an in-flight computation keeps its (possibly outdated) result out of the cache', async () => {
    let version = 1
    let release!: () => void
    const fn = jest.fn(async (_id: number) => {
      const seen = version
      await new Promise<void>((resolve) => {
        release = resolve
      })
      return seen
    })
    const storage = memoryStorage()
    const cached = cacheValue(fn, { storage })
    const inflight = cached(1)
    await flush()
    version = 2
    cached.delete(1)
    release()
    await expect(inflight).resolves.toBe(1)
    const fresh = cached(1)
    await flush()
    release()
    await expect(fresh).resolves.toBe(2)
  })

  it('recursion through an async wrapper with other arguments does not deadlock', async () => {
    const runs: number[] = []
    const fact: (n: number) => Promise<number> = cacheValue(
      async (n: number): Promise<number> => {
        runs.push(n)
        return n <= 1 ? 1 : n * (await fact(n - 1))
      },
      { storage: faultyStorage(true).storage, name: 'fact' },
    )
    await expect(fact(10)).resolves.toBe(3628800)
    await expect(fact(12)).resolves.toBe(479001600)
    expect(runs).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 12, 11])
  })
})

describe('cacheValue: failures of the storage', () => {
  it('fails open by default: fn runs, its value is returned, onError is told', async () => {
    const { storage, failing, calls } = faultyStorage(true)
    const reports: unknown[] = []
    const fn = jest.fn(async (n: number) => n * 10)
    const cached = cacheValue(fn, { storage, onError: (r) => reports.push(r), namespace: 'ns1' })
    failing.add('get').add('set')
    await expect(cached(1)).resolves.toBe(10)
    await expect(cached(1)).resolves.toBe(10)
    expect(fn).toHaveBeenCalledTimes(2)
    // A failed read skips the write of that call: a failing storage is asked once per call, not twice.
    expect(calls.set).toBe(0)
    expect(reports).toHaveLength(2)
    expect(reports[0]).toMatchObject({ op: 'get', namespace: 'ns1', storage: 'faulty-async', key: cached.keyFor(1) })
    const { error } = reports[0] as { error: StorageError }
    expect(error).toBeInstanceOf(StorageError)
    expect(error.code).toBe('E_STORAGE')
    expect((error.cause as Error).message).toBe('connection lost during get')
    // Reads work again, writes still fail: each write failure is reported and the value still returned.
    failing.delete('get')
    await expect(cached(1)).resolves.toBe(10)
    expect(reports[2]).toMatchObject({ op: 'set', key: cached.keyFor(1) })
    expect(((reports[2] as { error: StorageError }).error.cause as Error).message).toBe('connection lost during set')
    failing.clear()
    await cached(1)
    await cached(1)
    expect(fn).toHaveBeenCalledTimes(4)
  })

  it('fails open for a sync storage too, and a throwing onError hook is ignored', () => {
    const { storage, failing } = faultyStorage(false)
    failing.add('get')
    const fn = jest.fn((n: number) => n)
    const cached = cacheValue(fn, {
      storage,
      onError: () => {
        throw new Error('hook bug')
      },
    })
    expect(cached(7)).toBe(7)
    expect(cached(7)).toBe(7)
    expect(fn).toHaveBeenCalledTimes(2)
  })

  it('without onError, emits a rate-limited process warning', async () => {
    const { storage, failing } = faultyStorage(true)
    failing.add('get')
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const cached = cacheValue(async (n: number) => n, { storage, name: 'warned' })
      await expect(cached(1)).resolves.toBe(1)
      await expect(cached(2)).resolves.toBe(2)
      expect(emit).toHaveBeenCalledTimes(1)
      const [message, options] = emit.mock.calls[0] as unknown as [string, { type: string; code: string }]
      expect(message).toContain('connection lost during get')
      expect(options).toMatchObject({ type: 'MemokitWarning', code: 'E_STORAGE' })
    } finally {
      emit.mockRestore()
    }
  })

  it('failOpen: false turns storage failures into StorageError with cause', async () => {
    const { storage, failing } = faultyStorage(true)
    const fn = jest.fn(async (n: number) => n)
    const cached = cacheValue(fn, { storage, failOpen: false, onError: () => {} })
    failing.add('get')
    const error = await cached(1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as StorageError).op).toBe('get')
    expect(fn).not.toHaveBeenCalled()
    failing.clear()
    failing.add('set')
    await expect(cached(1)).rejects.toMatchObject({ code: 'E_STORAGE', op: 'set' })
  })

  it('a corrupt payload is a miss, reported as CodecError, and is overwritten', async () => {
    const inner = memoryStorage()
    let corrupt = true
    const storage: Storage = {
      ...inner,
      name: 'corrupting',
      get(ns, key) {
        if (corrupt) throw new CodecError('corrupt payload')
        return inner.get(ns, key)
      },
    }
    const reports: string[] = []
    const fn = jest.fn((n: number) => n + 100)
    const cached = cacheValue(fn, { storage, failOpen: false, onError: (r) => reports.push(r.error.code) })
    expect(cached(1)).toBe(101)
    expect(reports).toEqual(['E_CODEC'])
    corrupt = false
    expect(cached(1)).toBe(101)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('a result the codec cannot store is returned, not cached, and reported as a CodecError', () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    const codec = createCodec()
    const inner = memoryStorage()
    // A storage that holds strings, as Redis or files do.
    const strings: Storage = {
      ...inner,
      name: 'strings',
      get: (ns, key) => {
        const hit = inner.get(ns, key)
        return hit === undefined ? undefined : codec.decodeEntry(hit.value as string)
      },
      set: (ns, key, value, options) =>
        inner.set(ns, key, codec.encodeEntry({ value, createdAt: Date.now(), expiresAt: undefined }), options),
    }
    const reports: unknown[] = []
    const price = jest.fn((cents: number) => new Money(cents))
    const cached = cacheValue(price, { storage: strings, name: 'price', onError: (r) => reports.push(r.error) })
    const first = cached(250)
    expect(first).toBeInstanceOf(Money)
    expect(cached(250)).toBeInstanceOf(Money)
    expect(price).toHaveBeenCalledTimes(2)
    expect(reports[0]).toBeInstanceOf(CodecError)
    expect((reports[0] as CodecError).message).toContain('Money')
    expect((reports[0] as CodecError).message).toContain('registerClass')

    codec.registerClass(Money)
    const stored = cacheValue((cents: number) => new Money(cents), { storage: strings, name: 'price2' })
    stored(5)
    const hit = stored(5)
    expect(hit).toBeInstanceOf(Money)
    expect(hit.cents).toBe(5)
  })

  it('delete() and clear() surface storage failures instead of leaving stale entries silently', async () => {
    const { storage, failing } = faultyStorage(true)
    const cached = cacheValue(async (n: number) => n, { storage, name: 'strictDelete', onError: () => {} })
    failing.add('delete').add('clear')
    await expect(cached.delete(1)).rejects.toBeInstanceOf(StorageError)
    await expect(cached.clear()).rejects.toMatchObject({ op: 'clear' })
  })
})

describe('cacheValue: configuration errors come first', () => {
  const fn = (n: number) => n
  it.each([
    [{ ttl: 0 }, 'ttl'],
    [{ ttl: -5 }, 'ttl'],
    [{ ttl: Number.NaN }, 'ttl'],
    [{ ttl: Number.POSITIVE_INFINITY }, 'ttl'],
    [{ ttl: '5 minutes' }, 'ttl'],
    [{ ttl: '' }, 'ttl'],
    [{ namespace: '' }, 'namespace'],
    [{ name: '' }, 'name'],
    [{ failOpen: 'yes' }, 'failOpen'],
    [{ storage: {} }, 'storage'],
    [{ ttL: 5 }, 'ttL'],
    [{ onError: 'log' }, 'onError'],
  ])('%j is a ConfigError naming %s', (options, option) => {
    const run = jest.fn(fn)
    let error: unknown
    try {
      cacheValue(run, { storage: memoryStorage(), ...(options as object) })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).option).toBe(option)
    expect((error as ConfigError).code).toBe('E_CONFIG')
    expect((error as ConfigError).message).toContain(option)
    expect(run).not.toHaveBeenCalled()
  })

  it('accepts every documented duration form', () => {
    const storage = memoryStorage()
    for (const ttl of ['500ms', '30s', '5m', '1h', '1d', '1.5s', 42] as const) {
      expect(() => cacheValue(fn, { storage, ttl, name: `d${String(ttl)}` })).not.toThrow()
    }
  })

  it('an anonymous function needs a name', () => {
    expect(() => cacheValue((n: number) => n)).toThrow(ConfigError)
    expect(() => cacheValue((n: number) => n)).toThrow(/anonymous.*name/)
    const cached = cacheValue((n: number) => n, { name: 'identity', storage: memoryStorage() })
    expect(cached(5)).toBe(5)
  })

  it('two different functions with the same implicit name on one storage and namespace are an error', () => {
    const storage = memoryStorage()
    const makeLoader = (offset: number) =>
      function load(n: number) {
        return n + offset
      }
    cacheValue(makeLoader(1), { storage })
    expect(() => cacheValue(makeLoader(2), { storage })).toThrow(/two function objects are both named 'load'/)
    // Another namespace, another storage, or an explicit name are fine.
    expect(cacheValue(makeLoader(2), { storage, namespace: 'other' })(1)).toBe(3)
    expect(cacheValue(makeLoader(2), { storage: memoryStorage() })(1)).toBe(3)
    expect(cacheValue(makeLoader(2), { storage, name: 'load.v2' })(1)).toBe(3)
  })

  it('the same function wrapped twice shares its entries', () => {
    const storage = memoryStorage()
    const fn = jest.fn(function twice(n: number) {
      return n
    })
    const a = cacheValue(fn, { storage })
    const b = cacheValue(fn, { storage })
    a(1)
    b(1)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('an argument that cannot be encoded is a KeyError before fn runs (sync throw, async reject)', async () => {
    const fn = jest.fn((x: unknown) => x)
    const cached = cacheValue(fn, { storage: memoryStorage(), name: 'takesAnything' })
    expect(() => cached(() => 1)).toThrow(KeyError)
    let ran = false
    const acached = cacheValue(
      async (x: unknown) => {
        ran = true
        return x
      },
      { storage: memoryStorage(), name: 'takesAnythingAsync' },
    )
    const rejected = acached(Symbol('s'))
    expect(rejected).toBeInstanceOf(Promise)
    await expect(rejected).rejects.toBeInstanceOf(KeyError)
    expect(fn).not.toHaveBeenCalled()
    expect(ran).toBe(false)
  })

  it('ignoreArgs leaves arguments out of the key', () => {
    const fn = jest.fn((id: number, _logger: { log: () => void }) => id * 2)
    const cached = cacheValue(fn, { storage: memoryStorage(), ignoreArgs: [1] })
    expect(cached(2, { log() {} })).toBe(4)
    expect(cached(2, console)).toBe(4)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('a custom key function decides what makes calls equal', () => {
    const fn = jest.fn((user: { id: number; seen: Date }) => user.id)
    const cached = cacheValue(fn, { storage: memoryStorage(), key: (user) => user.id })
    cached({ id: 1, seen: new Date(1) })
    cached({ id: 1, seen: new Date(2) })
    expect(fn).toHaveBeenCalledTimes(1)
  })
})
