import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { cacheValue, memoryStorage } from '@memokit/core'
import fc from 'fast-check'
import { createKeyEncoder } from '../src/keys'
import { argList, objectFrom, reshuffle, tiny } from './key-arbitraries'

/*
 * Calls with structured arguments over a memory storage take a path that never builds the key string (see
 * src/arg-scan.ts). These tests hold it to what the key string decides: a call returns the value stored under its
 * own key, whatever happened to the entries in between.
 */

afterEach(() => {
  jest.useRealTimers()
})

interface Result {
  readonly key: string
  readonly run: number
}

/** A cached function whose every result names the key of the arguments it was computed for. */
function keyReporting(name: string, options: { maxEntries?: number; ttl?: number } = {}) {
  const encode = createKeyEncoder({ functionName: name })
  const storage = memoryStorage({ maxEntries: options.maxEntries ?? 10_000 })
  let runs = 0
  const fn = (...args: unknown[]): Result => ({ key: encode(args), run: ++runs })
  const cached = cacheValue(fn, { storage, name, ttl: options.ttl })
  return { cached, storage, encode, runs: () => runs }
}

/** An object whose property `x` counts its reads; by-value hits read it once, the key encoder once more. */
function counting(x: unknown) {
  const counter = { reads: 0 }
  const o = Object.defineProperty({ a: 1 }, 'x', {
    enumerable: true,
    get() {
      counter.reads++
      return x
    },
  })
  return { o, counter }
}

describe('cacheValue: by-value hits over a memory storage', () => {
  it('fresh equal arguments hit without the key encoder: each property is read once per call', () => {
    const fn = jest.fn((n: number, o: { a: number }) => n + o.a)
    const cached = cacheValue(fn, { storage: memoryStorage(), name: 'reads' })
    const first = counting([1, 2])
    expect(cached(1, first.o)).toBe(2)
    // A miss: one read by the scan, one by the key encoder (and none by fn).
    expect(first.counter.reads).toBe(2)
    const second = counting([1, 2])
    expect(cached(1, second.o)).toBe(2)
    // The first hit goes through the key string once, and is remembered.
    expect(second.counter.reads).toBe(2)
    for (let i = 0; i < 5; i++) {
      const again = counting([1, 2])
      expect(cached(1, again.o)).toBe(2)
      expect(again.counter.reads).toBe(1)
    }
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('equal arguments built in another order hit the same entry', () => {
    const { cached, runs } = keyReporting('order')
    const a = cached(1, 'hello', { a: 1, b: [1, 2], c: { d: null, e: undefined } })
    for (let i = 0; i < 3; i++) {
      expect(cached(1, 'hello', { c: { e: undefined, d: null }, b: [1, 2], a: 1 })).toBe(a)
    }
    expect(cached(1, 'hello', { a: 1, b: [1, 2], c: { d: null } }).key).not.toBe(a.key)
    expect(cached(-0, 'hello', { a: 1, b: [1, 2], c: { d: null } }).key).not.toBe(a.key)
    expect(runs()).toBe(3)
  })

  it('delete, clear, expiry, eviction and writes from outside are seen at once', () => {
    jest.useFakeTimers({ now: 1_000 })
    const { cached, storage, runs } = keyReporting('changes', { maxEntries: 2, ttl: 100 })
    const hit = (o: object) => {
      const first = cached('k', o)
      expect(cached('k', reshuffle(o) as object)).toBe(first)
      return first
    }
    const one = hit({ id: 1, tags: ['a'] })
    expect(runs()).toBe(1)

    expect(cached.delete('k', { id: 1, tags: ['a'] })).toBe(true)
    const two = hit({ id: 1, tags: ['a'] })
    expect(two.run).toBe(2)

    cached.clear()
    const three = hit({ id: 1, tags: ['a'] })
    expect(three.run).toBe(3)

    jest.advanceTimersByTime(100)
    const four = hit({ id: 1, tags: ['a'] })
    expect(four.run).toBe(4)

    // Two other keys evict it; its slot is reused by them.
    hit({ id: 2, tags: ['a'] })
    hit({ id: 3, tags: ['a'] })
    const five = hit({ id: 1, tags: ['a'] })
    expect(five.run).toBe(7)

    const key = cached.keyFor('k', { id: 1, tags: ['a'] })
    const replaced = { key, run: -1 }
    storage.set('default', key, replaced)
    expect(cached('k', { tags: ['a'], id: 1 })).toBe(replaced)
    storage.delete('default', key)
    expect(cached('k', { tags: ['a'], id: 1 }).run).toBe(8)
    expect(one.key).toBe(key)
  })

  it('functions sharing a namespace never see each other’s entries, even for equal arguments', () => {
    const storage = memoryStorage()
    const f = cacheValue((o: { a: number }) => `f${o.a}`, { storage, name: 'f' })
    const g = cacheValue((o: { a: number }) => `g${o.a}`, { storage, name: 'g' })
    const fo = cacheValue((o: { a: number }) => `fo${o.a}`, { storage, name: 'f:o' })
    for (let i = 0; i < 3; i++) {
      expect(f({ a: 1 })).toBe('f1')
      expect(g({ a: 1 })).toBe('g1')
      expect(fo({ a: 1 })).toBe('fo1')
    }
  })

  it('a promise-returning function gets a Promise on by-value hits too', async () => {
    const cached = cacheValue(async (o: { a: number }) => o.a * 2, { storage: memoryStorage(), name: 'promised' })
    for (let i = 0; i < 3; i++) {
      const hit = cached({ a: 2 })
      expect(hit).toBeInstanceOf(Promise)
      await expect(hit).resolves.toBe(4)
    }
  })

  it('a getter that calls the cached function during the call gets correct results, and so does the caller', () => {
    const { cached, encode } = keyReporting('reentrant')
    const arg = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        expect(cached('inner', [1]).key).toBe(encode(['inner', [1]]))
        return 1
      },
    })
    for (let i = 0; i < 4; i++) {
      expect(cached('outer', arg).key).toBe(encode(['outer', { x: 1 }]))
      expect(cached('inner', [1]).key).toBe(encode(['inner', [1]]))
    }
  })

  it('every call returns the value computed for its own key (random calls, deletes, evictions, expiry)', () => {
    const pool = fc.array(fc.oneof(argList, fc.array(tiny, { maxLength: 3 })), { minLength: 1, maxLength: 12 })
    const op = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('call' as const), i: fc.nat(), copy: fc.boolean() }), weight: 12 },
      { arbitrary: fc.record({ kind: fc.constant('delete' as const), i: fc.nat() }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('clear' as const) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 1, max: 60 }) }), weight: 1 },
    )
    let hits = 0
    fc.assert(
      fc.property(pool, fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 6 }), (lists, ops, maxEntries) => {
        jest.useFakeTimers({ now: 1_000 })
        try {
          const { cached, encode } = keyReporting(`random${Math.random()}`, { maxEntries, ttl: 100 })
          const last = new Map<string, Result>()
          for (const o of ops) {
            if (o.kind === 'time') jest.advanceTimersByTime(o.ms)
            else if (o.kind === 'clear') cached.clear()
            else {
              const args = lists[o.i % lists.length] as unknown[]
              if (o.kind === 'delete') cached.delete(...args)
              else {
                const result = cached(...(o.copy ? args.map(reshuffle) : args))
                expect(result.key).toBe(encode(args))
                if (last.get(result.key) === result) hits++
                last.set(result.key, result)
              }
            }
          }
        } finally {
          jest.useRealTimers()
        }
      }),
      { numRuns: 300 },
    )
    expect(hits).toBeGreaterThan(100)
  })

  it('the table of recent hits grows with the number of hot argument lists', () => {
    const { cached, encode } = keyReporting('grows', { maxEntries: 100_000 })
    const hot = 1000
    // Warm up: each list misses once, then is hit many times over.
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < hot; i++) cached(i, { a: 1, x: i })
    }
    let byValue = 0
    for (let i = 0; i < hot; i++) {
      const { o, counter } = counting(i)
      const result = cached(i, o)
      expect(result.key).toBe(encode([i, { a: 1, x: i }]))
      if (counter.reads === 1) byValue++
    }
    // Far more than the first table's 128 places could hold; not all, as two places per hash can overflow, and a
    // round-robin over three lists that share a set misses every time.
    expect(byValue).toBeGreaterThan(hot * 0.5)
  })

  it('a function with more hot argument lists than the table holds stops scanning for a while, then resumes', () => {
    // fn reads nothing of `o`, so the reads counted are the scan's and the key encoder's.
    const cached = cacheValue((n: number, o: { a: number }) => n + o.a, {
      storage: memoryStorage({ maxEntries: 100_000 }),
      name: 'thrash',
    })
    // Round-robin over far more lists than the largest table holds: most scans find nothing.
    const hot = 40_000
    let wrong = 0
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < hot; i++) if (cached(i, { a: 0 }) !== i) wrong++
    }
    expect(wrong).toBe(0)
    // Paused: a miss reads the argument once, for the key encoder only (a scan would read it too).
    const paused = counting('paused')
    expect(cached(-1, paused.o)).toBe(0)
    expect(paused.counter.reads).toBe(1)
    // Scanning resumes after a while.
    let resumedAfter = -1
    for (let call = 0; call < 200_000 && resumedAfter === -1; call++) {
      if (call % 256 !== 0) {
        if (cached(call % hot, { a: 0 }) !== call % hot) wrong++
        continue
      }
      const probe = counting(call)
      cached(-2, probe.o)
      if (probe.counter.reads === 2) resumedAfter = call
    }
    expect(wrong).toBe(0)
    expect(resumedAfter).toBeGreaterThan(1000)
  })

  it('keys that differ only inside long strings or deep values stay apart', () => {
    const { cached, encode } = keyReporting('long')
    const long = (c: string) => `${'x'.repeat(90)}${c}${'y'.repeat(90)}`
    const deep = (n: number) => objectFrom([['a', [[[[{ b: [n] }]]]]]], false)
    for (let round = 0; round < 3; round++) {
      for (const c of ['1', '2', '3']) expect(cached(long(c)).key).toBe(encode([long(c)]))
      for (const n of [1, 2, 3]) expect(cached(deep(n)).key).toBe(encode([deep(n)]))
    }
  })
})
