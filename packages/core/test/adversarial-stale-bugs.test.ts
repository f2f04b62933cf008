// Adversarial probes of the serving-stale features that found bugs: each test failed before the fix committed with it.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { cacheValue, memoryStorage, type Storage, StorageError } from '@memokit/core'
import { faultyStorage, uniqueNamespace } from './helpers'

describe('a sync fn over a sync storage whose write fails: the caller gets the error, nothing else does', () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }
  beforeEach(() => {
    unhandled.length = 0
    process.on('unhandledRejection', onUnhandled)
  })
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled)
  })
  // Jest reports an unhandled rejection as a failure of the test too, whether or not it reaches the listener.
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10))

  it('failOpen: false: the write error is thrown to the caller, with no unhandled rejection', async () => {
    const { storage, failing } = faultyStorage(false)
    failing.add('set')
    const cached = cacheValue((x: number) => x * 2, {
      storage: storage as Storage,
      namespace: uniqueNamespace(),
      name: 'strictSyncWrite',
      failOpen: false,
    })
    expect(() => cached(2)).toThrow(StorageError)
    await settle()
    expect(unhandled).toEqual([])
  })

  it('a shouldCache that throws: its error is thrown to the caller, with no unhandled rejection', async () => {
    const refused = new Error('shouldCache failed')
    const cached = cacheValue((x: number) => x * 2, {
      storage: memoryStorage(),
      namespace: uniqueNamespace(),
      name: 'throwingShouldCache',
      shouldCache: () => {
        throw refused
      },
    })
    expect(() => cached(2)).toThrow(refused)
    await settle()
    expect(unhandled).toEqual([])
  })
})
