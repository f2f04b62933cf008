// The freshness options, from the spec: validated at wrap time (ConfigError naming the option), per-result ttl
// (false: don't store; negative caching), the timeline written into entry meta with physical expiry =
// staleAt + max(swr, staleIfError), no timeline without swr/staleIfError/refreshAhead, jitter, refreshAhead.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type CacheValueOptions, ConfigError, cacheValue, memoryStorage } from '@memokit/core'
import { controllable, T0, tick, tickTo, useFakeClock } from './controllable'
import { uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

describe('bad freshness options are a ConfigError at wrap time, naming the option', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['swr without ttl', { swr: '1m' }, /^swr$/],
    ['staleIfError without ttl', { staleIfError: '1h' }, /^staleIfError$/],
    ['refreshAhead without ttl', { refreshAhead: 0.8 }, /^refreshAhead$/],
    ['jitter without ttl', { jitter: '10%' }, /^jitter$/],
    ['timeout.soft equal to timeout.hard', { ttl: 1000, timeout: { soft: 500, hard: 500 } }, /^timeout/],
    ['timeout.soft above timeout.hard', { ttl: 1000, timeout: { soft: '2s', hard: '1s' } }, /^timeout/],
    ['jitter 150%', { ttl: 1000, jitter: '150%' }, /^jitter$/],
    ['jitter 0%', { ttl: 1000, jitter: '0%' }, /^jitter$/],
    ['jitter not a duration', { ttl: 1000, jitter: 'lots' }, /^jitter$/],
    ['refreshAhead 1.5', { ttl: 1000, refreshAhead: 1.5 }, /^refreshAhead$/],
    ['refreshAhead 0', { ttl: 1000, refreshAhead: 0 }, /^refreshAhead$/],
    ['refreshAhead 1', { ttl: 1000, refreshAhead: 1 }, /^refreshAhead$/],
    ['refreshAhead not a duration', { ttl: 1000, refreshAhead: 'soon' }, /^refreshAhead$/],
    ['refreshAhead as long as ttl', { ttl: '10s', refreshAhead: '10s' }, /^refreshAhead$/],
    ['refreshAhead longer than ttl', { ttl: 10_000, refreshAhead: '30s' }, /^refreshAhead$/],
    ['an unknown timeout key', { ttl: 1000, timeout: { sfot: 100 } }, /^timeout/],
    ['timeout not an object', { ttl: 1000, timeout: 100 }, /^timeout/],
    ['timeout.hard not a duration', { ttl: 1000, timeout: { hard: '5 seconds' } }, /^timeout/],
    ['swr 0', { ttl: 1000, swr: 0 }, /^swr$/],
    ['staleIfError negative', { ttl: 1000, staleIfError: -5 }, /^staleIfError$/],
    ['errorBackoff not a duration', { ttl: 1000, staleIfError: '1h', errorBackoff: '10 sec' }, /^errorBackoff$/],
    ['random not a function', { ttl: 1000, jitter: '10%', random: 0.5 }, /^random$/],
  ]
  it.each(cases)('%s', (_label, options, option) => {
    const fn = jest.fn(() => 1)
    const storage = memoryStorage()
    let thrown: unknown
    try {
      cacheValue(fn, { storage, name: 'bad', ...options } as CacheValueOptions)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    const error = thrown as ConfigError
    expect(error.code).toBe('E_CONFIG')
    expect(error.option).toMatch(option)
    const named = option.source.replace(/[\^$]/g, '')
    expect(error.message).toContain(named)
    expect(fn).not.toHaveBeenCalled()
    // Before any side effect: the identity was not claimed, so a good wrapper of another function takes the name.
    const good = cacheValue(() => 2, { storage, name: 'bad', ttl: 1000 })
    expect(good()).toBe(2)
  })

  it('an unknown timeout key names itself and the close valid one', () => {
    expect(() => cacheValue(() => 1, { name: 'typo', ttl: 1000, timeout: { sfot: 100 } as never })).toThrow(
      /sfot[\s\S]*soft/,
    )
  })
})

describe('per-result ttl', () => {
  it('ttl: (v) => false does not store that result', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const fn = jest.fn((id: number) => (id < 0 ? null : { id }))
    const cached = cacheValue(fn, { storage, namespace, name: 'maybe', ttl: (v) => (v === null ? false : '1m') })
    expect(cached(-1)).toBeNull()
    expect(cached(-1)).toBeNull()
    expect(fn).toHaveBeenCalledTimes(2)
    expect(storage.get(namespace, cached.keyFor(-1))).toBeUndefined()
    cached(1)
    cached(1)
    expect(fn).toHaveBeenCalledTimes(3)
  })

  it('negative caching: a miss cached for 30 s, a found row for 10 m', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const fn = jest.fn((id: number) => (id === 0 ? null : { id }))
    const cached = cacheValue(fn, {
      storage,
      namespace,
      name: 'user',
      ttl: (user) => (user == null ? '30s' : '10m'),
    })
    cached(0)
    cached(1)
    expect(fn).toHaveBeenCalledTimes(2)
    expect(storage.get(namespace, cached.keyFor(0))?.expiresAt).toBe(T0 + 30_000)
    expect(storage.get(namespace, cached.keyFor(1))?.expiresAt).toBe(T0 + 600_000)
    await tickTo(29_999)
    cached(0)
    expect(fn).toHaveBeenCalledTimes(2)
    await tickTo(30_000)
    cached(0)
    cached(1)
    expect(fn).toHaveBeenCalledTimes(3)
    await tickTo(600_000)
    cached(1)
    expect(fn).toHaveBeenCalledTimes(4)
  })

  it('a per-result ttl sets staleAt per entry on the timeline too', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const cached = cacheValue((id: number) => ({ id }), {
      storage,
      namespace,
      name: 'perResultTimeline',
      ttl: (v) => (v.id === 1 ? 1000 : 2000),
      swr: '1m',
    })
    cached(1)
    cached(2)
    expect(storage.get(namespace, cached.keyFor(1))?.meta?.staleAt).toBe(T0 + 1000)
    expect(storage.get(namespace, cached.keyFor(2))?.meta?.staleAt).toBe(T0 + 2000)
  })
})

describe('the timeline in the entry', () => {
  it('meta carries staleAt, swrUntil, errorUntil, refreshAt (absolute ms); physical expiry = staleAt + max(swr, staleIfError)', () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const cached = cacheValue(() => 'v', {
      storage,
      namespace,
      name: 'timeline',
      ttl: '1s',
      swr: '5s',
      staleIfError: '20s',
      refreshAhead: 0.8,
    })
    cached()
    const entry = storage.get(namespace, cached.keyFor())
    expect(entry?.createdAt).toBe(T0)
    expect(entry?.meta).toMatchObject({
      staleAt: T0 + 1000,
      swrUntil: T0 + 6000,
      errorUntil: T0 + 21_000,
      refreshAt: T0 + 800,
    })
    expect(entry?.expiresAt).toBe(T0 + 21_000)
  })

  it('swr longer than staleIfError: physical expiry follows swr', () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const cached = cacheValue(() => 'v', {
      storage,
      namespace,
      name: 'swrLonger',
      ttl: 1000,
      swr: 9000,
      staleIfError: 3000,
    })
    cached()
    expect(storage.get(namespace, cached.keyFor())?.expiresAt).toBe(T0 + 10_000)
  })

  it('without swr, staleIfError or refreshAhead, the entry carries no timeline and expires at ttl', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const fn = jest.fn(() => 'v')
    const cached = cacheValue(fn, { storage, namespace, name: 'plain', ttl: 1000 })
    cached()
    const entry = storage.get(namespace, cached.keyFor())
    expect(entry?.meta?.staleAt).toBeUndefined()
    expect(entry?.meta?.swrUntil).toBeUndefined()
    expect(entry?.meta?.errorUntil).toBeUndefined()
    expect(entry?.expiresAt).toBe(T0 + 1000)
    await tickTo(999)
    cached()
    expect(fn).toHaveBeenCalledTimes(1)
    await tickTo(1000)
    cached()
    expect(fn).toHaveBeenCalledTimes(2)
  })

  it('over a sync storage, a stale hit is a Promise exactly when the computation was', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const promised = cacheValue((id: number) => Promise.resolve(`p${id}`), {
      storage,
      namespace,
      name: 'promised',
      ttl: 1000,
      swr: '1m',
    })
    const plain = cacheValue((id: number) => `s${id}`, { storage, namespace, name: 'plainValue', ttl: 1000, swr: '1m' })
    await promised(1)
    plain(1)
    expect(storage.get(namespace, promised.keyFor(1))?.meta?.promise).toBe(true)
    await tickTo(1500)
    const a = promised(1)
    expect(a).toBeInstanceOf(Promise)
    await expect(a).resolves.toBe('p1')
    expect(plain(1)).toBe('s1')
  })
})

describe('jitter', () => {
  it("'10%' with an injected random moves staleAt and the physical expiry by random() * 10% of ttl", async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable((run) => `v${run}`)
    const cached = cacheValue(c.fn, {
      storage,
      namespace,
      name: 'jittered',
      ttl: 1000,
      swr: 5000,
      jitter: '10%',
      random: () => 0.5,
    })
    await cached()
    const entry = storage.get(namespace, cached.keyFor())
    expect(entry?.meta?.staleAt).toBe(T0 + 1050)
    expect(entry?.meta?.swrUntil).toBe(T0 + 6050)
    expect(entry?.expiresAt).toBe(T0 + 6050)
    // Behaviour: fresh (no refresh) until staleAt, stale from it.
    await tickTo(1049)
    await cached()
    await tick(0)
    expect(c.runs).toHaveLength(1)
    await tickTo(1050)
    await cached()
    await tick(0)
    expect(c.runs).toHaveLength(2)
  })

  it('a duration jitter: random() * that duration; random 0 leaves staleAt at ttl', () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const draws = [0.25, 0, 0.999]
    const cached = cacheValue((id: number) => id, {
      storage,
      namespace,
      name: 'durationJitter',
      ttl: 1000,
      staleIfError: 1000,
      jitter: '200ms',
      random: () => draws.shift() as number,
    })
    cached(1)
    cached(2)
    cached(3)
    expect(storage.get(namespace, cached.keyFor(1))?.meta?.staleAt).toBe(T0 + 1050)
    expect(storage.get(namespace, cached.keyFor(2))?.meta?.staleAt).toBe(T0 + 1000)
    const third = storage.get(namespace, cached.keyFor(3))?.meta?.staleAt as number
    expect(third).toBeGreaterThan(T0 + 1199)
    expect(third).toBeLessThanOrEqual(T0 + 1200)
  })

  it('without a timeline, the entry expires at ttl + random() * jitter', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const fn = jest.fn(() => 'v')
    const cached = cacheValue(fn, {
      storage,
      namespace,
      name: 'plainJitter',
      ttl: 1000,
      jitter: '10%',
      random: () => 0.5,
    })
    cached()
    expect(storage.get(namespace, cached.keyFor())?.expiresAt).toBe(T0 + 1050)
    await tickTo(1049)
    cached()
    expect(fn).toHaveBeenCalledTimes(1)
    await tickTo(1050)
    cached()
    expect(fn).toHaveBeenCalledTimes(2)
  })
})

describe('refreshAhead', () => {
  it('a fraction of ttl: a fresh hit past it returns at once and 50 callers start one background refresh', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable()
    const cached = cacheValue(c.fn, { storage, namespace, name: 'ahead', ttl: 1000, refreshAhead: 0.8 })
    const first = cached()
    c.resolve('v1')
    await first
    expect(storage.get(namespace, cached.keyFor())?.meta?.refreshAt).toBe(T0 + 800)
    await tickTo(799)
    await cached()
    await tick(0)
    expect(c.runs).toHaveLength(1)

    await tickTo(800)
    const answers = await Promise.all(Array.from({ length: 50 }, () => cached()))
    expect(answers).toEqual(Array(50).fill('v1'))
    await tick(0)
    expect(c.runs).toHaveLength(2)
    expect(c.last().context?.background).toBe(true)
    for (let i = 0; i < 20; i++) {
      await expect(cached()).resolves.toBe('v1')
      await tick(5)
    }
    expect(c.runs).toHaveLength(2)
    c.resolve('v2')
    await tick(0)
    await expect(cached()).resolves.toBe('v2')
    // The refreshed entry has its own refresh point, 80% of ttl after it was written.
    expect(storage.get(namespace, cached.keyFor())?.meta?.staleAt).toBe(Date.now() + 1000)
    expect(storage.get(namespace, cached.keyFor())?.meta?.refreshAt).toBe(Date.now() + 800)
  })

  it('a duration: the refresh starts that long before staleAt', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    const c = controllable((run) => `v${run}`)
    const cached = cacheValue(c.fn, { storage, namespace, name: 'aheadBy', ttl: 1000, refreshAhead: '300ms' })
    await cached()
    expect(storage.get(namespace, cached.keyFor())?.meta?.refreshAt).toBe(T0 + 700)
    await tickTo(699)
    await cached()
    await tick(0)
    expect(c.runs).toHaveLength(1)
    await tickTo(700)
    await expect(cached()).resolves.toBe('v1')
    await tick(0)
    expect(c.runs).toHaveLength(2)
    await expect(cached()).resolves.toBe('v2')
  })

  it('a sync fn over memoryStorage stays sync past the refresh point', async () => {
    const storage = memoryStorage()
    const namespace = uniqueNamespace()
    let n = 0
    const fn = jest.fn(() => `v${++n}`)
    const cached = cacheValue(fn, { storage, namespace, name: 'aheadSync', ttl: 1000, refreshAhead: 0.5 })
    cached()
    await tickTo(600)
    expect(cached()).toBe('v1')
    expect(fn).toHaveBeenCalledTimes(1)
    await tick(0)
    expect(fn).toHaveBeenCalledTimes(2)
    expect(cached()).toBe('v2')
  })
})
