// A write that timed out for its caller may still reach the store later (a store with a pool, or a slow one): it
// must not land after a delete or a newer set issued after it (clears by generation are safe by themselves: a late
// entry lands under the old version, or before the prefix mark). The gated store holds the old write back (a
// fault of timing only) and lets it go while the later operation waits, well inside that operation's deadline.
import { describe, expect, it } from '@jest/globals'
import type { AsyncStorage } from '@memokit/core'
import Keyv from 'keyv'
import { keyvStorage } from '../src'
import { type GatedStore, gatedStore } from './gated-store'

const TIMEOUT_MS = 1000
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// The gated store can't list keys, so clears change the namespace's generation (clearBy 'generation').
function setup(): { store: GatedStore; storage: AsyncStorage } {
  const store = gatedStore(new Map())
  const storage = keyvStorage(new Keyv({ store }), {
    prefix: 'p',
    clearBy: 'generation',
    operationTimeoutMs: TIMEOUT_MS,
  })
  return { store, storage }
}

/**
 * Sets `key` to 'stale' with its entry's store call held past the set's deadline; the set rejects with a timeout.
 * A write of another key first makes the namespace's version exist, so the call held is the entry's own.
 */
async function timedOutSet(store: GatedStore, storage: AsyncStorage, key: string): Promise<() => void> {
  await storage.set('ns', 'other', 1)
  const held = store.hold('set', (physical) => physical.endsWith(`k${key}`))
  await expect(storage.set('ns', key, 'stale')).rejects.toThrow('timed out')
  return held.release
}

describe('a set that timed out, still on its way to the store', () => {
  it('does not land after the newer set issued next (a refresh after a slow write)', async () => {
    const { store, storage } = setup()
    const release = await timedOutSet(store, storage, 'target')
    const fresh = storage.set('ns', 'target', 'fresh')
    await sleep(100)
    release()
    await fresh
    expect((await storage.get('ns', 'target'))?.value).toBe('fresh')
  })

  it('does not land after the delete issued next', async () => {
    const { store, storage } = setup()
    await storage.set('ns', 'target', 'old')
    const release = await timedOutSet(store, storage, 'target')
    const deleting = storage.delete('ns', 'target')
    await sleep(100)
    release()
    expect(await deleting).toBe(true)
    expect(await storage.get('ns', 'target')).toBeUndefined()
  })

  it('makes a later delete time out, unsent, while it is still held', async () => {
    const { store, storage } = setup()
    const release = await timedOutSet(store, storage, 'target')
    const deletes = store.hold('delete', () => true)
    let sent = false
    void deletes.reached.then(() => {
      sent = true
    })
    await expect(storage.delete('ns', 'target')).rejects.toThrow('timed out')
    release()
    deletes.release()
    await sleep(50)
    expect(sent).toBe(false)
  })
})
