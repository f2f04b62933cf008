// In-flight computations: a settled flight never outlives its call, and an invalidation orders after the writes
// already issued, so a late write can't bring back what a delete or clear removed.
import { describe, expect, it, jest } from '@jest/globals'
import {
  type AsyncStorage,
  ConfigError,
  cacheClear,
  cacheValue,
  type ErrorReport,
  memoryStorage,
  type SetOptions,
  type Storage,
} from '@memokit/core'
import { faultyStorage, uniqueNamespace } from './helpers'

/** A real memory storage behind async methods whose `set` takes `delayMs` to land: a slow write, on demand. */
function slowWriteStorage(delayMs: number): { storage: AsyncStorage; inner: Storage; writesStarted: () => number } {
  const inner = memoryStorage()
  let started = 0
  const storage: AsyncStorage = {
    async: true,
    name: 'slow-write',
    get: async (ns, key) => inner.get(ns, key),
    set: (ns, key, value, options?: SetOptions) => {
      started++
      return new Promise((resolve) => setTimeout(() => resolve(inner.set(ns, key, value, options)), delayMs))
    },
    delete: async (ns, key) => inner.delete(ns, key),
    clear: async (ns, prefix) => inner.clear(ns, prefix),
  }
  return { storage, inner, writesStarted: () => started }
}

const waitFor = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 1))
  expect(condition()).toBe(true)
}

describe('a flight that settles before it is registered', () => {
  it('is not returned again once the storage and fn recover (get throws synchronously)', async () => {
    let getThrows = true
    let fnThrows = true
    const inner = memoryStorage()
    const storage: AsyncStorage = {
      async: true,
      name: 'sync-throwing',
      get: (ns, key) => {
        if (getThrows) throw new Error('socket closed')
        return Promise.resolve(inner.get(ns, key))
      },
      set: async (ns, key, value, options) => inner.set(ns, key, value, options),
      delete: async (ns, key) => inner.delete(ns, key),
      clear: async (ns, prefix) => inner.clear(ns, prefix),
    }
    let runs = 0
    const compute = (n: number): number => {
      runs++
      if (fnThrows) throw new Error('database down')
      return n * 2
    }
    const cached = cacheValue(compute, { storage, namespace: uniqueNamespace(), onError: () => {} })
    await expect(cached(1)).rejects.toThrow('database down')
    getThrows = false
    fnThrows = false
    await expect(cached(1)).resolves.toBe(2)
    expect(runs).toBe(2)
  })

  it('is not returned again when the breaker skipped the read and fn threw synchronously', async () => {
    const { storage, failing } = faultyStorage(true)
    failing.add('get')
    let fnThrows = false
    const compute = (n: number): number => {
      if (fnThrows) throw new Error('database down')
      return n
    }
    const cached = cacheValue(compute, {
      storage,
      namespace: uniqueNamespace(),
      onError: () => {},
      circuitBreaker: { failures: 1, cooldownMs: 60_000 },
    })
    await expect(cached(1)).resolves.toBe(1) // the read fails: the breaker opens
    fnThrows = true
    await expect(cached(2)).rejects.toThrow('database down') // read skipped, fn throws synchronously
    fnThrows = false
    await expect(cached(2)).resolves.toBe(2)
  })
})

describe('invalidations order after writes already issued', () => {
  it('.delete() resolves only after an issued write landed, and removes it', async () => {
    const { storage, inner, writesStarted } = slowWriteStorage(40)
    const namespace = uniqueNamespace()
    const cached = cacheValue(async (n: number) => n, { storage, namespace, name: 'ident' })
    const call = cached(7)
    await waitFor(() => writesStarted() === 1)
    await cached.delete(7)
    expect(inner.get(namespace, cached.keyFor(7))).toBeUndefined()
    await expect(call).resolves.toBe(7)
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(inner.get(namespace, cached.keyFor(7))).toBeUndefined()
  })

  it('.clear() and cacheClear do the same for every write of the namespace', async () => {
    const { storage, inner, writesStarted } = slowWriteStorage(40)
    const namespace = uniqueNamespace()
    const cached = cacheValue(async (n: number) => n, { storage, namespace, name: 'ident' })
    const save = cacheClear(async () => 'saved', { storage, namespaces: namespace })
    const calls = [cached(1), cached(2)]
    await waitFor(() => writesStarted() === 2)
    await cached.clear()
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(inner.get(namespace, cached.keyFor(1))).toBeUndefined()
    expect(inner.get(namespace, cached.keyFor(2))).toBeUndefined()

    const late = cached(3)
    await waitFor(() => writesStarted() === 3)
    await save()
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(inner.get(namespace, cached.keyFor(3))).toBeUndefined()
    await Promise.all([late, ...calls])
  })

  it('50 concurrent callers of one key share one run, and an invalidation mid-run keeps its value out', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let runs = 0
    let release: (value: string) => void = () => {}
    const slow = (_id: number): Promise<string> => {
      runs++
      return new Promise((resolve) => {
        release = resolve
      })
    }
    const cached = cacheValue(slow, { storage, namespace })
    const calls = Array.from({ length: 50 }, () => cached(1))
    expect(runs).toBe(1)
    cached.delete(1)
    release('old')
    expect(await Promise.all(calls)).toEqual(Array(50).fill('old'))
    expect(storage.get(namespace, cached.keyFor(1))).toBeUndefined()
  })
})

describe('a one-number key from a type encoder', () => {
  it('hits over a memory storage', () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    let runs = 0
    const format = (m: Money): string => {
      runs++
      return `${m.cents / 100} EUR`
    }
    const cached = cacheValue(format, {
      storage: memoryStorage(),
      namespace: uniqueNamespace(),
      typeEncoders: [[Money, (m: Money) => m.cents]],
    })
    expect(cached(new Money(250))).toBe('2.5 EUR')
    expect(cached(new Money(250))).toBe('2.5 EUR')
    expect(runs).toBe(1)
  })
})

describe('the duplicate-name guard', () => {
  const scoped = (scope: string): Storage => Object.assign(memoryStorage(), { scope })

  it('keys on where a storage writes (its scope), not on the storage object', () => {
    const namespace = uniqueNamespace()
    cacheValue(
      function lookup(n: number) {
        return n
      },
      { storage: scoped('redis://127.0.0.1:6379/0 memokit/a'), namespace },
    )
    expect(() =>
      cacheValue(
        function lookup(n: number) {
          return -n
        },
        { storage: scoped('redis://127.0.0.1:6379/0 memokit/a'), namespace },
      ),
    ).toThrow(ConfigError)
    // Another prefix on the same server is another place: no conflict.
    expect(() =>
      cacheValue(
        function lookup(n: number) {
          return -n
        },
        { storage: scoped('redis://127.0.0.1:6379/0 memokit/b'), namespace },
      ),
    ).not.toThrow()
  })

  it('names the real fixes: a reloaded module passes an explicit name, which shares on purpose', () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    // Two evaluations of one module (a reloader): two function objects with the same source. Same source is not
    // proof of same behaviour (a closure per tenant has it too), so the implicit name is still refused...
    const evaluate = (rate: number) =>
      function price(n: number) {
        return n * rate
      }
    cacheValue(evaluate(2), { storage, namespace })
    let message = ''
    try {
      cacheValue(evaluate(3), { storage, namespace })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/create the wrapper once/)
    expect(message).toMatch(/reloader/)
    expect(message).toMatch(/explicit `name`/)
    expect(message).not.toMatch(/distinct/)
    // ...and the explicit name the message suggests lets the reloaded wrapper take over the same entries.
    const first = cacheValue(evaluate(2), { storage, namespace, name: 'price' })
    expect(first(2)).toBe(4)
    const reloaded = cacheValue(evaluate(2), { storage, namespace, name: 'price' })
    expect(reloaded(2)).toBe(4)
  })
})

describe('reporting', () => {
  it('with failOpen: false, a failure is thrown and not also reported', async () => {
    const { storage, failing } = faultyStorage(true)
    failing.add('get')
    const reports: ErrorReport[] = []
    const cached = cacheValue(async (n: number) => n, {
      name: 'ident',
      storage,
      namespace: uniqueNamespace(),
      failOpen: false,
      onError: (r) => reports.push(r),
    })
    await expect(cached(1)).rejects.toThrow('connection lost')
    expect(reports).toEqual([])
  })

  it('an uncacheable result is reported with the function, the namespace and where the codec goes', async () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const { createCodec } = await import('@memokit/core')
    const codec = createCodec()
    const inner = memoryStorage()
    const storage: Storage = {
      async: false,
      name: 'serializing',
      get: (ns, key) => inner.get(ns, key),
      set: (ns, key, value, options) => inner.set(ns, key, codec.encode(value), options),
      delete: (ns, key) => inner.delete(ns, key),
      clear: (ns, prefix) => inner.clear(ns, prefix),
    }
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const namespace = uniqueNamespace('geo')
      const origin = cacheValue(
        function origin() {
          return new Point(0)
        },
        { storage, namespace },
      )
      expect(origin()).toEqual(new Point(0))
      const warnings = emit.mock.calls.map((call) => String(call[0])).join('\n')
      expect(warnings).toMatch(new RegExp(`origin in namespace '${namespace}'`))
      expect(warnings).toMatch(/codec\.registerClass/)
      expect(warnings).toMatch(/pass that codec to the storage/)
    } finally {
      emit.mockRestore()
    }
  })
})
