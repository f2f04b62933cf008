import { describe, expect, it, jest } from '@jest/globals'
import { cacheClear, cacheValue, memoryStorage } from '@memokit/core'
import { configError } from './helpers'

describe('what a new user trips over: option errors read as plain English', () => {
  function getUser(id: number) {
    return { id }
  }

  it('a string where the options belong suggests the object meant, instead of "unknown option \'0\'"', () => {
    const error = configError(() => cacheValue(getUser, 'users' as never))
    expect(error.option).toBe('options')
    expect(error.message).toBe(
      'cacheValue: options must be an object, got "users"; did you mean cacheValue(fn, { namespace: "users" })?',
    )
    expect(configError(() => cacheClear(getUser, 'users' as never)).message).toMatch(/must be an object|options/)
  })

  it('a number or an array as options is a ConfigError listing the valid options', () => {
    for (const options of [5, ['ttl']]) {
      const error = configError(() => cacheValue(getUser, options as never))
      expect(error.option).toBe('options')
      expect(error.message).toMatch(/^cacheValue: options must be an object, got (5|an array); valid options are /)
    }
  })

  it('an unknown option names the closest valid one', () => {
    const error = configError(() => cacheValue(getUser, { ttL: 5 } as never))
    expect(error.option).toBe('ttL')
    expect(error.message).toMatch(/^cacheValue: unknown option 'ttL' \(did you mean 'ttl'\?\); valid options are /)
    expect(configError(() => cacheValue(getUser, { zzz: 1 } as never)).message).not.toContain('did you mean')
  })

  it('never says "got undefined undefined" or "got number 5"', () => {
    expect(configError(() => cacheValue(undefined as never)).message).toBe(
      'cacheValue: expected a function to wrap, got undefined',
    )
    expect(configError(() => cacheValue(getUser, { failOpen: 1 } as never)).message).toBe(
      'cacheValue: failOpen must be true or false, got 1',
    )
    expect(configError(() => cacheValue(getUser, { onError: new Map() } as never)).message).toBe(
      'cacheValue: onError must be a function, got a Map',
    )
    expect(configError(() => cacheValue(getUser, { namespace: 7 } as never)).message).toMatch(/got 7;/)
  })

  it('a storage that is not a memokit storage says what it got and what it lacks', () => {
    expect(configError(() => cacheValue(getUser, { storage: new Map() as never })).message).toBe(
      "cacheValue: storage must be a memokit storage (a Storage or AsyncStorage: an async flag, get, set, delete and clear), got a Map without async; use memoryStorage() or a backend's factory such as redisStorage({ client })",
    )
    expect(configError(() => cacheValue(getUser, { storage: 'redis' as never })).message).toMatch(
      /got "redis"; use memoryStorage\(\)/,
    )
  })

  it('a namespace or name with a lone surrogate is refused when the wrapper is created', () => {
    const storage = memoryStorage()
    const run = jest.fn(getUser)
    const namespace = configError(() => cacheValue(run, { storage, namespace: 'users\ud800' }))
    expect(namespace.option).toBe('namespace')
    expect(namespace.message).toContain('"users\\ud800" contains a lone surrogate')
    const name = configError(() => cacheValue(run, { storage, name: '\udfffgetUser' }))
    expect(name.option).toBe('name')
    expect(name.message).toContain('lone surrogate')
    expect(run).not.toHaveBeenCalled()
    // A well-formed pair (an emoji) is fine, and the refused name was never claimed.
    const cached = cacheValue(run, { storage, namespace: 'users😀', name: '\udfffgetUser'.slice(1) })
    expect(cached(1)).toEqual({ id: 1 })
  })
})
