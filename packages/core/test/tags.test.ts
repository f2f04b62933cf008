// Tags by version tokens (issue 11 §2): invalidateTags makes every entry computed under a tag invalid, over a sync
// and an async storage; an invalidation while fn runs invalidates its result; a missing token means invalid; an
// invalidated entry is never served through swr but still serves within staleIfError; untagged reads pay nothing.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import {
  type AnyStorage,
  type AsyncStorage,
  ConfigError,
  cacheValue,
  type Entry,
  invalidateTags,
  KeyError,
  memoryStorage,
  type Storage,
} from '@memokit/core'
import { controllable, tick, tickTo, useFakeClock } from './controllable'
import { faultyStorage, flush, uniqueNamespace } from './helpers'

/** Waits (real time, a few event-loop turns at most) until `ready()`; fails after 100 turns. */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ready(); i++) await flush()
  expect(ready()).toBe(true)
}

type Counted = { storage: AnyStorage; gets: string[]; getMany: string[][]; tagsDown: { on: boolean } }

/**
 * A real memory storage that records the reads it serves; `batched` adds getMany. `tagsDown.on` makes reads of the
 * tag namespace fail (the fault: a lost connection while the tokens are read), and nothing else.
 */
function counted(async: boolean, batched: boolean): Counted {
  const inner = memoryStorage()
  const gets: string[] = []
  const getMany: string[][] = []
  const tagsDown = { on: false }
  const answer = <T>(v: T): T | Promise<T> => (async ? Promise.resolve(v) : v)
  const storage = {
    async,
    name: 'counted',
    get: (ns: string, key: string) => {
      gets.push(`${ns}|${key}`)
      if (tagsDown.on && ns === 'memokit:tags') throw new Error('connection lost')
      return answer(inner.get(ns, key))
    },
    set: (ns: string, key: string, value: unknown, o?: object) => answer(inner.set(ns, key, value, o)),
    add: (ns: string, key: string, value: unknown, o?: object) => answer(inner.add?.(ns, key, value, o) ?? false),
    delete: (ns: string, key: string) => answer(inner.delete(ns, key)),
    clear: (ns: string, prefix?: string) => answer(inner.clear(ns, prefix)),
    ...(batched
      ? {
          getMany: (ns: string, keys: readonly string[]) => {
            getMany.push([...keys])
            return answer(keys.map((k) => inner.get(ns, k) as Entry | undefined))
          },
        }
      : {}),
  }
  return { storage: storage as unknown as AnyStorage, gets, getMany, tagsDown }
}

describe.each([
  ['a sync storage', false],
  ['an async storage', true],
])('tags over %s', (_label, async) => {
  const make = () => counted(async, false).storage
  const settle = async <T>(v: T | Promise<T>): Promise<T> => await v

  it('invalidates exactly the entries computed under a tag, in every namespace', async () => {
    const storage = make()
    let runs = 0
    const users = cacheValue((id: number) => `user${id}#${++runs}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'f',
      tags: (id) => [`user:${id}`, 'users'],
    })
    const orders = cacheValue((id: number) => `orders${id}#${++runs}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'f',
      tags: (id) => [`user:${id}`],
    })
    const untagged = cacheValue((id: number) => `plain${id}#${++runs}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'f',
    })
    const u1 = await settle(users(1))
    const u2 = await settle(users(2))
    const o1 = await settle(orders(1))
    const p1 = await settle(untagged(1))
    expect(await settle(users(1))).toBe(u1)

    await settle(invalidateTags(storage, ['user:1']))
    const u1b = await settle(users(1))
    expect(u1b).not.toBe(u1)
    expect(await settle(users(1))).toBe(u1b)
    expect(await settle(orders(1))).not.toBe(o1)
    expect(await settle(users(2))).toBe(u2)
    expect(await settle(untagged(1))).toBe(p1)

    await settle(invalidateTags(storage, ['users']))
    expect(await settle(users(2))).not.toBe(u2)
  })

  it('a missing token (evicted or deleted) means invalid, never valid', async () => {
    const storage = make()
    let runs = 0
    const f = cacheValue((id: number) => `${id}#${++runs}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'f',
      tags: () => ['t'],
    })
    const first = await settle(f(1))
    expect(await settle(storage.delete('memokit:tags', 't'))).toBe(true)
    expect(await settle(f(1))).not.toBe(first)
  })

  it('an entry stored under other tags than the call now computes is a miss', async () => {
    const storage = make()
    let tag = 'a'
    let runs = 0
    const f = cacheValue((id: number) => `${id}#${++runs}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'f',
      tags: () => [tag],
    })
    const first = await settle(f(1))
    tag = 'b'
    const second = await settle(f(1))
    expect(second).not.toBe(first)
    expect(await settle(f(1))).toBe(second)
  })

  it('an invalidation while fn runs keeps its result from being served later', async () => {
    const storage = make()
    const c = controllable<string>()
    const f = cacheValue(c.fn, { storage, namespace: uniqueNamespace(), name: 'f', tags: () => ['t'] })
    const first = f(1)
    await until(() => c.runs.length === 1)
    await settle(invalidateTags(storage, ['t']))
    c.resolve('old')
    // Its callers still get the value they asked for...
    await expect(first).resolves.toBe('old')
    // ...but it was computed under the old token: the next call computes again.
    const second = f(1)
    await until(() => c.runs.length === 2)
    c.resolve('new')
    await expect(second).resolves.toBe('new')
  })

  it('50 concurrent callers of a cold tagged key run fn once', async () => {
    const storage = make()
    const c = controllable<string>()
    const f = cacheValue(c.fn, { storage, namespace: uniqueNamespace(), name: 'f', tags: (id) => [`k:${id}`] })
    const calls = Array.from({ length: 50 }, () => f(3))
    await until(() => c.runs.length === 1)
    await flush()
    expect(c.runs).toHaveLength(1)
    c.resolve('v')
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['v']))
  })
})

describe('tags and the freshness timeline', () => {
  beforeEach(useFakeClock)
  afterEach(() => {
    jest.useRealTimers()
  })

  it.each([
    ['sync', () => memoryStorage() as AnyStorage],
    ['async', () => faultyStorage(true).storage as AnyStorage],
  ])('an invalidated entry is not served through swr (%s storage)', async (_l, makeStorage) => {
    const storage = makeStorage()
    const c = controllable<string>()
    const f = cacheValue(c.fn, {
      storage,
      namespace: uniqueNamespace(),
      name: 'f',
      ttl: 1000,
      swr: '1h',
      tags: () => ['t'],
    })
    const first = f(1)
    await tick(0)
    c.resolve('v1')
    await expect(first).resolves.toBe('v1')
    await tickTo(2000)
    await invalidateTags(storage, ['t'])
    // Within the swr window, but invalidated: the caller waits for a new value instead of getting v1.
    const call = f(1)
    await tick(0)
    expect(c.runs).toHaveLength(2)
    expect(c.last().context?.background).toBe(false)
    c.resolve('v2')
    await expect(call).resolves.toBe('v2')
  })

  it('an invalidated entry still serves within staleIfError when fn fails', async () => {
    const storage = memoryStorage()
    const reports: unknown[] = []
    const c = controllable<string>()
    const f = cacheValue(c.fn, {
      storage,
      namespace: uniqueNamespace(),
      name: 'f',
      ttl: '1h',
      staleIfError: '1h',
      tags: () => ['t'],
      onError: (r) => reports.push(r.error),
    })
    const first = f(1)
    await tick(0)
    c.resolve('v1')
    await expect(first).resolves.toBe('v1')
    invalidateTags(storage, ['t'])
    const call = f(1)
    await tick(0)
    expect(c.runs).toHaveLength(2)
    c.reject(new Error('database down'))
    await expect(call).resolves.toBe('v1')
    expect(reports).toHaveLength(1)
  })

  it('tokens are compared, not clocks: a clock set back after the invalidation changes nothing', async () => {
    const storage = memoryStorage()
    let runs = 0
    const f = cacheValue((id: number) => `${id}#${++runs}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'f',
      tags: () => ['t'],
    })
    const first = f(1)
    invalidateTags(storage, ['t'])
    jest.setSystemTime(Date.now() - 5 * 60_000)
    expect(f(1)).not.toBe(first)
  })
})

describe('what tags cost', () => {
  it('an untagged read reads no token; a tagged read reads its tokens in one getMany when the storage has it', async () => {
    const { storage, gets, getMany } = counted(true, true)
    const ns = uniqueNamespace()
    const plain = cacheValue(async (id: number) => id, { storage: storage as AsyncStorage, namespace: ns, name: 'p' })
    const tagged = cacheValue(async (id: number) => id * 2, {
      storage: storage as AsyncStorage,
      namespace: ns,
      name: 'tagged',
      tags: (id) => [`a:${id}`, `b:${id}`, 'c'],
    })
    await plain(1)
    gets.length = 0
    await plain(1)
    expect(gets).toEqual([`${ns}|p:[1]`])
    expect(getMany).toEqual([])
    await tagged(1)
    gets.length = 0
    getMany.length = 0
    await expect(tagged(1)).resolves.toBe(2)
    expect(gets).toHaveLength(1)
    expect(getMany).toEqual([['a:1', 'b:1', 'c']])
  })

  it('without getMany, a tagged read issues one get per tag', async () => {
    const { storage, gets } = counted(false, false)
    const f = cacheValue((id: number) => id, { storage: storage as Storage, name: 'f', tags: () => ['x', 'y'] })
    f(1)
    gets.length = 0
    expect(f(1)).toBe(1)
    expect(gets.filter((g) => g.startsWith('memokit:tags|')).sort()).toEqual(['memokit:tags|x', 'memokit:tags|y'])
  })
})

describe('tags: bad input', () => {
  it('a tags function that returns something else than non-empty strings fails the call with a KeyError', async () => {
    const f = cacheValue((id: number) => id, {
      tags: (() => ['ok', '']) as never,
      namespace: uniqueNamespace(),
      name: 'f',
    })
    expect(() => f(1)).toThrow(KeyError)
    expect(() => f(1)).toThrow(/tags must return an array of non-empty strings.*\[1\]/)
    const g = cacheValue(async (id: number) => id, {
      tags: (() => 'user') as never,
      namespace: uniqueNamespace(),
      name: 'f',
    })
    await expect(g(1)).rejects.toThrow(KeyError)
  })

  it('tags must be a function, invalidateTags needs a storage and tags, and the tag namespace is reserved', () => {
    expect(() => cacheValue((x: number) => x, { name: 'f', tags: ['a'] as never })).toThrow(ConfigError)
    const storage = memoryStorage()
    expect(() => invalidateTags(storage, [])).toThrow(/non-empty array of non-empty strings/)
    expect(() => invalidateTags(storage, ['a', 3 as never])).toThrow(ConfigError)
    expect(() => invalidateTags({} as never, ['a'])).toThrow(ConfigError)
    expect(() => cacheValue((x: number) => x, { storage, name: 'f', namespace: 'memokit:tags' })).toThrow(/reserved/)
  })

  it('a storage failure while invalidating throws a StorageError', async () => {
    const { storage, failing } = faultyStorage(true)
    failing.add('set')
    await expect(invalidateTags(storage, ['a'])).rejects.toMatchObject({ code: 'E_STORAGE', op: 'set' })
  })

  it.each([
    ['sync', false],
    ['async', true],
  ])(
    'tokens that cannot be read make the entry invalid, and a result computed then is not stored (%s)',
    async (_l, async) => {
      const { storage, tagsDown } = counted(async, false)
      const reports: unknown[] = []
      let runs = 0
      const f = cacheValue((id: number) => `${id}#${++runs}`, {
        storage,
        namespace: uniqueNamespace(),
        name: 'f',
        tags: () => ['t'],
        onError: (r) => reports.push(r.error),
      })
      expect(await f(1)).toBe('1#1')
      expect(await f(1)).toBe('1#1')
      tagsDown.on = true
      expect(await f(1)).toBe('1#2')
      expect(await f(1)).toBe('1#3')
      expect(reports.length).toBeGreaterThan(0)
      tagsDown.on = false
      // The entry written before the fault is still valid (same token); nothing computed during it replaced it.
      expect(await f(1)).toBe('1#1')
    },
  )
})
