// A generator function returns a one-shot iterator: cached, it would be exhausted for every call after the first.
import { describe, expect, it } from '@jest/globals'
import { ConfigError, cacheValue, memoryStorage } from '../src'

describe('cacheValue over a generator function', () => {
  it.each([
    [
      'a generator',
      function* ids(n: number) {
        for (let i = 0; i < n; i++) yield i
      },
    ],
    [
      'an async generator',
      async function* ids(n: number) {
        for (let i = 0; i < n; i++) yield i
      },
    ],
  ])('refuses %s with a ConfigError naming fn, and wraps nothing', (_, fn) => {
    let thrown: unknown
    try {
      cacheValue(fn as (n: number) => unknown, { storage: memoryStorage() })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    expect((thrown as ConfigError).option).toBe('fn')
    expect((thrown as Error).message).toMatch(/generator function.*exhausted/)
  })

  it('still wraps a function that returns the collected values', () => {
    const ids = cacheValue((n: number) => [...Array(n).keys()], { storage: memoryStorage(), name: 'ids' })
    expect(ids(3)).toEqual([0, 1, 2])
    expect(ids(3)).toEqual([0, 1, 2])
  })
})
