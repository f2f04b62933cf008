// Adversarial review: Keyv's own `namespace` beside memokit's namespaces. Keyv writes a Keyv namespace into the
// store object it is given (`store.namespace = ...`, also on a Map), so two Keyvs over one store object share
// that field and the last one made wins. Before: a clear by iterator over a shared Map listed the keys whose text
// holds the *other* Keyv's namespace (Keyv's iterator filters with `includes` on that field) and left this Keyv's
// entries in place; over one shared @keyv/redis store with `useKeyPrefix: false` (as createKeyv makes), the two
// Keyv namespaces wrote the same Redis keys, so one tenant's function returned the other's value.
import { afterAll, describe, expect, it } from '@jest/globals'
import { ConfigError, cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import Keyv from 'keyv'
import { keyvStorage } from '../src'
import { cleanupRedis, createdKeyv, REDIS_URL, RUN, redisKeyv, redisStore } from './redis-env'

afterAll(() => cleanupRedis(), 30_000)

const tenantFn = (storage: ReturnType<typeof keyvStorage>, tenant: string, reports: ErrorReport[] = []) =>
  cacheValue(async (id: number) => `${tenant}${id}`, {
    storage,
    namespace: 'users',
    name: 'user',
    onError: (report) => reports.push(report),
  })

describe('two Keyv namespaces over one Map', () => {
  it("clear removes this Keyv namespace's entries, and none of the other's", async () => {
    const map = new Map()
    const a = keyvStorage(new Keyv({ store: map, namespace: `${RUN}-ma` }))
    const b = keyvStorage(new Keyv({ store: map, namespace: `${RUN}-mb` }))
    await a.set('users', 'a-only', 'A')
    await a.set('users', 'both', 'A')
    await b.set('users', 'both', 'B')
    await a.clear('users')
    expect(await a.get('users', 'a-only')).toBeUndefined()
    expect(await a.get('users', 'both')).toBeUndefined()
    expect((await b.get('users', 'both'))?.value).toBe('B')
    await b.clear('users')
    expect(await b.get('users', 'both')).toBeUndefined()
  })

  it('a cached function serves its fresh value after .clear()', async () => {
    const map = new Map()
    const a = keyvStorage(new Keyv({ store: map, namespace: `${RUN}-mc` }))
    keyvStorage(new Keyv({ store: map, namespace: `${RUN}-md` }))
    let version = 1
    const fn = cacheValue(async (id: number) => `v${version}-${id}`, { storage: a, namespace: 'users', name: 'u' })
    expect(await fn(1)).toBe('v1-1')
    version = 2
    await fn.clear()
    expect(await fn(1)).toBe('v2-1')
  })
})

describe('two Keyv namespaces over one @keyv/redis store object', () => {
  it("useKeyPrefix off (the namespace is the store's alone): never the other namespace's value", async () => {
    const store = redisStore()
    const keyvA = new Keyv({ store, namespace: `${RUN}-ra`, useKeyPrefix: false })
    const a = keyvStorage(keyvA)
    // Made after `a`: takes the store's namespace over.
    const b = keyvStorage(new Keyv({ store, namespace: `${RUN}-rb`, useKeyPrefix: false }))
    const reports: ErrorReport[] = []
    const fa = tenantFn(a, 'A', reports)
    const fb = tenantFn(b, 'B', reports)
    expect(await fa(1)).toBe('A1')
    expect(await fb(1)).toBe('B1')
    expect(await fa(1)).toBe('A1')
    // `a` no longer knows where its keys go: every operation fails, typed and reported, instead of sharing b's.
    await expect(a.get('users', 'x')).rejects.toBeInstanceOf(StorageError)
    expect(reports.length).toBeGreaterThan(0)
    expect(reports.every((r) => r.error instanceof StorageError && r.error.message.includes('namespace'))).toBe(true)
    // A storage made over a Keyv whose store another Keyv has taken over is refused at once.
    expect(() => keyvStorage(keyvA)).toThrow(ConfigError)
  })

  it("useKeyPrefix on: Keyv's own prefix keeps the two apart", async () => {
    const store = redisStore()
    const a = keyvStorage(new Keyv({ store, namespace: `${RUN}-rc` }), { clearBy: 'generation' })
    const b = keyvStorage(new Keyv({ store, namespace: `${RUN}-rd` }), { clearBy: 'generation' })
    await b.set('users', 'k', 'B')
    await a.set('users', 'k', 'A')
    await a.clear('users')
    expect(await a.get('users', 'k')).toBeUndefined()
    expect((await b.get('users', 'k'))?.value).toBe('B')
  })
})

describe('Keyv namespaces on stores of their own, memokit namespaces within one Keyv namespace', () => {
  it.each([
    ['new Keyv({ store: new KeyvRedis(url), namespace })', (ns: string) => redisKeyv(REDIS_URL, ns)],
    ['createKeyv(url, { namespace })', (ns: string) => createdKeyv(REDIS_URL, ns)],
  ])('%s: equal memokit namespaces stay apart, clear(namespace) clears only its own', async (_label, make) => {
    const a = keyvStorage(make(`${RUN}-sa`))
    const b = keyvStorage(make(`${RUN}-sb`))
    const fa = tenantFn(a, 'A')
    const fb = tenantFn(b, 'B')
    expect([await fa(1), await fb(1), await fa(1), await fb(1)]).toEqual(['A1', 'B1', 'A1', 'B1'])
    await a.set('orders', 'k', 'A-orders')
    await a.clear('users')
    expect((await a.get('orders', 'k'))?.value).toBe('A-orders')
    expect(await a.get('users', fa.keyFor(1))).toBeUndefined()
    expect(await fb(1)).toBe('B1')
    expect(await b.get('users', fb.keyFor(1))).toBeDefined()
  })
})
