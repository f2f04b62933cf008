// Adversarial probes of cacheClear: a failed clear's error (class, code, op, cause) with failOpen: false, fn's own
// error winning, and a computation racing the write whose result must not be stored after the clear.
import { describe, expect, it } from '@jest/globals'
import { cacheClear, cacheValue, memoryStorage, type Storage, StorageError } from '@memokit/core'
import { uniqueNamespace } from './helpers'

const failingClear = (): { storage: Storage; fail: { clear: boolean } } => {
  const inner = memoryStorage()
  const fail = { clear: false }
  const storage: Storage = {
    async: false,
    name: 'failing-clear',
    get: (ns, key) => inner.get(ns, key),
    set: (ns, key, value, options) => inner.set(ns, key, value, options),
    delete: (ns, key) => inner.delete(ns, key),
    clear: (ns, prefix) => {
      if (fail.clear) throw new Error('clear refused')
      return inner.clear(ns, prefix)
    },
  }
  return { storage, fail }
}

describe('cacheClear, adversarially', () => {
  it('failOpen: false throws a StorageError (op clear) with the driver error as cause; fn errors win', () => {
    const { storage, fail } = failingClear()
    const namespace = uniqueNamespace()
    cacheValue((n: number) => n, { storage, namespace, name: 'reader' })
    const reports: unknown[] = []
    const write = cacheClear(
      (ok: boolean) => {
        if (!ok) throw new Error('write failed')
        return 'written'
      },
      { storage, namespaces: namespace, failOpen: false, onError: (r) => reports.push(r) },
    )
    fail.clear = true
    let error: unknown
    try {
      write(true)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ code: 'E_STORAGE', op: 'clear', storage: 'failing-clear' })
    expect(((error as StorageError).cause as Error).message).toBe('clear refused')
    expect(() => write(false)).toThrow('write failed')
    expect(reports.length).toBeGreaterThanOrEqual(2)
    fail.clear = false
  })

  it('a computation that started before the write and ends after the clear is not stored', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let db = 'old'
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let runs = 0
    const read = cacheValue(
      async (_id: number) => {
        runs++
        const seen = db
        if (runs === 1) await gate
        return seen
      },
      { storage, namespace, name: 'racingRead' },
    )
    const write = cacheClear(
      async (value: string) => {
        db = value
      },
      { storage, namespaces: namespace },
    )
    const stale = read(1)
    await write('new')
    release()
    expect(await stale).toBe('old')
    expect(await read(1)).toBe('new')
  })
})
