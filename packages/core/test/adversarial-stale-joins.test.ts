// Adversarial review: timeouts, AbortSignal and serving stale when calls join a computation (docs/serving-stale.md).
// Timeline as in timeouts-joiners.test.ts: 'v1' written at T0 with ttl 1000 and staleIfError 1000 (usable as a
// fallback from 1000 until 2000); the second run of fn hangs until the test settles it.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type AnyStorage, memoryStorage, TimeoutError } from '@memokit/core'
import { answeredAtSoftTimeout, primedQuote, stateOf, tick, tickTo, useFakeClock } from './controllable'
import { faultyStorage, uniqueNamespace } from './helpers'

interface EventSeen {
  type: string
  namespace?: string
}
const events: EventSeen[] = []
const onEvent = (message: unknown): void => {
  events.push(message as EventSeen)
}

beforeEach(() => {
  useFakeClock()
  events.length = 0
  subscribe('memokit:event', onEvent)
})
afterEach(() => {
  unsubscribe('memokit:event', onEvent)
  jest.useRealTimers()
})

async function primed(storage: AnyStorage, timeout: { soft?: number; hard?: number }) {
  const namespace = uniqueNamespace()
  const seen = (type: string): number => events.filter((e) => e.type === type && e.namespace === namespace).length
  return { ...(await primedQuote(storage, timeout, namespace)), seen }
}

describe.each([
  ['memoryStorage', () => memoryStorage()],
  ['an async storage', () => faultyStorage(true).storage],
])('calls joining a computation a soft timeout answered, over %s', (_label, makeStorage) => {
  it("a later call's soft timeout counts from its own arrival, not from the joiner's it shares", async () => {
    const { c, cached } = await primed(makeStorage(), { soft: 100 })
    await answeredAtSoftTimeout(cached)
    await tickTo(1700)
    const b = cached('k') // joins the running computation; its soft timeout is at 1800
    await tickTo(1750)
    const later = cached('k') // arrives 50 ms later: its own soft timeout is at 1850
    await tickTo(1800)
    await expect(b).resolves.toBe('v1')
    await tickTo(1820)
    // The computation lands before this call's own soft timeout: it must get the result, not the stale value.
    c.last().resolve('v2')
    await expect(later).resolves.toBe('v2')
    expect(c.runs).toHaveLength(2)
  })

  it('one failure of fn after several calls were served stale is reported once', async () => {
    const { c, cached, reports, seen } = await primed(makeStorage(), { soft: 100 })
    await answeredAtSoftTimeout(cached)
    await tickTo(1650)
    const b = cached('k')
    await tickTo(1700)
    const d = cached('k')
    await tickTo(1850)
    await expect(b).resolves.toBe('v1')
    await expect(d).resolves.toBe('v1')
    c.last().reject(new Error('db down'))
    await tick(0)
    expect(reports.filter((r) => r.op === 'compute')).toHaveLength(1)
    expect(seen('stale-if-error')).toBe(1)
    expect(c.runs).toHaveLength(2)
  })

  it('one failure while two calls still wait: both get the stale value, reported once', async () => {
    const { c, cached, reports, seen } = await primed(makeStorage(), { soft: 500 })
    await tickTo(1100)
    const a = cached('k') // soft at 1600
    await tickTo(1200)
    const b = cached('k') // joins a (before any answer): shares its timeouts
    await tickTo(1300)
    c.last().reject(new Error('db down'))
    await expect(a).resolves.toBe('v1')
    await expect(b).resolves.toBe('v1')
    expect(reports.filter((r) => r.op === 'compute')).toHaveLength(1)
    expect(seen('stale-if-error')).toBe(1)
  })

  it('one computation landing after its callers and a joiner were answered is one late-result', async () => {
    const { c, cached, seen } = await primed(makeStorage(), { soft: 100 })
    await answeredAtSoftTimeout(cached)
    await tickTo(1650)
    const b = cached('k')
    await tickTo(1750)
    await expect(b).resolves.toBe('v1')
    c.last().resolve('v2')
    await tick(0)
    expect(seen('late-result')).toBe(1)
  })

  it('a delete while a joined computation runs on aborts its signal; the next call runs fn afresh', async () => {
    const { c, cached } = await primed(makeStorage(), { soft: 100, hard: 5000 })
    await answeredAtSoftTimeout(cached)
    const signal = c.last().context?.signal as AbortSignal
    await tickTo(1650)
    const b = cached('k')
    await tick(0) // its read is done: it joined the running computation
    await cached.delete('k')
    expect(signal.aborted).toBe(true)
    const fresh = cached('k')
    await tick(0)
    expect(c.runs).toHaveLength(3)
    c.runs[2]?.resolve('v3')
    await expect(fresh).resolves.toBe('v3')
    c.runs[1]?.resolve('v2')
    await expect(b).resolves.toBe('v2')
    await expect(cached('k')).resolves.toBe('v3')
  })

  it("a joiner's hard timeout frees it with a TimeoutError when the window is over; fn's signal was aborted", async () => {
    const { c, cached, reports } = await primed(makeStorage(), { soft: 100, hard: 300 })
    await answeredAtSoftTimeout(cached)
    const signal = c.last().context?.signal as AbortSignal
    await tickTo(1950)
    const late = cached('k') // soft at 2050 (past the window), hard at 2250
    await tickTo(2249)
    expect(signal.aborted).toBe(true) // the computation's own hard timeout, at 1800
    expect(await stateOf(late)).toBe('pending')
    await tick(1)
    await expect(late).rejects.toBeInstanceOf(TimeoutError)
    expect(reports.filter((r) => r.op === 'compute')).toHaveLength(0)
    expect(c.runs).toHaveLength(2)
  })
})
