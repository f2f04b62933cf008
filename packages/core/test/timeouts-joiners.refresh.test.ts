// `.refresh()` and computations that started before it. Once `.refresh()` has returned, no call may be answered by
// a computation that started before the refresh: not one a hard timeout abandoned (later misses join those), not
// one a soft timeout answered, and not one whose hard timeout fires only after the refresh. Those computations
// still answer the callers that were waiting for them when the refresh came, and their results are not stored.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type AnyStorage, cacheValue, memoryStorage, TimeoutError } from '@memokit/core'
import { type Controllable, capture, controllable, stateOf, tick, tickTo, useFakeClock } from './controllable'
import { faultyStorage, uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

function wrap(storage: AnyStorage, options: { timeout?: { soft?: number; hard?: number }; staleIfError?: number }) {
  const namespace = uniqueNamespace()
  const c = controllable()
  const cached = cacheValue(c.fn, {
    storage: storage as ReturnType<typeof memoryStorage>,
    namespace,
    name: 'report',
    ttl: 1000,
    onError: () => {},
    ...options,
  })
  const stored = async (): Promise<unknown> => (await storage.get(namespace, cached.keyFor('k')))?.value
  return { c, cached, stored }
}

const errorOf = (outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): unknown =>
  outcome.ok ? outcome.value : outcome.error

/** `.refresh()`, answered 'new' by run `index`. */
async function refreshedBy(cached: { refresh(key: string): Promise<string> }, c: Controllable<string>, index: number) {
  const refreshed = cached.refresh('k')
  await tick(0)
  c.runs[index]?.resolve('new')
  await expect(refreshed).resolves.toBe('new')
}

/** `later` waits for run `own`, not run `older` (which started before the refresh): settling `older` leaves it be. */
async function answeredOnlyBy(later: Promise<unknown>, c: Controllable<string>, older: number, own: number) {
  c.runs[older]?.resolve('old')
  await tick(0)
  expect(await stateOf(later)).toBe('pending')
  c.runs[own]?.resolve('mine')
  await expect(later).resolves.toBe('mine')
}

describe.each([
  ['memoryStorage', () => memoryStorage()],
  ['an async storage', () => faultyStorage(true).storage],
])('.refresh() over %s', (_label, makeStorage) => {
  it('a miss after the refresh does not join the computation a hard timeout abandoned before it', async () => {
    const { c, cached, stored } = wrap(makeStorage(), { timeout: { hard: 500 } })
    const first = capture(cached('k'))
    await tick(500)
    expect(errorOf(await first)).toBeInstanceOf(TimeoutError)

    await refreshedBy(cached, c, 1)
    // 'new' expires; the computation abandoned before the refresh still runs.
    await tick(1000)
    const later = cached('k')
    await tick(0)
    expect(c.runs).toHaveLength(3)
    await answeredOnlyBy(later, c, 0, 2)
    expect(await stored()).toBe('mine')
  })

  it('a refresh that times out too: later calls join the refresh, not the computation abandoned before it', async () => {
    const { c, cached, stored } = wrap(makeStorage(), { timeout: { hard: 500 } })
    const first = capture(cached('k'))
    await tick(500)
    expect(errorOf(await first)).toBeInstanceOf(TimeoutError)
    const refreshed = capture(cached.refresh('k'))
    await tick(500)
    expect(errorOf(await refreshed)).toBeInstanceOf(TimeoutError)

    const later = cached('k')
    await tick(0)
    expect(c.runs).toHaveLength(2)
    await answeredOnlyBy(later, c, 0, 1)
    expect(await stored()).toBe('mine')
  })

  it('a computation whose hard timeout fires after the refresh is not joined by later misses', async () => {
    const { c, cached } = wrap(makeStorage(), { timeout: { hard: 2000 } })
    const first = capture(cached('k'))
    await tick(100)
    await refreshedBy(cached, c, 1)
    await tickTo(2000)
    expect(errorOf(await first)).toBeInstanceOf(TimeoutError)
    // 'new' expired at 1100; the first computation, abandoned at 2000, started before the refresh.
    const later = cached('k')
    await tick(0)
    expect(c.runs).toHaveLength(3)
    await answeredOnlyBy(later, c, 0, 2)
  })

  it('a computation a soft timeout answered before the refresh is not joined after it', async () => {
    const { c, cached, stored } = wrap(makeStorage(), { timeout: { soft: 100 }, staleIfError: 10_000 })
    const first = cached('k')
    await tick(0)
    c.resolve('v1')
    await first
    await tickTo(1500)
    const soft = cached('k')
    await tick(100)
    await expect(soft).resolves.toBe('v1')

    await refreshedBy(cached, c, 2)
    // 'new' is stale at 2600 and in its staleIfError window: a call computes, with 'new' as its fallback.
    await tickTo(3000)
    const later = cached('k')
    await tick(0)
    expect(c.runs).toHaveLength(4)
    await answeredOnlyBy(later, c, 1, 3)
    expect(await stored()).toBe('mine')
  })

  it('50 callers before, during and after a refresh around a hung computation: each group gets what it joined', async () => {
    const { c, cached, stored } = wrap(makeStorage(), { timeout: { hard: 500 } })
    const group = () => Array.from({ length: 50 }, () => capture(cached('k')))
    const before = group()
    await tick(500)
    for (const o of await Promise.all(before)) expect(errorOf(o)).toBeInstanceOf(TimeoutError)
    // Misses after the hard timeout, before the refresh: they wait for the abandoned computation, until their own
    // hard timeout at 1000.
    const abandonedJoiners = group()
    await tick(100)
    const refreshed = capture(cached.refresh('k'))
    const during = group()
    await tickTo(1100)
    for (const o of await Promise.all(abandonedJoiners)) expect(errorOf(o)).toBeInstanceOf(TimeoutError)
    expect(errorOf(await refreshed)).toBeInstanceOf(TimeoutError)
    for (const o of await Promise.all(during)) expect(errorOf(o)).toBeInstanceOf(TimeoutError)
    // The refresh timed out too: both computations hang; calls now join the refresh's.
    const after = group()
    await tick(0)
    expect(c.runs).toHaveLength(2)
    c.runs[0]?.resolve('old')
    await tick(0)
    for (const call of after) expect(await stateOf(call)).toBe('pending')
    expect(await stored()).toBeUndefined()
    c.runs[1]?.resolve('new')
    expect((await Promise.all(after)).map(errorOf)).toEqual(Array(50).fill('new'))
    expect(await stored()).toBe('new')
  })

  it('50 callers waiting on a running computation when the refresh comes keep it; 50 after get the refresh', async () => {
    const { c, cached, stored } = wrap(makeStorage(), {})
    const before = Array.from({ length: 50 }, () => cached('k'))
    await tick(0)
    const refreshed = cached.refresh('k')
    const after = Array.from({ length: 50 }, () => cached('k'))
    await tick(0)
    expect(c.runs).toHaveLength(2)
    c.runs[1]?.resolve('new')
    await expect(refreshed).resolves.toBe('new')
    expect(await Promise.all(after)).toEqual(Array(50).fill('new'))
    c.runs[0]?.resolve('old')
    expect(await Promise.all(before)).toEqual(Array(50).fill('old'))
    expect(await stored()).toBe('new')
  })
})
