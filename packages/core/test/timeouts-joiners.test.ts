// Calls that arrive while a computation runs on after a soft timeout answered its callers with the stale value.
// The rule: such a call waits for the same computation (no second fn), with its own soft and hard timeouts measured
// from its own arrival, and is served the stale value only while that value is inside its staleIfError window at the
// time it would be served; outside the window it waits for the result (or its own hard timeout), as a miss does.
//
// Timeline of every test: fn's first result 'v1' is written at T0 with ttl 1000 and staleIfError 1000, so it is
// stale from 1000 and usable as a fallback until 2000 (the entry's errorUntil); the second run of fn hangs.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type AnyStorage, memoryStorage, TimeoutError } from '@memokit/core'
import { answeredAtSoftTimeout, capture, primedQuote, stateOf, tick, tickTo, useFakeClock } from './controllable'
import { faultyStorage, uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

const primed = (storage: AnyStorage, timeout: { soft?: number; hard?: number }) =>
  primedQuote(storage, timeout, uniqueNamespace())

describe.each([
  ['memoryStorage', () => memoryStorage()],
  ['an async storage', () => faultyStorage(true).storage],
])('soft timeout, then more calls while fn hangs, over %s', (_label, makeStorage) => {
  it('a call after the window ended is not served the stale value the first caller got: it waits for fn', async () => {
    const { c, cached, stored } = await primed(makeStorage(), { soft: 100 })
    await answeredAtSoftTimeout(cached)

    await tickTo(2500)
    const late = cached('k')
    await tick(5000)
    expect(await stateOf(late)).toBe('pending')
    expect(c.runs).toHaveLength(2)
    c.last().resolve('v2')
    await expect(late).resolves.toBe('v2')
    expect(await stored()).toBe('v2')
  })

  it('a call inside the window waits its own soft timeout, then gets the stale value; no second fn', async () => {
    const { c, cached } = await primed(makeStorage(), { soft: 100 })
    await answeredAtSoftTimeout(cached)

    await tickTo(1700)
    const joiner = cached('k')
    await tick(99)
    expect(await stateOf(joiner)).toBe('pending')
    await tick(1)
    await expect(joiner).resolves.toBe('v1')
    expect(c.runs).toHaveLength(2)
  })

  it('a call whose soft timeout falls past the window waits for fn rather than get the stale value late', async () => {
    const { c, cached } = await primed(makeStorage(), { soft: 100 })
    await answeredAtSoftTimeout(cached)

    await tickTo(1950)
    const joiner = cached('k')
    await tick(3000)
    expect(await stateOf(joiner)).toBe('pending')
    c.last().resolve('v2')
    await expect(joiner).resolves.toBe('v2')
    expect(c.runs).toHaveLength(2)
  })

  it('the computing caller too: its soft timeout falling past the window serves nothing stale', async () => {
    const { c, cached } = await primed(makeStorage(), { soft: 100 })
    await tickTo(1950)
    const call = cached('k')
    await tick(100)
    expect(await stateOf(call)).toBe('pending')
    await tick(3000)
    expect(await stateOf(call)).toBe('pending')
    c.last().resolve('v2')
    await expect(call).resolves.toBe('v2')
  })

  it("with a hard timeout, a late joiner's is measured from its own arrival and it gets a TimeoutError", async () => {
    const { c, cached } = await primed(makeStorage(), { soft: 100, hard: 1000 })
    await answeredAtSoftTimeout(cached)
    const signal = c.last().context?.signal as AbortSignal

    await tickTo(1800)
    const inside = cached('k')
    await tickTo(2100)
    const outside = capture(cached('k'))
    await tick(0)
    await expect(inside).resolves.toBe('v1')
    await tickTo(2500)
    // The computation's own hard timeout: its signal aborts, the joiner waits on.
    expect(signal.aborted).toBe(true)
    await tickTo(3099)
    expect(await stateOf(outside)).toBe('pending')
    await tick(1)
    const outcome = await outside
    expect(outcome.ok ? outcome.value : outcome.error).toBeInstanceOf(TimeoutError)
    expect(c.runs).toHaveLength(2)
  })

  it('50 concurrent callers in each of four groups across the soft timeout and the end of the window', async () => {
    const { c, cached, stored } = await primed(makeStorage(), { soft: 100 })
    const group = (): Promise<unknown>[] => Array.from({ length: 50 }, () => cached('k'))
    await tickTo(1500)
    const computing = group()
    await tickTo(1650)
    const inside = group()
    // The first two groups get the stale value, each after its own soft timeout (1600 and 1750).
    expect(await Promise.all(computing)).toEqual(Array(50).fill('v1'))
    await tickTo(1749)
    expect(await stateOf(inside[49] as Promise<unknown>)).toBe('pending')
    await tick(1)
    expect(await Promise.all(inside)).toEqual(Array(50).fill('v1'))
    await tickTo(1950)
    const closing = group()
    await tickTo(2100)
    const after = group()
    // The last two get nothing stale (soft would fire at 2050, past the window; 2100 is past it): fn's result.
    await tickTo(2200)
    for (const call of [...closing, ...after]) expect(await stateOf(call)).toBe('pending')
    expect(c.runs).toHaveLength(2)
    c.last().resolve('v2')
    expect(await Promise.all([...closing, ...after])).toEqual(Array(100).fill('v2'))
    expect(await stored()).toBe('v2')
    await expect(cached('k')).resolves.toBe('v2')
    expect(c.runs).toHaveLength(2)
  })
})
