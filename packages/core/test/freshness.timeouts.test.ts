// Soft and hard timeouts, from the freshness spec. soft: only with a stale value in the staleIfError window, the
// callers get it after `soft` ms while fn finishes and stores behind. hard: every waiting caller rejects with one
// TimeoutError (or gets stale within staleIfError), the signal aborts with it, the key's slot is freed at once and
// later calls join the abandoned computation, whose late result is stored.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type ErrorReport, memoryStorage, TimeoutError } from '@memokit/core'
import { capture, stateOf, tick, useFakeClock } from './controllable'
import { cachedControllable, storeV1ThenMoveTo } from './freshness-helpers'
import { faultyStorage } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

describe('timeout.soft', () => {
  it('in the staleIfError window: 50 callers get the stale value after soft ms; fn finishes behind and is stored', async () => {
    const storage = memoryStorage()
    const { namespace, c, cached } = cachedControllable(storage, {
      name: 'soft',
      ttl: 1000,
      staleIfError: '1m',
      timeout: { soft: 100, hard: 5000 },
    })
    await storeV1ThenMoveTo(c, cached('k'))
    const calls = Array.from({ length: 50 }, () => cached('k'))
    await tick(99)
    expect(await stateOf(calls[0] as Promise<unknown>)).toBe('pending')
    await tick(1)
    expect(await Promise.all(calls)).toEqual(Array(50).fill('v1'))
    expect(c.runs).toHaveLength(2)
    expect(c.last().settled).toBe(false)

    await tick(200)
    c.resolve('v2')
    await tick(0)
    expect(storage.get(namespace, cached.keyFor('k'))?.value).toBe('v2')
    await expect(cached('k')).resolves.toBe('v2')
    expect(c.runs).toHaveLength(2)
  })

  it('fn answering before soft: the callers get the new value', async () => {
    const storage = memoryStorage()
    const { c, cached } = cachedControllable(storage, {
      name: 'quick',
      ttl: 1000,
      staleIfError: '1m',
      timeout: { soft: 100 },
    })
    await storeV1ThenMoveTo(c, cached())
    const call = cached()
    await tick(50)
    c.resolve('v2')
    await expect(call).resolves.toBe('v2')
  })

  it('without a stale value in hand (a cold key), soft does not apply: the caller waits for fn', async () => {
    const storage = memoryStorage()
    const { c, cached } = cachedControllable(storage, {
      name: 'coldSoft',
      ttl: 1000,
      staleIfError: '1m',
      timeout: { soft: 100 },
    })
    const call = cached()
    await tick(1000)
    expect(await stateOf(call)).toBe('pending')
    c.resolve('v1')
    await expect(call).resolves.toBe('v1')
  })

  it('a call in the swr window never waits for soft: the stale value comes at once', async () => {
    const storage = memoryStorage()
    const { c, cached } = cachedControllable(storage, {
      name: 'swrSoft',
      ttl: 1000,
      swr: '1m',
      staleIfError: '1h',
      timeout: { soft: 100, hard: 1000 },
    })
    await storeV1ThenMoveTo(c, cached())
    const call = cached()
    expect(await stateOf(call)).toBe('resolved')
    await expect(call).resolves.toBe('v1')
  })
})

describe('timeout.hard', () => {
  it.each([
    ['memoryStorage', () => memoryStorage()],
    ['an async storage', () => faultyStorage(true).storage],
  ])(
    'over %s: 50 callers on a cold key all reject with the same TimeoutError after hard ms; fn ran once',
    async (_l, make) => {
      const storage = make()
      const { namespace, c, cached } = cachedControllable(storage, {
        name: 'slowQuote',
        ttl: 1000,
        timeout: { hard: 500 },
      })
      const calls = Array.from({ length: 50 }, () => capture(cached('k')))
      await tick(499)
      expect(c.runs).toHaveLength(1)
      expect(await stateOf(calls[49] as Promise<unknown>)).toBe('pending')
      await tick(1)
      const outcomes = await Promise.all(calls)
      const errors = outcomes.map((o) => (o.ok ? o.value : o.error))
      const error = errors[0] as TimeoutError
      expect(error).toBeInstanceOf(TimeoutError)
      for (const e of errors) expect(e).toBe(error)
      expect(error.code).toBe('E_TIMEOUT')
      expect(error.functionName).toBe('slowQuote')
      expect(error.namespace).toBe(namespace)
      expect(error.timeoutMs).toBe(500)
      expect(error.message).toContain('slowQuote')
      expect(error.message).toContain(namespace)
      expect(error.message).toContain('500 ms')
      expect(c.runs).toHaveLength(1)
    },
  )

  it('aborts the computation\u2019s signal with the TimeoutError as its reason', async () => {
    const storage = memoryStorage()
    const { c, cached } = cachedControllable(storage, { name: 'signalled', timeout: { hard: '2s' } })
    const call = capture(cached())
    const signal = c.last().context?.signal as AbortSignal
    expect(signal).toBeInstanceOf(AbortSignal)
    await tick(1999)
    expect(signal.aborted).toBe(false)
    await tick(1)
    expect(signal.aborted).toBe(true)
    const outcome = await call
    expect(outcome.ok).toBe(false)
    expect(signal.reason).toBeInstanceOf(TimeoutError)
    expect(signal.reason).toBe(outcome.ok ? undefined : outcome.error)
  })

  it('frees the slot at once: a later call joins the running fn and gets its late result, which is stored', async () => {
    const storage = memoryStorage()
    const { namespace, c, cached } = cachedControllable(storage, { name: 'late', ttl: '1h', timeout: { hard: 500 } })
    const first = capture(cached('k'))
    await tick(500)
    expect((await first).ok).toBe(false)

    await tick(100)
    const later = cached('k')
    await tick(0)
    // Not the first flight's rejection: a new wait, on the same computation.
    expect(await stateOf(later)).toBe('pending')
    expect(c.runs).toHaveLength(1)
    c.resolve('late value')
    await expect(later).resolves.toBe('late value')
    expect(storage.get(namespace, cached.keyFor('k'))?.value).toBe('late value')
    await expect(cached('k')).resolves.toBe('late value')
    expect(c.runs).toHaveLength(1)
  })

  it('a late result with no caller waiting any more is stored', async () => {
    const { storage } = faultyStorage(true)
    const { namespace, c, cached } = cachedControllable(storage, {
      name: 'lateAsync',
      ttl: '1h',
      timeout: { hard: 500 },
    })
    const first = capture(cached('k'))
    await tick(500)
    expect((await first).ok).toBe(false)
    await tick(5000)
    c.resolve('late value')
    await tick(0)
    await expect(storage.get(namespace, cached.keyFor('k'))).resolves.toMatchObject({ value: 'late value' })
    await expect(cached('k')).resolves.toBe('late value')
    expect(c.runs).toHaveLength(1)
  })

  it('a hung fn and 100 sequential calls: each call times out, fn runs at most twice (the spec promises once)', async () => {
    const storage = memoryStorage()
    const { c, cached } = cachedControllable(storage, { name: 'hung', ttl: '1h', timeout: { hard: 500 } })
    for (let i = 0; i < 100; i++) {
      const call = capture(cached('k'))
      await tick(500)
      const outcome = await call
      expect(outcome.ok ? outcome.value : outcome.error).toBeInstanceOf(TimeoutError)
    }
    expect(c.runs.length).toBeLessThanOrEqual(2)
    expect(c.runs).toHaveLength(1)
  })

  it('in the staleIfError window: callers get the stale value, onError gets the TimeoutError, errorBackoff applies', async () => {
    const storage = memoryStorage()
    const reports: ErrorReport[] = []
    const { c, cached } = cachedControllable(storage, {
      name: 'hardStale',
      ttl: 1000,
      staleIfError: '1m',
      errorBackoff: '5s',
      timeout: { hard: 300 },
      onError: (r) => reports.push(r),
    })
    await storeV1ThenMoveTo(c, cached())
    const calls = Array.from({ length: 50 }, () => capture(cached()))
    await tick(299)
    expect(await stateOf(calls[0] as Promise<unknown>)).toBe('pending')
    await tick(1)
    expect(await Promise.all(calls)).toEqual(Array(50).fill({ ok: true, value: 'v1' }))
    expect(reports).toHaveLength(1)
    expect(reports[0]?.op).toBe('compute')
    expect(reports[0]?.error).toBeInstanceOf(TimeoutError)
    expect(c.last().context?.signal.reason).toBe(reports[0]?.error)
    // Backoff: stale at once, no new run.
    await tick(1000)
    await expect(cached()).resolves.toBe('v1')
    expect(c.runs).toHaveLength(2)
  })

  it('with soft and hard: callers have the stale value after soft; at hard the signal still aborts', async () => {
    const storage = memoryStorage()
    const { c, cached } = cachedControllable(storage, {
      name: 'softHard',
      ttl: 1000,
      staleIfError: '1m',
      timeout: { soft: 100, hard: 400 },
      onError: () => {},
    })
    await storeV1ThenMoveTo(c, cached())
    const call = cached()
    await tick(100)
    await expect(call).resolves.toBe('v1')
    const signal = c.last().context?.signal as AbortSignal
    expect(signal.aborted).toBe(false)
    await tick(300)
    expect(signal.aborted).toBe(true)
    expect(signal.reason).toBeInstanceOf(TimeoutError)
  })

  it('a hung background refresh: the signal aborts at hard, the old entry stays, and 100 sequential stale hits start at most one more fn run', async () => {
    const storage = memoryStorage()
    const { namespace, c, cached } = cachedControllable(storage, {
      name: 'hungRefresh',
      ttl: 1000,
      swr: '1h',
      timeout: { hard: 500 },
      onError: () => {},
    })
    await storeV1ThenMoveTo(c, cached())
    await expect(cached()).resolves.toBe('v1')
    await tick(0)
    expect(c.runs).toHaveLength(2)
    const signal = c.last().context?.signal as AbortSignal
    await tick(500)
    expect(signal.aborted).toBe(true)
    expect(signal.reason).toBeInstanceOf(TimeoutError)
    expect(storage.get(namespace, cached.keyFor())?.value).toBe('v1')
    for (let i = 0; i < 100; i++) {
      await expect(cached()).resolves.toBe('v1')
      await tick(100)
    }
    // The issue: at most one abandoned computation per key is kept running.
    expect(c.open.length).toBeLessThanOrEqual(2)
    expect(c.runs.length).toBeLessThanOrEqual(3)
  })
})
