// Adversarial review of the miss/stale flow (flow.ts, compute.ts): cases no other test reached.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, cacheValue, type Entry, type ErrorReport, memoryStorage } from '@memokit/core'
import { GET_THEN, settleFailure, settleValue } from '@memokit/core/backend'
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

  it('a hard timeout does not leave its computation for later calls of the old key to join', async () => {
    const storage = faultyStorage(true).storage
    const cached = cacheValue(
      async (q: { id: number }) => {
        const id = q.id
        if (id === 2) await new Promise((resolve) => setTimeout(resolve, 500))
        return `user ${id}`
      },
      { storage, namespace: uniqueNamespace(), name: 'byQueryHard', timeout: { hard: 100 } },
    )
    const q = { id: 1 }
    const first = cached(q).catch((error: unknown) => error)
    q.id = 2
    await tick(150)
    expect(await first).toMatchObject({ name: 'TimeoutError' })
    const later = cached({ id: 1 })
    await tick(600)
    await expect(later).resolves.toBe('user 1')
  })

  it('a swr refresh with a hard timeout: the same', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let version = 1
    const cached = cacheValue(
      async (q: { id: number }) => {
        const text = `user ${q.id} v${version}`
        if (q.id === 2) await new Promise((resolve) => setTimeout(resolve, 500))
        return text
      },
      { storage, namespace, name: 'byQuerySwrHard', ttl: 1000, swr: '1m', timeout: { hard: 100 } },
    )
    expect(await cached({ id: 1 })).toBe('user 1 v1')
    await tick(1500)
    version = 2
    const q = { id: 1 }
    expect(await cached(q)).toBe('user 1 v1') // stale, refreshed behind
    q.id = 2
    await tick(150)
    // A miss for the old key while the refresh runs on: it must compute, not join the refresh for the new contents.
    storage.delete(namespace, cached.keyFor({ id: 1 }))
    const later = cached({ id: 1 })
    await tick(600)
    await expect(later).resolves.toBe('user 1 v2')
  })
})

describe('a per-result duration function that throws or answers what is not a duration', () => {
  const answers: [string, () => unknown][] = [
    [
      'throws',
      () => {
        throw new Error('ttl bug')
      },
    ],
    ['returns 0', () => 0],
    ['returns NaN', () => Number.NaN],
    ['returns a negative duration', () => -5],
    ['returns an unreadable string', () => '5 minutes'],
  ]
  it.each(answers)('ttl %s: the call answers, nothing is stored, the fault is reported', async (_label, ttl) => {
    for (const storage of [memoryStorage(), faultyStorage(true).storage]) {
      const namespace = uniqueNamespace()
      const reports: ErrorReport[] = []
      const cached = cacheValue(async (n: number) => n * 2, {
        storage,
        namespace,
        name: 'perResult',
        ttl: ttl as never,
        swr: '1m',
        onError: (r) => reports.push(r),
      })
      await expect(cached(2)).resolves.toBe(4)
      expect(await storage.get(namespace, cached.keyFor(2))).toBeUndefined()
      expect(reports.map((r) => r.op)).toEqual(['set'])
    }
  })

  it.each(answers)('swr %s: the same', async (_label, swr) => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const reports: ErrorReport[] = []
    const cached = cacheValue((n: number) => n * 2, {
      storage,
      namespace,
      name: 'perResultSwr',
      ttl: 1000,
      swr: swr as never,
      onError: (r) => reports.push(r),
    })
    expect(cached(2)).toBe(4)
    expect(storage.get(namespace, cached.keyFor(2))).toBeUndefined()
    expect(reports).toHaveLength(1)
  })
})

/** An async storage over a memory one whose GET_THEN answers inside its own call, as settleValue allows. */
function answeringAtOnce(failing: { get: boolean }) {
  const inner = memoryStorage()
  const storage: AsyncStorage = {
    async: true,
    name: 'sync-then',
    get: async (ns, key) => inner.get(ns, key),
    set: async (ns, key, value, options) => inner.set(ns, key, value, options),
    delete: async (ns, key) => inner.delete(ns, key),
    clear: async (ns, prefix) => inner.clear(ns, prefix),
  }
  Object.assign(storage, {
    [GET_THEN]: (
      ns: string,
      key: string,
      onEntry: (entry: Entry | undefined) => unknown,
      onError: (error: unknown) => unknown,
    ) =>
      new Promise((resolve, reject) => {
        if (failing.get) settleFailure(new Error('connection lost during get'), onError, resolve, reject)
        else settleValue(inner.get(ns, key), onEntry, resolve, reject)
      }),
  })
  return { inner, storage }
}

describe("a storage's read-and-continue member (GET_THEN) that answers before it returns", () => {
  it('a failure it answered at once in strict mode is not left for later calls to join (a cached error)', async () => {
    const failing = { get: true }
    const { storage } = answeringAtOnce(failing)
    const cached = cacheValue(async (n: number) => n, {
      storage,
      namespace: uniqueNamespace(),
      name: 'syncThenStrict',
      failOpen: false,
    })
    await expect(cached(1)).rejects.toThrow('connection lost')
    failing.get = false
    await expect(cached(1)).resolves.toBe(1)
  })

  it('a hit it answered at once is not left for later calls to join: they read again', async () => {
    const { inner, storage } = answeringAtOnce({ get: false })
    const namespace = uniqueNamespace()
    let version = 1
    const cached = cacheValue(async (n: number) => `${n} v${version}`, { storage, namespace, name: 'syncThen' })
    await expect(cached(1)).resolves.toBe('1 v1')
    await expect(cached(1)).resolves.toBe('1 v1') // a hit, answered inside storage.get's call
    version = 2
    inner.set(namespace, cached.keyFor(1), '1 v2') // another replica wrote
    await expect(cached(1)).resolves.toBe('1 v2')
  })
})
