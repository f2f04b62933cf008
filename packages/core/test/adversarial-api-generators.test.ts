// Adversarial probes of generator functions under @cached, @cachedClear and cacheClear. A generator returns a one-shot
// iterator at once, before its body runs: @cached kept that iterator, so the second call got it exhausted ([] instead
// of the values), and @cachedClear / cacheClear cleared before the write in its body had run (nothing waits for the
// iteration). Each is now a ConfigError where it is applied; all three cases failed before the fix committed with them.
import { describe, expect, it } from '@jest/globals'
import { ConfigError, cacheClear, cached, cachedClear, memoryStorage } from '@memokit/core'
import { uniqueNamespace } from './helpers'

const configError = (run: () => unknown): ConfigError => {
  try {
    run()
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('no ConfigError')
}

describe('generator functions', () => {
  it('@cached refuses a generator method (sync or async) where the class is defined', () => {
    const sync = configError(() => {
      class Repo {
        @cached()
        *ids(n: number): Generator<number> {
          for (let i = 0; i < n; i++) yield i
        }
      }
      return [...new Repo().ids(3), ...new Repo().ids(3)]
    })
    expect(sync.option).toBe('decorator')
    expect(sync.message).toMatch(/^@cached .*generator.*'ids'/)
    const storage = memoryStorage()
    const async = configError(() => {
      class Repo {
        @cached({ storage, namespace: uniqueNamespace(), instanceKey: () => 'r' })
        async *pages(): AsyncGenerator<number> {
          yield 1
        }
      }
      return new Repo()
    })
    expect(async.option).toBe('decorator')
  })

  it('@cachedClear refuses a generator method', () => {
    const error = configError(() => {
      class Repo {
        @cachedClear({ namespaces: 'users' })
        *writeAll(): Generator<number> {
          yield 1
        }
      }
      return new Repo()
    })
    expect(error.message).toMatch(/^@cachedClear .*generator/)
  })

  it('cacheClear refuses a generator function', () => {
    const storage = memoryStorage()
    expect(
      configError(() => cacheClear(function* writeAll() {}, { storage, namespaces: uniqueNamespace() })).message,
    ).toMatch(/^cacheClear: .*generator/)
    expect(() => cacheClear(async function* writeAll() {}, { storage, namespaces: uniqueNamespace() })).toThrow(
      ConfigError,
    )
  })
})
