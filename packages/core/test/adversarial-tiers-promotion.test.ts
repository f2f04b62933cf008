// Adversarial review of tieredStorage's promotion races: an L2 that answers a read issued during a write with what
// it held before (a connection pool), where the read ends before the write does and so promotes its old value, and
// the write then doesn't store its own (a broad invalidation meanwhile, or a failed write that may have landed).
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, memoryStorage, tieredStorage } from '@memokit/core'
import { settle, uniqueNs, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

const gate = () => {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

/** A memory L2 whose next write waits for the test (then applies, or applies and loses its reply). */
function pooledL2() {
  const inner = memoryStorage()
  let held: { opened: Promise<void>; open: () => void; lose: boolean } | undefined
  const storage: AsyncStorage = {
    async: true,
    name: 'pooled',
    get: async (ns, key) => inner.get(ns, key),
    async set(ns, key, value, o) {
      const hold = held
      held = undefined
      if (hold !== undefined) await hold.opened
      inner.set(ns, key, value, o)
      if (hold?.lose) throw new Error('reply lost after set')
    },
    delete: async (ns, key) => inner.delete(ns, key),
    clear: async (ns, prefix) => inner.clear(ns, prefix),
  }
  return {
    storage,
    inner,
    /** Holds the next write until the returned function is called; `lose`: it lands, then fails. */
    holdNextWrite(lose = false): () => void {
      const g = gate()
      held = { ...g, lose }
      return g.open
    },
  }
}

describe('tieredStorage: a read answered during a local write, before the write ends', () => {
  it('read-your-writes holds when an unrelated clear came while the write ran', async () => {
    const l2 = pooledL2()
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    l2.inner.set(ns, 'k', 'old')
    const release = l2.holdNextWrite()
    const writing = tier.set(ns, 'k', 'new')
    await settle()
    // Issued while the write runs; the pool answers it at once with the value from before the write.
    expect((await tier.get(ns, 'k'))?.value).toBe('old')
    // Any clear, of another namespace here, while the write runs.
    await tier.clear(uniqueNs())
    release()
    await writing
    expect(l2.inner.get(ns, 'k')?.value).toBe('new')
    // The set resolved: this replica must read 'new', and must not serve 'old' for maxL1Age.
    expect((await tier.get(ns, 'k'))?.value).toBe('new')
  })

  it('a failed write (which may have landed) leaves no L1 copy of the key, not even one read meanwhile', async () => {
    const l2 = pooledL2()
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    l2.inner.set(ns, 'k', 'old')
    const release = l2.holdNextWrite(true)
    const writing = tier.set(ns, 'k', 'new')
    await settle()
    expect((await tier.get(ns, 'k'))?.value).toBe('old')
    release()
    await expect(writing).rejects.toThrow('reply lost')
    expect(l2.inner.get(ns, 'k')?.value).toBe('new')
    expect((await tier.get(ns, 'k'))?.value).toBe('new')
  })
})
