// Adversarial review of the miss/stale flow (flow.ts, compute.ts): cases no other test reached.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { cacheValue, memoryStorage } from '@memokit/core'
import { tick, useFakeClock } from './controllable'
import { faultyStorage, uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

describe('an argument object changed after the call, before fn ran', () => {
  it('over an async storage: the result for its new contents is not stored under the key of the old ones', async () => {
    const storage = faultyStorage(true).storage
    const cached = cacheValue((q: { id: number }) => `user ${q.id}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'byQuery',
    })
    const q = { id: 1 }
    const first = cached(q)
    q.id = 2
    await first
    await expect(cached({ id: 1 })).resolves.toBe('user 1')
  })

  it('a swr refresh behind a stale hit: the same', async () => {
    const storage = memoryStorage()
    let version = 1
    const cached = cacheValue((q: { id: number }) => `user ${q.id} v${version}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'byQuerySwr',
      ttl: 1000,
      swr: '1m',
    })
    expect(cached({ id: 1 })).toBe('user 1 v1')
    await tick(1500)
    version = 2
    const q = { id: 1 }
    expect(cached(q)).toBe('user 1 v1') // stale, refreshed behind
    q.id = 2
    await tick(0)
    expect(cached({ id: 1 })).not.toBe('user 2 v2')
  })
})
