// Core's lease flow (lease.ts) over replicas simulated in one process (lease-helpers.ts): one computation per key
// across replicas with singleFlight: 'distributed', the lease released on every exit path, extension while fn
// runs, take-over after a holder vanished, fenced writes against invalidations from another replica, stale
// values served without waiting, the wait timeout, and failing open when the lease operations fail.
// Separate-process versions of the fleet claims run over Redis (packages/redis/test/single-flight-replicas.test.ts).
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterAll, afterEach, describe, expect, it } from '@jest/globals'
import { type AsyncStorage, ConfigError, cacheClear, cacheValue, memoryStorage, TimeoutError } from '@memokit/core'
import { uniqueNamespace } from './helpers'
import { leaseOf, replicaStorage, type SharedState, sharedState, sleep } from './lease-helpers'

interface Seen {
  type: string
}
const events: Seen[] = []
const onEvent = (message: unknown) => {
  events.push(message as Seen)
}
subscribe('memokit:event', onEvent)
afterEach(() => {
  events.length = 0
})
afterAll(() => {
  unsubscribe('memokit:event', onEvent)
})
const seen = (type: string) => events.filter((e) => e.type === type).length

/** A slow source whose runs are counted over every replica; each result names its run. */
function source(ms: number, fail?: (run: number) => boolean) {
  const counter = { runs: 0 }
  const fn = async (id: number) => {
    const run = ++counter.runs
    await sleep(ms)
    if (fail?.(run)) throw new Error(`run ${run} failed`)
    return { id, run }
  }
  return { fn, counter }
}

function fleet(state: SharedState, count: number, fn: (id: number) => Promise<unknown>, options: object = {}) {
  const namespace = uniqueNamespace('lease')
  const make = (i: number) =>
    cacheValue(fn, { storage: replicaStorage(state, `replica-${i}`), namespace, name: 'load', ttl: '1m', ...options })
  type Wrapper = ReturnType<typeof make>
  // At most five replicas per test; indexing past `count` is a test bug.
  const wrappers = Array.from({ length: count }, (_, i) => make(i)) as [Wrapper, Wrapper, Wrapper, Wrapper, Wrapper]
  return { namespace, wrappers, lease: (id: number) => leaseOf(state, namespace, wrappers[0].keyFor(id)) }
}

describe("singleFlight: 'distributed'", () => {
  it('runs fn once across five replicas with 50 concurrent callers each; every caller gets its value', async () => {
    const state = sharedState()
    const { fn, counter } = source(200)
    const { wrappers } = fleet(state, 5, fn, { singleFlight: 'distributed' })
    const results = await Promise.all(wrappers.flatMap((cached) => Array.from({ length: 50 }, () => cached(7))))
    expect(counter.runs).toBe(1)
    expect(new Set(results.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify({ id: 7, run: 1 })]))
    // One poller per replica: 5 first reads, the holder's re-read, then about 5 polls per waiting replica.
    expect(state.calls.get).toBeLessThanOrEqual(6 + 4 * 10)
    expect(state.leases.size).toBe(0)
  })

  it("counts the callers another replica's value answered as waited (joins), and only the holder computes", async () => {
    const state = sharedState()
    const { fn } = source(100)
    const [a, b] = fleet(state, 2, fn, { singleFlight: 'distributed', stats: true }).wrappers
    const first = a(1)
    await sleep(20)
    await Promise.all([first, b(1)])
    expect(b.stats()).toMatchObject({ joins: 1, computations: 0, misses: 0 })
    expect(a.stats()).toMatchObject({ misses: 1, computations: 1 })
  })

  it('re-reads after taking the lease and skips fn when the value landed between its read and its lease', async () => {
    const state = sharedState()
    const { fn, counter } = source(5)
    const namespace = uniqueNamespace('lease')
    const storage = replicaStorage(state)
    // Another replica stores the value and releases its lease just before this one's acquire arrives.
    const late: AsyncStorage = {
      ...storage,
      acquireLease: async (ns, key, token, ttl) => {
        await storage.set(ns, key, { id: 1, run: 0 }, { ttl: 60_000 })
        return storage.acquireLease(ns, key, token, ttl)
      },
    }
    const cached = cacheValue(fn, { storage: late, namespace, name: 'load', singleFlight: 'distributed' })
    expect(await cached(1)).toEqual({ id: 1, run: 0 })
    expect(counter.runs).toBe(0)
    await sleep(5)
    expect(state.calls.releaseLease).toBe(1)
    expect(state.leases.size).toBe(0)
  })

  it('keeps the lease while fn runs longer than it (extension): no second fn anywhere', async () => {
    const state = sharedState()
    const { fn, counter } = source(600)
    const [a, b] = fleet(state, 2, fn, { singleFlight: 'distributed', lease: 150 }).wrappers
    const first = a(1)
    await sleep(30)
    const [x, y] = await Promise.all([first, b(1)])
    expect(counter.runs).toBe(1)
    expect(y).toEqual(x)
    expect(state.calls.extendLease).toBeGreaterThanOrEqual(3)
  })

  it('takes over after a holder vanished, within lease + 1 s: exactly one replica runs fn', async () => {
    const state = sharedState()
    const { fn, counter } = source(50)
    const { namespace, wrappers } = fleet(state, 3, fn, { singleFlight: 'distributed', lease: 300 })
    // A holder that died without releasing: its lease lapses 300 ms from now.
    state.leases.set(`${namespace}\u0000${wrappers[0].keyFor(9)}`, {
      token: 'dead'.repeat(8),
      expiresAt: Date.now() + 300,
    })
    const started = Date.now()
    const results = await Promise.all(wrappers.flatMap((cached) => [cached(9), cached(9)]))
    expect(Date.now() - started).toBeLessThan(300 + 1000)
    expect(counter.runs).toBe(1)
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1)
  })

  it('serves a value in its swr window without waiting, and runs no refresh while another replica holds the lease', async () => {
    const state = sharedState()
    const { fn, counter } = source(20)
    const { namespace, wrappers } = fleet(state, 2, fn, { singleFlight: 'distributed', ttl: 50, swr: '1m' })
    const [a, b] = wrappers
    const first = await a(4)
    await sleep(80)
    state.leases.set(`${namespace}\u0000${a.keyFor(4)}`, { token: 'other'.repeat(6), expiresAt: Date.now() + 5000 })
    const started = Date.now()
    expect(await b(4)).toEqual(first)
    // Waiting for the other replica's lease would take its 5 s; the bound leaves room for a loaded runner.
    expect(Date.now() - started).toBeLessThan(1000)
    await sleep(50)
    expect(counter.runs).toBe(1)
  })

  it("after waitTimeout runs fn here without storing it, or throws a TimeoutError with onLeaseTimeout: 'throw'", async () => {
    const state = sharedState()
    const { fn, counter } = source(5)
    const held = fleet(state, 2, fn, { singleFlight: 'distributed', waitTimeout: 100 })
    state.leases.set(`${held.namespace}\u0000${held.wrappers[0].keyFor(2)}`, {
      token: 'held'.repeat(8),
      expiresAt: Date.now() + 10_000,
    })
    expect(await held.wrappers[1](2)).toEqual({ id: 2, run: 1 })
    expect(seen('lease-wait-timeout')).toBe(1)
    expect(await memoryless(state, held.namespace, held.wrappers[0].keyFor(2))).toBeUndefined()
    expect(counter.runs).toBe(1)

    const throwing = fleet(state, 1, fn, { singleFlight: 'distributed', waitTimeout: 80, onLeaseTimeout: 'throw' })
    state.leases.set(`${throwing.namespace}\u0000${throwing.wrappers[0].keyFor(2)}`, {
      token: 'held'.repeat(8),
      expiresAt: Date.now() + 10_000,
    })
    const error = await throwing.wrappers[0](2).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).lease).toBe(true)
    expect((error as Error).message).toMatch(/waitTimeout/)
  })

  it('a waiter with a value in its staleIfError window answers with it after the soft timeout', async () => {
    const state = sharedState()
    const { fn } = source(5)
    const { namespace, wrappers } = fleet(state, 1, fn, {
      singleFlight: 'distributed',
      ttl: 30,
      staleIfError: '1m',
      timeout: { soft: 40, hard: 2000 },
    })
    const first = await wrappers[0](8)
    await sleep(60)
    state.leases.set(`${namespace}\u0000${wrappers[0].keyFor(8)}`, {
      token: 'held'.repeat(8),
      expiresAt: Date.now() + 5000,
    })
    const started = Date.now()
    expect(await wrappers[0](8)).toEqual(first)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('fails open when the lease operations fail: the call answers and the failure is reported', async () => {
    const state = sharedState()
    state.failing.add('acquireLease')
    const { fn, counter } = source(5)
    const reports: string[] = []
    const [a] = fleet(state, 1, fn, {
      singleFlight: 'distributed',
      failOpen: false,
      onError: (r: { op: string }) => reports.push(r.op),
    }).wrappers
    expect(await a(1)).toEqual({ id: 1, run: 1 })
    expect(counter.runs).toBe(1)
    expect(reports).toEqual(['acquireLease'])
    expect(seen('lease-unavailable')).toBe(1)
  })
})

/** Reads the shared state directly (no wrapper), so the read itself leaves no trace. */
const memoryless = async (state: SharedState, namespace: string, key: string) => state.entries.get(namespace, key)

describe('the lease is released on every exit path', () => {
  const run = async (options: object, fn: (id: number) => Promise<unknown>, fail?: (state: SharedState) => void) => {
    const state = sharedState()
    fail?.(state)
    const f = fleet(state, 1, fn, options)
    const outcome = await f.wrappers[0](1).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    )
    await sleep(5)
    return { state, f, outcome }
  }

  it('success: stored through the lease, which is gone', async () => {
    const { state, f } = await run({}, source(1).fn)
    expect(state.calls.setIfLeased).toBe(1)
    expect(state.calls.set).toBe(0)
    expect(f.lease(1)).toBeUndefined()
    expect(state.leases.size).toBe(0)
  })

  it('an acquire that failed after the storage took the lease (a timed-out reply): released, quietly', async () => {
    const state = sharedState()
    const base = replicaStorage(state, 'late-acquire')
    const reports: unknown[] = []
    const storage = {
      ...base,
      acquireLease: async (...args: Parameters<typeof base.acquireLease>) => {
        await base.acquireLease(...args)
        throw new Error('timed out after the server applied it')
      },
    }
    const f = cacheValue(source(1).fn, {
      storage,
      namespace: uniqueNamespace('lease'),
      name: 'load',
      singleFlight: 'distributed',
      onError: (report) => reports.push(report.op),
    })
    await expect(f(1)).resolves.toEqual({ id: 1, run: 1 })
    await sleep(5)
    // Held by nobody, it would have kept every replica from storing this key for the lease's ttl.
    expect(state.leases.size).toBe(0)
    expect(reports).toEqual(['acquireLease'])
  })

  it('fn throws', async () => {
    const { state, outcome } = await run({}, source(1, () => true).fn)
    expect(outcome).toHaveProperty('error')
    expect(state.calls.releaseLease).toBe(1)
    expect(state.leases.size).toBe(0)
  })

  it('shouldCache says no', async () => {
    const { state } = await run({ shouldCache: () => false }, source(1).fn)
    expect(state.calls.setIfLeased).toBe(0)
    expect(state.leases.size).toBe(0)
  })

  it('the write fails', async () => {
    const { state, outcome } = await run({}, source(1).fn, (s) => s.failing.add('setIfLeased'))
    expect(outcome).toEqual({ value: { id: 1, run: 1 } })
    expect(state.calls.releaseLease).toBe(1)
    expect(state.leases.size).toBe(0)
  })

  it('the codec refuses the result', async () => {
    const state = sharedState()
    const storage = replicaStorage(state)
    const refusing = { ...storage, setIfLeased: () => Promise.reject(new TypeError('cannot encode a function')) }
    const cached = cacheValue(async () => () => 1, {
      storage: refusing as AsyncStorage,
      namespace: uniqueNamespace(),
      name: 'refused',
    })
    expect(typeof (await cached())).toBe('function')
    await sleep(5)
    expect(state.calls.releaseLease).toBe(1)
    expect(state.leases.size).toBe(0)
  })

  it('the hard timeout passes', async () => {
    const { state, outcome } = await run({ timeout: { hard: 30 } }, source(200).fn)
    expect((outcome as { error: unknown }).error).toBeInstanceOf(TimeoutError)
    expect(state.calls.releaseLease).toBe(1)
    expect(state.leases.size).toBe(0)
    await sleep(250)
    // Its late result is not stored: another replica may have taken over.
    expect(state.calls.setIfLeased).toBe(0)
  })
})

describe('fenced writes: an invalidation on another replica keeps an overtaken result out', () => {
  for (const mode of ['process', 'distributed'] as const) {
    for (const how of ['delete', 'clear', 'cacheClear'] as const) {
      it(`${how} on replica B while A computes (${mode})`, async () => {
        const state = sharedState()
        const { fn, counter } = source(100)
        const { namespace, wrappers } = fleet(state, 2, fn, { singleFlight: mode })
        const [a, b] = wrappers
        const computing = a(5)
        await sleep(30)
        if (how === 'delete') await b.delete(5)
        else if (how === 'clear') await b.clear()
        else await cacheClear(async () => {}, { storage: replicaStorage(state, 'replica-2'), namespaces: namespace })()
        expect(await computing).toEqual({ id: 5, run: 1 })
        expect(seen('lease-lost')).toBe(1)
        expect(await memoryless(state, namespace, a.keyFor(5))).toBeUndefined()
        expect(await b(5)).toEqual({ id: 5, run: 2 })
        expect(counter.runs).toBe(2)
      })
    }
  }

  it("process mode: a replica whose lease another holds computes but does not store (the holder's write stands)", async () => {
    const state = sharedState()
    const { fn, counter } = source(60)
    const { namespace, wrappers } = fleet(state, 2, fn)
    const [a, b] = wrappers
    const first = a(6)
    await sleep(10)
    const second = await b(6)
    expect(second).toEqual({ id: 6, run: 2 })
    await first
    expect(counter.runs).toBe(2)
    expect((await memoryless(state, namespace, a.keyFor(6)))?.value).toEqual({ id: 6, run: 1 })
  })
})

describe('options', () => {
  const fn = async (id: number) => id
  it("rejects 'distributed' over a sync storage, or one without the lease members, naming them", () => {
    expect(() => cacheValue(fn, { storage: memoryStorage(), singleFlight: 'distributed' })).toThrow(ConfigError)
    const {
      acquireLease: _a,
      releaseLease: _r,
      extendLease: _e,
      setIfLeased: _s,
      ...plain
    } = replicaStorage(sharedState())
    expect(() => cacheValue(fn, { storage: plain as AsyncStorage, singleFlight: 'distributed' })).toThrow(
      /acquireLease, releaseLease, extendLease, setIfLeased/,
    )
  })
  it('rejects a storage with some lease members but not all', () => {
    const { setIfLeased: _s, ...partial } = replicaStorage(sharedState())
    expect(() => cacheValue(fn, { storage: partial as AsyncStorage })).toThrow(/not setIfLeased/)
  })
  it('rejects wait options without distributed, a lease over a storage without leases, and bad values', () => {
    const storage = replicaStorage(sharedState())
    expect(() => cacheValue(fn, { storage, waitTimeout: '1s' })).toThrow(/only with singleFlight: 'distributed'/)
    expect(() => cacheValue(fn, { storage: memoryStorage(), lease: '1s' })).toThrow(/has none/)
    expect(() => cacheValue(fn, { storage, singleFlight: 'everywhere' as never })).toThrow(ConfigError)
    expect(() => cacheValue(fn, { storage, singleFlight: 'distributed', onLeaseTimeout: 'wait' as never })).toThrow(
      /onLeaseTimeout must be/,
    )
    expect(() => cacheValue(fn, { storage, lease: -1 })).toThrow(ConfigError)
  })
})

describe('lease tokens', () => {
  it('are unique to each lease, across wrappers and replicas of one process, and 32 hex characters', async () => {
    const state = sharedState()
    const tokens: string[] = []
    const { fn } = source(0)
    const wrappers = Array.from({ length: 3 }, (_, i) => {
      const storage = replicaStorage(state, `replica-${i}`)
      const acquire = storage.acquireLease
      storage.acquireLease = (namespace, key, token, ttl) => {
        tokens.push(token)
        return acquire(namespace, key, token, ttl)
      }
      return cacheValue(fn, { storage, namespace: uniqueNamespace('tokens'), ttl: '1m' })
    })
    for (let id = 0; id < 100; id++) await Promise.all(wrappers.map((cached) => cached(id)))
    expect(tokens).toHaveLength(300)
    expect(new Set(tokens).size).toBe(300)
    for (const token of tokens) expect(token).toMatch(/^[0-9a-f]{32}$/)
  })
})
