import { describe, expect, it, jest } from '@jest/globals'
import { ConfigError, cacheClear, cacheValue, memoryStorage, StorageError } from '@memokit/core'
import { faultyStorage, uniqueNamespace } from './helpers'

describe('cacheClear', () => {
  it('clears the given namespaces after a sync write succeeds, and returns its result untouched', () => {
    const storage = memoryStorage()
    const users = uniqueNamespace('users')
    const posts = uniqueNamespace('posts')
    const db = new Map<number, string>([[1, 'ada']])
    const read = jest.fn((id: number) => db.get(id))
    const readPosts = jest.fn((id: number) => `posts of ${id}`)
    const getUser = cacheValue(read, { storage, namespace: users })
    const getPosts = cacheValue(readPosts, { storage, namespace: posts })
    const result = { ok: true }
    const rename = cacheClear(
      (id: number, name: string) => {
        db.set(id, name)
        return result
      },
      { storage, namespaces: users },
    )
    expect(getUser(1)).toBe('ada')
    getPosts(1)
    expect(rename(1, 'grace')).toBe(result)
    expect(getUser(1)).toBe('grace')
    getPosts(1)
    expect(read).toHaveBeenCalledTimes(2)
    expect(readPosts).toHaveBeenCalledTimes(1)
  })

  it('clears after a failed write too, and rethrows the same error', async () => {
    const { storage, calls } = faultyStorage(true)
    const failure = new Error('constraint violated')
    const write = cacheClear(
      async (_id: number) => {
        throw failure
      },
      { storage, namespaces: ['a', 'b'] },
    )
    await expect(write(1)).rejects.toBe(failure)
    expect(calls.clear).toBe(2)

    const syncWrite = cacheClear(
      () => {
        throw failure
      },
      { storage: memoryStorage(), namespaces: 'a' },
    )
    expect(() => syncWrite()).toThrow(failure)
  })

  it('with an async storage the wrapper resolves only after the clear finished', async () => {
    const { storage } = faultyStorage(true)
    const namespace = uniqueNamespace()
    const read = jest.fn(async (id: number) => `v${read.mock.calls.length}:${id}`)
    const get = cacheValue(read, { storage, namespace })
    await get(1)
    const write = cacheClear((id: number) => id, { storage, namespaces: [namespace] })
    const out = write(1)
    expect(out).toBeInstanceOf(Promise)
    await expect(out).resolves.toBe(1)
    await expect(get(1)).resolves.toBe('v2:1')
  })

  it('fails open by default (reported), or throws StorageError with failOpen: false', async () => {
    const { storage, failing } = faultyStorage(true)
    failing.add('clear')
    const reports: string[] = []
    const write = cacheClear(async () => 'written', {
      storage,
      namespaces: 'n',
      onError: (r) => reports.push(`${r.op}:${r.namespace}`),
    })
    await expect(write()).resolves.toBe('written')
    expect(reports).toEqual(['clear:n'])
    const strict = cacheClear(async () => 'written', { storage, namespaces: 'n', failOpen: false, onError: () => {} })
    await expect(strict()).rejects.toBeInstanceOf(StorageError)
  })

  it('a value still being computed when its namespace is cleared is not stored afterwards', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let version = 1
    let release!: () => void
    const read = jest.fn(async () => {
      const seen = version
      await new Promise<void>((resolve) => {
        release = resolve
      })
      return seen
    })
    const get = cacheValue(read, { storage, namespace, name: 'versioned' })
    const inflight = get()
    await new Promise((r) => setImmediate(r))
    const bump = cacheClear(
      () => {
        version = 2
      },
      { storage, namespaces: namespace },
    )
    bump()
    release()
    await expect(inflight).resolves.toBe(1)
    const next = get()
    await new Promise((r) => setImmediate(r))
    release()
    await expect(next).resolves.toBe(2)
  })

  it('rejects bad options before anything runs', () => {
    const fn = jest.fn(() => 1)
    expect(() => cacheClear(fn, { namespaces: [] })).toThrow(ConfigError)
    expect(() => cacheClear(fn, { namespaces: [''] })).toThrow(/namespaces/)
    expect(() => cacheClear(fn, undefined as never)).toThrow(ConfigError)
    expect(() => cacheClear(fn, { namespaces: 'x', ttl: 1 } as never)).toThrow(/unknown option 'ttl'/)
    expect(fn).not.toHaveBeenCalled()
  })
})
