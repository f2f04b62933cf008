// A hung storage under a wrapper with `tags`: once the circuit breaker is open, calls must skip the storage and run
// at fn's speed, as calls without tags do. The tags' tokens are read before fn only so that its result can be
// stored with them; a call that can't store (its read was skipped or failed) has no use for them.
import { describe, expect, it } from '@jest/globals'
import { type AsyncStorage, cacheValue, type ErrorReport, memoryStorage } from '@memokit/core'
import { createDeadlineQueue } from '../src/deadlines'

// What a network backend does on a hung server: every operation fails after its operationTimeoutMs.
const TIMEOUT_MS = 300

/** An async storage over a memory storage, with getMany; `hang()` makes every later operation time out. */
function hangingStorage() {
  const inner = memoryStorage()
  const deadlines = createDeadlineQueue(TIMEOUT_MS)
  const issued: string[] = []
  let hung = false
  const op =
    <T>(name: string, run: () => T) =>
    (): Promise<T> => {
      issued.push(name)
      const work = hung ? new Promise<T>(() => {}) : Promise.resolve().then(run)
      return deadlines.bound(
        () => work,
        () => new Error(`${name} timed out after ${TIMEOUT_MS} ms`),
        (error) => error,
      )
    }
  const storage = {
    async: true,
    name: 'hanging',
    get: (ns: string, key: string) => op('get', () => inner.get(ns, key))(),
    getMany: (ns: string, keys: readonly string[]) => op('getMany', () => keys.map((k) => inner.get(ns, k)))(),
    set: (ns: string, key: string, value: unknown, o?: { ttl?: number }) =>
      op('set', () => inner.set(ns, key, value, o))(),
    delete: (ns: string, key: string) => op('delete', () => inner.delete(ns, key))(),
    clear: (ns: string, prefix?: string) => op('clear', () => inner.clear(ns, prefix))(),
  } as unknown as AsyncStorage
  return {
    storage,
    issued,
    hang: () => {
      hung = true
    },
  }
}

describe('tags over a hung storage', () => {
  it('once the breaker is open, calls run at fn speed and ask the storage nothing (tag tokens included)', async () => {
    const { storage, issued, hang } = hangingStorage()
    const reports: ErrorReport[] = []
    let runs = 0
    const load = cacheValue(
      async (id: number) => {
        runs++
        return `user-${id}`
      },
      {
        storage,
        namespace: 'outage-tags',
        name: 'load',
        ttl: '1h',
        tags: (id) => [`user:${id}`],
        onError: (r) => reports.push(r),
      },
    )
    expect(await load(1)).toBe('user-1')
    hang()
    // The breaker opens after 5 failures in a row (default); these calls each wait for their read's timeout.
    await Promise.all([2, 3, 4, 5, 6].map((id) => load(id)))
    const askedWhenOpen = issued.length
    const reportsWhenOpen = reports.length
    // The cooldown (about 5 s) is far longer than what follows.
    const started = performance.now()
    for (let id = 100; id < 120; id++) expect(await load(id)).toBe(`user-${id}`)
    const ms = performance.now() - started
    expect(runs).toBe(26)
    expect(issued.slice(askedWhenOpen)).toEqual([])
    expect(reports.length).toBe(reportsWhenOpen)
    // 20 calls, each waiting a timeout for its tags, would take >= 20 * TIMEOUT_MS by construction.
    expect(ms).toBeLessThan(10 * TIMEOUT_MS)
  })

  it("a failed read skips the call's tag tokens too: the caller waits one timeout, not two", async () => {
    const { storage, issued, hang } = hangingStorage()
    const load = cacheValue(async (id: number) => `user-${id}`, {
      storage,
      namespace: 'outage-tags-one',
      name: 'load',
      ttl: '1h',
      tags: (id) => [`user:${id}`],
      onError: () => {},
    })
    hang()
    const started = performance.now()
    expect(await load(1)).toBe('user-1')
    const ms = performance.now() - started
    expect(issued).toEqual(['get'])
    expect(ms).toBeLessThan(2 * TIMEOUT_MS)
  })
})
