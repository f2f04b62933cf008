// keyvStorage's close(): operations already issued finish first, later ones fail at once without a call on the
// Keyv (once the user disconnected it, any call would connect its store again), the user's Keyv stays connected,
// and the background retries of a failed clear end. The process-level scenario (a script that must exit after
// close() and keyv.disconnect()) is in close-exit.test.ts.
import { describe, expect, it, jest } from '@jest/globals'
import { cacheClear, cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import Keyv from 'keyv'
import { keyvStorage } from '../src'
import { gatedStore } from './gated-store'

const KEYV_METHODS = ['get', 'getMany', 'set', 'delete', 'deleteMany', 'clear', 'has', 'iterator', 'disconnect']

/** A Keyv over its own Map, every method of it counted. */
function countedKeyv(): { keyv: Keyv; calls: () => number } {
  const keyv = new Keyv({ store: new Map() })
  const methods = keyv as unknown as Record<string, (...args: unknown[]) => unknown>
  const spies = KEYV_METHODS.map((name) => jest.spyOn(methods, name))
  return { keyv, calls: () => spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0) }
}

describe('keyvStorage close()', () => {
  for (const clearBy of ['iterator', 'generation'] as const) {
    it(`makes every later operation fail at once with a StorageError, without calling the Keyv (clearBy ${clearBy})`, async () => {
      const { keyv, calls } = countedKeyv()
      const storage = keyvStorage(keyv, { prefix: 'closed', clearBy })
      await storage.set('ns', 'k', 1)
      await storage.close()
      const before = calls()
      const operations: [string, () => Promise<unknown>][] = [
        ['get', () => storage.get('ns', 'k')],
        ['set', () => storage.set('ns', 'k', 2)],
        ['delete', () => storage.delete('ns', 'k')],
        ['clear', () => storage.clear('ns')],
        ['clear', () => storage.clear('ns', 'fn:')],
      ]
      for (const [op, run] of operations) {
        const error = await run().then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(StorageError)
        expect(error).toMatchObject({
          op,
          storage: 'keyv',
          message: `keyv ${op} after close(): this storage is closed`,
        })
      }
      expect(calls()).toBe(before)
      // The Keyv is the user's: still connected and usable.
      expect(await keyv.get('anything')).toBeUndefined()
    })
  }

  it("waits for the operations already issued, and leaves the user's Keyv connected", async () => {
    const map = new Map<string, unknown>()
    const store = gatedStore(map)
    const keyv = new Keyv({ store })
    const disconnect = jest.spyOn(keyv, 'disconnect')
    const storage = keyvStorage(keyv, { prefix: 'drain', clearBy: 'generation' })
    const held = store.hold('set', (key) => key.includes('drain'))
    const write = storage.set('ns', 'k', 'v')
    await held.reached
    let closed = false
    const closing = storage.close().then(() => {
      closed = true
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(closed).toBe(false)
    held.release()
    await expect(write).resolves.toBeUndefined()
    await closing
    expect(disconnect).not.toHaveBeenCalled()
    // The write landed, and the Keyv still serves another storage.
    const other = keyvStorage(keyv, { prefix: 'drain', clearBy: 'generation' })
    expect((await other.get('ns', 'k'))?.value).toBe('v')
  })

  it('ends the retries of a clear that failed before it, reporting once that it was not retried', async () => {
    jest.useFakeTimers({ now: 1_000 })
    try {
      const { keyv, calls } = countedKeyv()
      const storage = keyvStorage(keyv, { prefix: 'retries', clearBy: 'generation', operationTimeoutMs: 50 })
      const reports: ErrorReport[] = []
      cacheValue(async (n: number) => n, { storage, namespace: 'ns', name: 'ident', onError: () => {} })
      const save = cacheClear(async () => 'saved', {
        storage,
        namespaces: 'ns',
        onError: (r) => reports.push(r),
      })
      const set = jest.spyOn(keyv, 'set').mockRejectedValue(new Error('store unreachable'))
      await save()
      await jest.advanceTimersByTimeAsync(300) // the first retry (after 250 ms) failed too
      expect(reports).toHaveLength(2)
      await storage.close()
      const before = calls()
      await jest.advanceTimersByTimeAsync(150_000)
      expect(calls()).toBe(before)
      expect(reports).toHaveLength(3)
      expect(reports[2]?.error).toBeInstanceOf(StorageError)
      expect(reports[2]?.error.message).toMatch(
        /clear of namespace 'ns' was not retried because the storage was closed/,
      )
      set.mockRestore()
    } finally {
      jest.useRealTimers()
    }
  })
})
