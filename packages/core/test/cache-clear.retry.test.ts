// cacheClear's safety nets: a failed clear is retried in the background until it succeeds, and a clear that can't
// reach any cached function is reported instead of silently clearing nothing.
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, cacheClear, cacheValue, type ErrorReport, memoryStorage } from '@memokit/core'
import { RETRY_DELAYS_MS } from '../src/clear-retry'
import { faultyStorage, uniqueNamespace } from './helpers'

afterEach(() => {
  jest.useRealTimers()
  jest.restoreAllMocks()
})

const advance = async (ms: number): Promise<void> => {
  await jest.advanceTimersByTimeAsync(ms)
}

describe('a failed clear', () => {
  it('is retried with backoff until it succeeds, each failure reported, and the entries are gone', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const { storage, failing, calls } = faultyStorage(true)
    const namespace = uniqueNamespace()
    const reports: ErrorReport[] = []
    const cached = cacheValue(async (n: number) => n, { storage, namespace, name: 'ident', onError: () => {} })
    await cached(1)
    const save = cacheClear(async () => 'saved', { storage, namespaces: namespace, onError: (r) => reports.push(r) })
    failing.add('clear')
    await expect(save()).resolves.toBe('saved')
    expect(reports).toHaveLength(1)
    const clearsAfterCall = calls.clear

    await advance(RETRY_DELAYS_MS[0] as number)
    expect(calls.clear).toBe(clearsAfterCall + 1)
    expect(reports).toHaveLength(2)
    await advance((RETRY_DELAYS_MS[1] as number) - 1)
    expect(calls.clear).toBe(clearsAfterCall + 1) // backoff: not before the next delay
    failing.delete('clear')
    await advance(1)
    expect(calls.clear).toBe(clearsAfterCall + 2)
    expect(reports).toHaveLength(2)
    expect(await storage.get(namespace, cached.keyFor(1))).toBeUndefined()
    // Done: no more attempts.
    await advance(RETRY_DELAYS_MS.reduce((a, b) => a + b, 0))
    expect(calls.clear).toBe(clearsAfterCall + 2)
  })

  it('retries one chain per namespace however many clears fail, and stops after the last delay', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const { storage, failing, calls } = faultyStorage(true)
    const namespace = uniqueNamespace()
    cacheValue(async (n: number) => n, { storage, namespace, name: 'ident' })
    const save = cacheClear(async () => 'saved', { storage, namespaces: namespace, onError: () => {} })
    failing.add('clear')
    await Promise.all([save(), save(), save()])
    const afterCalls = calls.clear
    expect(afterCalls).toBe(3)
    await advance(RETRY_DELAYS_MS.reduce((a, b) => a + b, 0) + 1)
    expect(calls.clear - afterCalls).toBe(RETRY_DELAYS_MS.length)
    await advance(60_000)
    expect(calls.clear - afterCalls).toBe(RETRY_DELAYS_MS.length)
  })

  it('stops retrying when a later clear of the namespace succeeds', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const { storage, failing, calls } = faultyStorage(true)
    const namespace = uniqueNamespace()
    cacheValue(async (n: number) => n, { storage, namespace, name: 'ident' })
    const save = cacheClear(async () => 'saved', { storage, namespaces: namespace, onError: () => {} })
    failing.add('clear')
    await save()
    failing.delete('clear')
    await save()
    const after = calls.clear
    await advance(RETRY_DELAYS_MS.reduce((a, b) => a + b, 0))
    expect(calls.clear).toBe(after)
  })

  it('is retried over a sync storage too', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const { storage, failing, calls } = faultyStorage(false)
    const namespace = uniqueNamespace()
    cacheValue((n: number) => n, { storage, namespace, name: 'ident' })
    const save = cacheClear(() => 'saved', { storage, namespaces: namespace, onError: () => {} })
    failing.add('clear')
    expect(save()).toBe('saved')
    failing.delete('clear')
    await advance(RETRY_DELAYS_MS[0] as number)
    expect(calls.clear).toBe(2)
  })
})

/**
 * An async memory storage whose clears the test scripts: 'fail' rejects without clearing; 'hold' clears at once (the
 * server ran it) but answers only on `release()`; anything else clears and answers at once.
 */
function scriptedClears() {
  const inner = memoryStorage()
  const script: ('fail' | 'hold')[] = []
  const held: (() => void)[] = []
  let clears = 0
  const storage: AsyncStorage = {
    async: true,
    name: 'scripted-clears',
    get: async (ns, key) => inner.get(ns, key),
    set: async (ns, key, value, options) => inner.set(ns, key, value, options),
    delete: async (ns, key) => inner.delete(ns, key),
    clear: (ns, prefix) => {
      clears++
      const outcome = script.shift()
      if (outcome === 'fail') return Promise.reject(new Error('connection lost during clear'))
      inner.clear(ns, prefix)
      return outcome === 'hold' ? new Promise<void>((resolve) => held.push(resolve)) : Promise.resolve()
    },
  }
  return { storage, script, release: () => held.shift()?.(), clears: () => clears }
}

const ALL_DELAYS = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0)

describe('a failed clear is retried by a clear issued after it', () => {
  // An entry computed from the data before a write, stored after a clear issued earlier ran: only a clear issued
  // after the write's own (failed) clear removes it.
  it('a retry already running when another clear fails does not stand for it', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const { storage, script, release } = scriptedClears()
    const namespace = uniqueNamespace()
    const cached = cacheValue(async (n: number) => n, { storage, namespace, name: 'ident' })
    const save = cacheClear(async () => 'saved', { storage, namespaces: namespace, onError: () => {} })
    script.push('fail')
    await save()
    script.push('hold')
    await advance(RETRY_DELAYS_MS[0] as number) // the retry ran on the server; its answer is on the way
    await cached(1)
    script.push('fail')
    await save()
    release()
    await advance(ALL_DELAYS)
    expect(await storage.get(namespace, cached.keyFor(1))).toBeUndefined()
  })

  it('a clear issued before another one failed does not cancel its retry when it succeeds', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const { storage, script, release, clears } = scriptedClears()
    const namespace = uniqueNamespace()
    const cached = cacheValue(async (n: number) => n, { storage, namespace, name: 'ident' })
    const save = cacheClear(async () => 'saved', { storage, namespaces: namespace, onError: () => {} })
    script.push('hold')
    const first = save()
    await advance(0)
    expect(clears()).toBe(1)
    await cached(1)
    script.push('fail')
    await save()
    release()
    await first
    await advance(ALL_DELAYS)
    expect(await storage.get(namespace, cached.keyFor(1))).toBeUndefined()
  })
})

describe('a clear that reaches no cached function', () => {
  it('warns once when no storage is given and the namespace lives on another storage', () => {
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const namespace = uniqueNamespace('users')
    cacheValue((id: number) => id, { storage: memoryStorage(), namespace, name: 'user' })
    const save = cacheClear((id: number) => id, { namespaces: namespace })
    save(1)
    save(2)
    const warnings = emit.mock.calls.map((call) => String(call[0]))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(new RegExp(`namespace '${namespace}' is not used`))
    expect(warnings[0]).toMatch(/no `storage` was given/)
  })

  it('names the namespaces in use on that storage when the name is a typo', () => {
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const storage = memoryStorage()
    const namespace = uniqueNamespace('users')
    cacheValue((id: number) => id, { storage, namespace, name: 'user' })
    cacheClear(() => 1, { storage, namespaces: `${namespace}s` })()
    expect(String(emit.mock.calls[0]?.[0])).toMatch(new RegExp(`in use there: '${namespace}'`))
  })

  it('says nothing when the namespace is in use, or on a shared storage this process does not cache on', () => {
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    cacheValue((id: number) => id, { storage, namespace, name: 'user' })
    cacheClear(() => 1, { storage, namespaces: namespace })()
    // Another service may read this namespace on the shared server: this process only writes and clears.
    const shared = Object.assign(memoryStorage(), { scope: `redis://127.0.0.1:6379/0 ${uniqueNamespace()}` })
    cacheClear(() => 1, { storage: shared, namespaces: 'orders' })()
    expect(emit).not.toHaveBeenCalled()
  })
})

describe('cacheClear options', () => {
  it('rejects a namespace no wrapper could use (a lone surrogate) when the wrapper is created', () => {
    expect(() => cacheClear(() => 1, { namespaces: ['users', 'bad\ud800'] })).toThrow(/namespace/)
  })
})
