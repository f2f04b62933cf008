// A hit has the shape a call of `fn` would have: a Promise exactly when `fn` returned one for those arguments,
// recorded with the entry (Entry.meta), never learned from earlier calls in the process.
import { describe, expect, it, jest } from '@jest/globals'
import { cacheValue, type Entry, memoryStorage, type SetOptions, type Storage } from '@memokit/core'
import { uniqueNamespace } from './helpers'

/** A sync storage whose entries outlive a module registry, like files outlive a process. */
function sharedSyncStorage(): { storage: Storage; entries: Map<string, Entry> } {
  const entries = new Map<string, Entry>()
  const storage: Storage = {
    async: false,
    name: 'shared-sync',
    get: (ns, key) => entries.get(`${ns} ${key}`),
    set: (ns, key, value, options?: SetOptions) => {
      entries.set(`${ns} ${key}`, { value, createdAt: Date.now(), expiresAt: undefined, meta: options?.meta })
    },
    delete: (ns, key) => entries.delete(`${ns} ${key}`),
    clear: () => entries.clear(),
  }
  return { storage, entries }
}

/** `@memokit/core` as a fresh process would load it: no state from the tests' own copy. */
const freshCore = (): typeof import('@memokit/core') => {
  let core: typeof import('@memokit/core') | undefined
  jest.isolateModules(() => {
    core = require('@memokit/core')
  })
  return core as typeof import('@memokit/core')
}

describe('the shape of a hit', () => {
  it('a plain function returning a Promise gets a Promise on its first hit in a new process', async () => {
    const { storage } = sharedSyncStorage()
    const namespace = uniqueNamespace()
    const load = (id: number) => Promise.resolve({ id })
    const first = cacheValue(load, { storage, namespace, name: 'load' })
    await expect(first(1)).resolves.toEqual({ id: 1 })

    const other = freshCore().cacheValue(load, { storage, namespace, name: 'load' })
    const hit = other(1) as unknown
    expect(hit).toBeInstanceOf(Promise)
    await expect(hit).resolves.toEqual({ id: 1 })
  })

  it('a function returning a Promise for some arguments only keeps each shape, over a memory storage', async () => {
    const storage = memoryStorage()
    const calls: number[] = []
    const mixed = (n: number): number | Promise<number> => {
      calls.push(n)
      return n > 0 ? Promise.resolve(n * 10) : n * 10
    }
    const cached = cacheValue(mixed, { storage, namespace: uniqueNamespace() })
    expect(cached(-1)).toBe(-10)
    await expect(cached(2)).resolves.toBe(20)
    // Hits: the number table, then the key string path with an object argument below.
    expect(cached(-1)).toBe(-10)
    const hit = cached(2)
    expect(hit).toBeInstanceOf(Promise)
    await expect(hit).resolves.toBe(20)
    expect(calls).toEqual([-1, 2])
  })

  it('keeps each shape on the by-value and key-string paths too', async () => {
    const storage = memoryStorage()
    const mixed = (q: { n: number }): number | Promise<number> => (q.n > 0 ? Promise.resolve(q.n) : q.n)
    const cached = cacheValue(mixed, { storage, namespace: uniqueNamespace() })
    for (let round = 0; round < 4; round++) {
      expect(cached({ n: -3 })).toBe(-3)
      const positive = cached({ n: 3 })
      expect(positive).toBeInstanceOf(Promise)
      await expect(positive).resolves.toBe(3)
    }
  })

  it('an async function always gets a Promise, even from an entry written by a sync function of the same name', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const syncVersion = cacheValue((n: number) => n + 1, { storage, namespace, name: 'plusOne' })
    expect(syncVersion(1)).toBe(2)
    const asyncVersion = cacheValue(async (n: number) => n + 1, { storage, namespace, name: 'plusOne' })
    const hit = asyncVersion(1)
    expect(hit).toBeInstanceOf(Promise)
    await expect(hit).resolves.toBe(2)
  })

  it('a sync function reading an entry a promise-returning one wrote under a shared name gets that shape', async () => {
    const { storage } = sharedSyncStorage()
    const namespace = uniqueNamespace()
    const viaPromise = cacheValue((n: number) => Promise.resolve(n * 2), { storage, namespace, name: 'double' })
    await viaPromise(4)
    const plain = cacheValue((n: number) => n * 2, { storage, namespace, name: 'double' })
    // The entry records that the computation returned a Promise: its hit does too, whichever wrapper reads it.
    await expect(plain(4) as unknown).resolves.toBe(8)
    // A miss of the plain function is plain, and so is its hit.
    expect(plain(5)).toBe(10)
    expect(plain(5)).toBe(10)
  })
})
