// An argument object changed after the call, before fn ran (flow.review.test.ts has the first cases): the result
// for its new contents must reach neither the old key's entry nor the calls of the old contents that joined it.
import { describe, expect, it } from '@jest/globals'
import { type AsyncStorage, cacheValue, memoryStorage } from '@memokit/core'
import { faultyStorage, flush, uniqueNamespace } from './helpers'

/** An async memory storage whose first read of tag tokens waits until the test releases it. */
function gatedTokens() {
  const inner = memoryStorage()
  let release: (() => void) | undefined
  const storage: AsyncStorage = {
    async: true,
    name: 'gated-tokens',
    get: async (ns, key) => {
      if (ns === 'memokit:tags' && release === undefined) await new Promise<void>((resolve) => (release = resolve))
      return inner.get(ns, key)
    },
    set: async (ns, key, value, o) => inner.set(ns, key, value, o),
    add: async (ns, key, value, o) => inner.add?.(ns, key, value, o) as boolean,
    delete: async (ns, key) => inner.delete(ns, key),
    clear: async (ns, prefix) => inner.clear(ns, prefix),
  }
  const tokensRead = async (): Promise<void> => {
    for (let i = 0; i < 50 && release === undefined; i++) await flush()
    expect(release).toBeDefined()
  }
  return { storage, tokensRead, release: () => release?.() }
}

describe('an argument object changed after the call, before fn ran', () => {
  it('a call with the old contents that joined while the first read ran gets their result', async () => {
    const cached = cacheValue(async (q: { id: number }) => `user ${q.id}`, {
      storage: faultyStorage(true).storage,
      namespace: uniqueNamespace(),
      name: 'byQueryJoined',
    })
    const q = { id: 1 }
    const first = cached(q)
    const second = cached({ id: 1 })
    q.id = 2
    await first
    await expect(second).resolves.toBe('user 1')
    await expect(cached({ id: 1 })).resolves.toBe('user 1')
  })

  it('with tags, changed while the tokens are read: not stored under the old key, not given to its joiners', async () => {
    const { storage, tokensRead, release } = gatedTokens()
    const cached = cacheValue(async (q: { id: number }) => `user ${q.id}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'byQueryTagged',
      tags: (q) => [`user:${q.id}`],
    })
    const q = { id: 1 }
    const first = cached(q)
    await tokensRead()
    const second = cached({ id: 1 })
    q.id = 2
    release()
    await first
    await expect(second).resolves.toBe('user 1')
    await expect(cached({ id: 1 })).resolves.toBe('user 1')
  })
})
