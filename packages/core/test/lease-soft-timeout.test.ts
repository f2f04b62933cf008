// A replica waiting for another replica's lease (`singleFlight: 'distributed'`) answers its callers with the stale
// value at their soft timeout. The rule, as for a computation a soft timeout answered (timeouts-joiners.test.ts):
// that stale value is served only while it is inside its staleIfError window at that moment, and a call arriving
// on the waiting replica afterwards does not get the answer already given. It waits for the same wait (no second
// poller, no lease try of its own), with soft and hard timeouts counted from its own arrival: it gets what the
// wait ends with (the holder's value; or, when this replica takes the lease over or its waitTimeout passes, the
// result of the fn it then runs, or the lease TimeoutError), else the stale value at its soft timeout while still
// inside the window, else it waits on, as a miss does.
//
// Timeline: replica A's first run stores 'v1' at T0 with ttl 1000 and staleIfError 1000 (usable as a fallback until
// 2000, then gone). A's second run, from 1400, hangs while it holds the key's lease; B's calls wait for it.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, cacheValue, TimeoutError } from '@memokit/core'
import { capture, controllable, stateOf, tick, tickTo, useFakeClock } from './controllable'
import { uniqueNamespace } from './helpers'
import { leaseOf, replicaStorage, type SharedState, sharedState } from './lease-helpers'

beforeEach(() => {
  useFakeClock()
  // No jitter: B polls at fixed times (1000 ms apart once the backoff is at its cap).
  jest.spyOn(Math, 'random').mockReturnValue(0.5)
})
afterEach(() => {
  jest.restoreAllMocks()
  jest.useRealTimers()
})

type Options = { timeout?: { soft?: number; hard?: number }; waitTimeout?: number; onLeaseTimeout?: 'throw' }

/**
 * Replicas A and B over one shared state, with A's 'v1' stored at T0 (with `fn`, a sync one: B's 's1'); `tries`
 * counts B's lease tries, one per poll.
 */
async function twoReplicas(options: Options = {}, fn?: (key: string) => unknown) {
  const state = sharedState()
  const namespace = uniqueNamespace('soft-wait')
  const c = controllable()
  const tries = { b: 0 }
  const shared = replicaStorage(state, 'B')
  const b: AsyncStorage = {
    ...shared,
    acquireLease: (...args: [string, string, string, number]) => {
      tries.b++
      return shared.acquireLease(...args)
    },
  }
  const make = (storage: AsyncStorage) =>
    cacheValue(fn ?? c.fn, {
      storage: storage as ReturnType<typeof replicaStorage>,
      namespace,
      name: 'quote',
      ttl: 1000,
      staleIfError: 1000,
      timeout: { soft: 100 },
      singleFlight: 'distributed',
      waitTimeout: 20_000,
      onError: () => {},
      ...options,
    })
  const replicas = { a: make(replicaStorage(state, 'A')), b: make(b) }
  const first = (fn === undefined ? replicas.a : replicas.b)('k')
  await tick(0)
  if (fn === undefined) c.resolve('v1')
  await expect(first).resolves.toBe(fn === undefined ? 'v1' : 's1')
  const key = replicas.a.keyFor('k')
  const stored = async (): Promise<unknown> => (await state.entries.get(namespace, key))?.value
  return { ...replicas, c, state, namespace, tries, stored, lease: () => leaseOf(state, namespace, key) }
}

/** A computes from 1400 (its run hangs); B's call at 1500 waits and gets the stale 'v1' at 1600. */
async function bAnsweredAtSoftTimeout(r: Awaited<ReturnType<typeof twoReplicas>>): Promise<void> {
  await tickTo(1400)
  void r.a('k')
  await tickTo(1500)
  const waiting = r.b('k')
  await tick(100)
  await expect(waiting).resolves.toBe('v1')
}

/** Takes the lease A holds away, as when A's process died and its lease lapsed. */
const lapse = (state: SharedState) => state.leases.clear()

describe("a distributed waiter's soft timeout, then more calls on its replica", () => {
  it('a call after the window ended is not served the stale value: it waits, with no second poller', async () => {
    const r = await twoReplicas()
    await bAnsweredAtSoftTimeout(r)

    await tickTo(2500)
    const late = r.b('k')
    await tick(0)
    expect(await stateOf(late)).toBe('pending')
    await tickTo(3000)
    const before = r.tries.b
    await tickTo(7000)
    expect(await stateOf(late)).toBe('pending')
    // One poller, 1 s apart by now, tries 4 times in these 4 s; a second one starting at 2500 would add 6 tries.
    expect(r.tries.b - before).toBe(4)
    expect(r.c.runs).toHaveLength(2)
    r.c.last().resolve('v2')
    await tick(1000)
    await expect(late).resolves.toBe('v2')
    expect(r.c.runs).toHaveLength(2)
  })

  it('a call inside the window waits its own soft timeout, then gets the stale value', async () => {
    const r = await twoReplicas()
    await bAnsweredAtSoftTimeout(r)

    await tickTo(1700)
    const joiner = r.b('k')
    await tick(99)
    expect(await stateOf(joiner)).toBe('pending')
    await tick(1)
    await expect(joiner).resolves.toBe('v1')
    expect(r.c.runs).toHaveLength(2)
  })

  it('a call whose soft timeout falls past the window waits for the holder’s value', async () => {
    const r = await twoReplicas()
    await bAnsweredAtSoftTimeout(r)

    await tickTo(1950)
    const joiner = r.b('k')
    await tickTo(5000)
    expect(await stateOf(joiner)).toBe('pending')
    r.c.last().resolve('v2')
    await tick(1000)
    await expect(joiner).resolves.toBe('v2')
  })

  it("the waiter's own soft timeout falling past the window serves nothing stale", async () => {
    const r = await twoReplicas()
    await tickTo(1400)
    void r.a('k')
    await tickTo(1950)
    const call = r.b('k')
    await tick(100)
    expect(await stateOf(call)).toBe('pending')
    await tickTo(5000)
    expect(await stateOf(call)).toBe('pending')
    r.c.last().resolve('v2')
    await tick(1000)
    await expect(call).resolves.toBe('v2')
  })

  it("a joiner's hard timeout is measured from its own arrival (TimeoutError past the window)", async () => {
    const r = await twoReplicas({ timeout: { soft: 100, hard: 1000 } })
    await bAnsweredAtSoftTimeout(r)

    await tickTo(1800)
    const inside = r.b('k')
    await tickTo(2100)
    const outside = capture(r.b('k'))
    await expect(inside).resolves.toBe('v1')
    // A's hard timeout at 2400 released its lease; B took it over at 2898 and runs fn (run 3), which hangs too.
    await tickTo(3099)
    expect(await stateOf(outside)).toBe('pending')
    expect(r.c.runs).toHaveLength(3)
    await tick(1)
    const outcome = await outside
    expect(outcome.ok ? outcome.value : outcome.error).toBeInstanceOf(TimeoutError)
  })
})

describe('the wait ends in a computation on the waiting replica', () => {
  it("B takes over A's lapsed lease: calls that joined its answered wait get B's result, stored once", async () => {
    const r = await twoReplicas()
    await bAnsweredAtSoftTimeout(r)
    await tickTo(1700)
    const inside = r.b('k')
    await tickTo(2500)
    const late = r.b('k')
    lapse(r.state)
    await expect(inside).resolves.toBe('v1')
    // B's next lease try (2898) takes it: fn runs once more, on B.
    await tickTo(2900)
    expect(r.c.runs).toHaveLength(3)
    expect(await stateOf(late)).toBe('pending')
    r.c.last().resolve('v3')
    await expect(late).resolves.toBe('v3')
    expect(await r.stored()).toBe('v3')
    expect(r.lease()).toBeUndefined()
    await expect(r.b('k')).resolves.toBe('v3')
    expect(r.c.runs).toHaveLength(3)
  })

  it("B's computation after the take-over fails: a call past the window gets fn's error", async () => {
    const r = await twoReplicas()
    await bAnsweredAtSoftTimeout(r)
    await tickTo(2500)
    const late = capture(r.b('k'))
    lapse(r.state)
    await tickTo(2900)
    r.c.last().reject(new Error('origin down'))
    const outcome = await late
    expect(outcome.ok ? outcome.value : (outcome.error as Error).message).toBe('origin down')
  })

  it('waitTimeout with a sync fn: a call that joined the answered wait gets the unstored result fn returns', async () => {
    let runs = 0
    const r = await twoReplicas({ waitTimeout: 1000 }, () => `s${++runs}`)
    expect(await r.stored()).toBe('s1')
    // Another replica holds the lease from 1400 and never stores.
    await tickTo(1400)
    r.state.leases.set(`${r.namespace}\u0000${r.a.keyFor('k')}`, {
      token: 'held'.repeat(8),
      expiresAt: Date.now() + 60_000,
    })
    await tickTo(1500)
    const waiting = r.b('k')
    await tick(100)
    await expect(waiting).resolves.toBe('s1')
    await tickTo(2500)
    const late = r.b('k')
    await tick(0)
    expect(await stateOf(late)).toBe('pending')
    // B's waitTimeout (1000 from 1500) is past at its try at 2898: it runs fn here, unstored.
    await tickTo(2900)
    await expect(late).resolves.toBe('s2')
    expect(runs).toBe(2)
    expect(await r.stored()).toBeUndefined()
  })

  it("onLeaseTimeout: 'throw': a call past the window that joined the answered wait gets the lease TimeoutError", async () => {
    const r = await twoReplicas({ waitTimeout: 1000, onLeaseTimeout: 'throw' })
    await bAnsweredAtSoftTimeout(r)
    await tickTo(1700)
    const inside = r.b('k')
    await tickTo(2500)
    const late = capture(r.b('k'))
    await expect(inside).resolves.toBe('v1')
    await tickTo(2900)
    const outcome = await late
    expect(outcome.ok).toBe(false)
    expect((outcome as { error: TimeoutError }).error).toBeInstanceOf(TimeoutError)
    expect((outcome as { error: TimeoutError }).error.lease).toBe(true)
    expect(r.c.runs).toHaveLength(2)
  })
})

describe("onLeaseTimeout: 'throw' for the waiter itself (no soft timeout before its waitTimeout)", () => {
  it('inside the window it gets the stale value, as a failed fn would give it; past the window, the TimeoutError', async () => {
    const r = await twoReplicas({ timeout: { soft: 60_000 }, waitTimeout: 300, onLeaseTimeout: 'throw' })
    await tickTo(1400)
    void r.a('k')
    await tickTo(1500)
    const inside = r.b('k')
    await tickTo(1900)
    await expect(inside).resolves.toBe('v1')
    await tickTo(1800 + 1000)
    const past = capture(r.b('k'))
    await tick(400)
    const outcome = await past
    expect(outcome.ok).toBe(false)
    expect((outcome as { error: TimeoutError }).error.lease).toBe(true)
    expect(r.c.runs).toHaveLength(2)
  })
})

describe('many concurrent callers on two replicas across the end of the window', () => {
  it('50 callers on each replica in each of four groups: stale only inside the window, fn once', async () => {
    const r = await twoReplicas()
    const group = (on: typeof r.a): Promise<unknown>[] => Array.from({ length: 50 }, () => on('k'))
    const both = (): Promise<unknown>[][] => [group(r.a), group(r.b)]
    await tickTo(1450)
    const computingA = group(r.a)
    await tickTo(1500)
    const waitingB = group(r.b)
    await tickTo(1650)
    // A's computing callers got the stale value at 1550, B's waiting ones at 1600.
    expect(await Promise.all([...computingA, ...waitingB])).toEqual(Array(100).fill('v1'))
    const inside = both().flat()
    await tickTo(1749)
    for (const call of inside) expect(await stateOf(call)).toBe('pending')
    await tick(1)
    expect(await Promise.all(inside)).toEqual(Array(100).fill('v1'))
    await tickTo(1950)
    const closing = both().flat()
    await tickTo(2100)
    const after = both().flat()
    // Soft timeouts at 2050 and 2150 fall past the window: nothing stale, on either replica.
    await tickTo(2500)
    for (const call of [...closing, ...after]) expect(await stateOf(call)).toBe('pending')
    expect(r.c.runs).toHaveLength(2)
    r.c.last().resolve('v2')
    // B's next poll (2898) finds it.
    await tick(400)
    expect(await Promise.all([...closing, ...after])).toEqual(Array(200).fill('v2'))
    expect(await r.stored()).toBe('v2')
    await expect(r.b('k')).resolves.toBe('v2')
    expect(r.c.runs).toHaveLength(2)
  })
})
