// How a computation keeps its lease alive while fn runs (lease.ts, hold): extended every lease/3, retried after a
// failure until a whole lease has passed without a successful extension (then it has lapsed on the server: reported
// lost once, nothing stored, released quietly), and one lease-lost per computation however it was lost. Fake clock:
// the lease table's expiry (lease-helpers.ts) and the extension timers run on it.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals'
import { cacheValue, type ErrorReport } from '@memokit/core'
import { uniqueNamespace } from './helpers'
import { leaseOf, replicaStorage, type SharedState, sharedState } from './lease-helpers'

const events: string[] = []
const onEvent = (message: unknown) => {
  events.push((message as { type: string }).type)
}
subscribe('memokit:event', onEvent)
afterEach(() => {
  events.length = 0
  jest.useRealTimers()
})
afterAll(() => {
  unsubscribe('memokit:event', onEvent)
})
const seen = (type: string) => events.filter((e) => e === type).length

const LEASE_MS = 300
const EVERY_MS = LEASE_MS / 3
const FN_MS = 5_000

/** Two replicas over `state`, fn taking FN_MS; `reports` collects what replica A reported. */
function setup(state: SharedState) {
  const namespace = uniqueNamespace('lease-ext')
  const reports: ErrorReport[] = []
  let runs = 0
  const fn = async (id: number) => {
    const run = ++runs
    await new Promise((resolve) => setTimeout(resolve, FN_MS))
    return { id, run }
  }
  const options = { namespace, name: 'load', ttl: '1m', singleFlight: 'distributed', lease: LEASE_MS } as const
  const a = cacheValue(fn, { ...options, storage: replicaStorage(state, 'a'), onError: (r) => reports.push(r) })
  const b = cacheValue(fn, { ...options, storage: replicaStorage(state, 'b') })
  const stored = () => state.entries.get(namespace, a.keyFor(1))
  return { namespace, a, b, reports, stored, runs: () => runs }
}

const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms)

describe('lease extension while fn runs', () => {
  it('stops after a whole lease of failed extensions: lost once, not stored, released; the caller gets its value', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const state = sharedState()
    const { namespace, a, reports, stored } = setup(state)
    const call = a(1)
    await advance(0)
    expect(leaseOf(state, namespace, a.keyFor(1))).toBeDefined()
    // An outage, or a storage closed under a running computation: every extension fails from now on.
    state.failing.add('extendLease')
    await advance(FN_MS)
    expect(await call).toEqual({ id: 1, run: 1 })
    // Tried at lease/3, 2/3 and a whole lease after it was taken, then given up: not once every lease/3 for the
    // 5 s fn runs (50 attempts, each reported).
    expect(state.calls.extendLease).toBe(LEASE_MS / EVERY_MS)
    expect(reports.filter((r) => r.op === 'extendLease')).toHaveLength(LEASE_MS / EVERY_MS)
    expect(seen('lease-lost')).toBe(1)
    expect(state.calls.setIfLeased).toBe(0)
    expect(stored()).toBeUndefined()
    // Released in case a failed extension was applied after all (its reply lost).
    expect(state.calls.releaseLease).toBe(1)
  })

  it('keeps the lease through a failed extension that a good one follows: stored through it', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const state = sharedState()
    const { a, stored, runs } = setup(state)
    const call = a(1)
    await advance(0)
    state.failing.add('extendLease')
    await advance(EVERY_MS)
    expect(state.calls.extendLease).toBe(1)
    state.failing.delete('extendLease')
    await advance(FN_MS)
    expect(await call).toEqual({ id: 1, run: 1 })
    expect(state.calls.extendLease).toBeGreaterThan(FN_MS / EVERY_MS - 2)
    expect(seen('lease-lost')).toBe(0)
    expect(state.calls.setIfLeased).toBe(1)
    expect(stored()).toBeDefined()
    expect(await a(1)).toEqual({ id: 1, run: 1 })
    expect(runs()).toBe(1)
  })

  it('reports a lease that an invalidation took while fn ran as lost once, and stores nothing', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const state = sharedState()
    const { a, b, stored } = setup(state)
    const call = a(1)
    await advance(EVERY_MS / 2)
    await b.delete(1)
    await advance(FN_MS)
    expect(await call).toEqual({ id: 1, run: 1 })
    // The next extension was refused; the write after fn did not report the loss again.
    expect(state.calls.extendLease).toBe(1)
    expect(seen('lease-lost')).toBe(1)
    expect(state.calls.setIfLeased).toBe(0)
    expect(stored()).toBeUndefined()
  })
})
