// Adversarial probes of the outcomes a call records (.stats(), memokit:call): a storage that fails or is skipped
// is a bypass, never a hit; timeouts and errors are what the docs say.
import { describe, expect, it } from '@jest/globals'
import { type AsyncStorage, cacheValue, memoryStorage } from '@memokit/core'
import { uniqueNamespace } from './helpers'

const failing = (fail: { get: boolean; set: boolean }): AsyncStorage => {
  const inner = memoryStorage()
  return {
    async: true,
    name: 'failing',
    get: async (ns, key) => {
      if (fail.get) throw new Error('get down')
      return inner.get(ns, key)
    },
    set: async (ns, key, value, options) => {
      if (fail.set) throw new Error('set down')
      inner.set(ns, key, value, options)
    },
    delete: async (ns, key) => inner.delete(ns, key),
    clear: async (ns, prefix) => inner.clear(ns, prefix),
  }
}

describe('call outcomes, adversarially', () => {
  it('a failed read is a bypass (counted as a miss), not a hit', async () => {
    const fail = { get: true, set: false }
    const f = cacheValue(async (n: number) => n, {
      storage: failing(fail),
      namespace: uniqueNamespace(),
      name: 'failedRead',
      stats: true,
      onError: () => {},
    })
    expect(await f(1)).toBe(1)
    expect(f.stats()).toMatchObject({ hits: 0, misses: 1, computations: 1 })
  })

  it('a failed write after a miss is a miss', async () => {
    const fail = { get: false, set: true }
    const f = cacheValue(async (n: number) => n, {
      storage: failing(fail),
      namespace: uniqueNamespace(),
      name: 'failedWrite',
      stats: true,
      onError: () => {},
    })
    expect(await f(1)).toBe(1)
    expect(await f(1)).toBe(1)
    expect(f.stats()).toMatchObject({ hits: 0, misses: 2, computations: 2 })
  })

  it('a call whose fn throws is an error, once', async () => {
    const f = cacheValue(
      async (_n: number): Promise<number> => {
        throw new Error('no')
      },
      { namespace: uniqueNamespace(), name: 'throws', stats: true, storage: memoryStorage() },
    )
    await expect(f(1)).rejects.toThrow('no')
    expect(f.stats()).toMatchObject({ errors: 1, misses: 0, hits: 0, computations: 1 })
  })
})
