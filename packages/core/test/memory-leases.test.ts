// The memory storage's leases against a tiny reference model: any interleaving of lease calls, writes, deletes,
// clears and clock steps answers as the model does. Plus the checks of direct calls and the sweep.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { ConfigError, memoryStorage, type Storage } from '@memokit/core'
import fc from 'fast-check'
import { createMemoryLeases } from '../src/memory-leases'

beforeAll(() => {
  jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z'), doNotFake: ['nextTick', 'queueMicrotask'] })
})
afterAll(() => {
  jest.useRealTimers()
})

type Leasing = Storage & Required<Pick<Storage, 'acquireLease' | 'releaseLease' | 'extendLease' | 'setIfLeased'>>
const TOKENS = ['a'.repeat(16), 'b'.repeat(32), `${'a'.repeat(15)}b`] as const

/** The reference: entries and leases in plain maps keyed by namespace and key, both expiring on `Date.now()`. */
class Model {
  private readonly entries = new Map<string, { value: unknown; until: number }>()
  private readonly leases = new Map<string, { token: string; until: number }>()
  private static id = (ns: string, key: string): string => JSON.stringify([ns, key])
  private lease(id: string) {
    const lease = this.leases.get(id)
    return lease !== undefined && lease.until > Date.now() ? lease : undefined
  }
  get(ns: string, key: string): unknown {
    const entry = this.entries.get(Model.id(ns, key))
    return entry !== undefined && entry.until > Date.now() ? entry.value : undefined
  }
  set(ns: string, key: string, value: unknown, ttl?: number): void {
    this.entries.set(Model.id(ns, key), { value, until: ttl === undefined ? Infinity : Date.now() + ttl })
  }
  acquire(ns: string, key: string, token: string, ttl: number): boolean {
    const id = Model.id(ns, key)
    if (this.lease(id) !== undefined) return false
    this.leases.set(id, { token, until: Date.now() + ttl })
    return true
  }
  release(ns: string, key: string, token: string): boolean {
    const id = Model.id(ns, key)
    return this.lease(id)?.token === token && this.leases.delete(id)
  }
  extend(ns: string, key: string, token: string, ttl: number): boolean {
    const lease = this.lease(Model.id(ns, key))
    if (lease?.token !== token) return false
    lease.until = Date.now() + ttl
    return true
  }
  setIfLeased(ns: string, key: string, value: unknown, token: string, ttl?: number): boolean {
    if (!this.release(ns, key, token)) return false
    this.set(ns, key, value, ttl)
    return true
  }
  delete(ns: string, key: string): boolean {
    const id = Model.id(ns, key)
    this.leases.delete(id)
    const live = this.get(ns, key) !== undefined
    this.entries.delete(id)
    return live
  }
  clear(ns: string, prefix = ''): void {
    for (const map of [this.entries, this.leases]) {
      for (const id of map.keys()) {
        const [n, k] = JSON.parse(id) as [string, string]
        if (n === ns && k.startsWith(prefix)) map.delete(id)
      }
    }
  }
}

// Keys the memory storage routes differently (one-number keys go to number tables) and keys that extend others.
const key = fc.constantFrom('f:1', 'f:a', 'f:1:lease', 'g:["x"]')
const ns = fc.constantFrom('n', 'n:')
const token = fc.constantFrom(...TOKENS)
const ttl = fc.integer({ min: 1, max: 3000 })
const op = fc.oneof(
  fc.record({ t: fc.constant('acquire' as const), ns, key, token, ttl }),
  fc.record({ t: fc.constant('release' as const), ns, key, token }),
  fc.record({ t: fc.constant('extend' as const), ns, key, token, ttl }),
  fc.record({
    t: fc.constant('setIfLeased' as const),
    ns,
    key,
    token,
    value: fc.integer(),
    ttl: fc.option(ttl, { nil: undefined }),
  }),
  fc.record({ t: fc.constant('set' as const), ns, key, value: fc.integer(), ttl: fc.option(ttl, { nil: undefined }) }),
  fc.record({ t: fc.constant('get' as const), ns, key }),
  fc.record({ t: fc.constant('delete' as const), ns, key }),
  fc.record({
    t: fc.constant('clear' as const),
    ns,
    prefix: fc.option(fc.constantFrom('', 'f:', 'f:1', 'g'), { nil: undefined }),
  }),
  fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 2000 }) }),
)
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never

/** Runs one op on both; returns what each answered. */
function step(o: Op, s: Leasing, m: Model): [unknown, unknown] {
  switch (o.t) {
    case 'acquire':
      return [s.acquireLease(o.ns, o.key, o.token, o.ttl), m.acquire(o.ns, o.key, o.token, o.ttl)]
    case 'release':
      return [s.releaseLease(o.ns, o.key, o.token), m.release(o.ns, o.key, o.token)]
    case 'extend':
      return [s.extendLease(o.ns, o.key, o.token, o.ttl), m.extend(o.ns, o.key, o.token, o.ttl)]
    case 'setIfLeased':
      return [
        s.setIfLeased(o.ns, o.key, o.value, o.token, { ttl: o.ttl }),
        m.setIfLeased(o.ns, o.key, o.value, o.token, o.ttl),
      ]
    case 'set':
      return [s.set(o.ns, o.key, o.value, { ttl: o.ttl }), m.set(o.ns, o.key, o.value, o.ttl)]
    case 'get':
      return [s.get(o.ns, o.key)?.value, m.get(o.ns, o.key)]
    case 'delete':
      return [s.delete(o.ns, o.key), m.delete(o.ns, o.key)]
    case 'clear':
      return [s.clear(o.ns, o.prefix), m.clear(o.ns, o.prefix)]
    case 'advance':
      jest.advanceTimersByTime(o.ms)
      return [undefined, undefined]
  }
}

describe('memory storage leases', () => {
  it('agree with the reference model under any interleaving of calls, clears and clock steps', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 80 }), (ops) => {
        const s = memoryStorage() as Leasing
        const m = new Model()
        for (const [i, o] of ops.entries()) {
          const [got, want] = step(o, s, m)
          if (got !== want) throw new Error(`op #${i} ${JSON.stringify(o)} answered ${got}, the model ${want}`)
        }
      }),
      { numRuns: 400 },
    )
  })

  it('reject a token outside 16 to 64 characters and a ttl that is not a positive finite number', () => {
    const s = memoryStorage() as Leasing
    const bad: Array<[() => unknown, string]> = [
      [() => s.acquireLease('n', 'k', 'short', 1000), 'token'],
      [() => s.acquireLease('n', 'k', 'x'.repeat(65), 1000), 'token'],
      [() => s.releaseLease('n', 'k', 42 as unknown as string), 'token'],
      [() => s.setIfLeased('n', 'k', 1, ''), 'token'],
      [() => s.acquireLease('n', 'k', TOKENS[0], 0), 'ttl'],
      [() => s.acquireLease('n', 'k', TOKENS[0], Number.NaN), 'ttl'],
      [() => s.extendLease('n', 'k', TOKENS[0], Number.POSITIVE_INFINITY), 'ttl'],
    ]
    for (const [call, option] of bad) {
      let error: unknown
      try {
        call()
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).option).toBe(option)
    }
    expect(s.acquireLease('n', 'k', 'x'.repeat(64), 1000)).toBe(true)
  })

  it('sweep leases nobody released once they expired, so abandoned leases do not pile up', () => {
    const leases = createMemoryLeases('memory')
    for (let i = 0; i < 1000; i++) leases.acquire('n', `k${i}`, TOKENS[0], 10)
    jest.advanceTimersByTime(10)
    for (let i = 0; i < 1000; i++) leases.acquire('m', `k${i}`, TOKENS[1], 10_000)
    expect(leases.count).toBeLessThan(1500)
    expect(leases.count).toBeGreaterThanOrEqual(1000)
    leases.clear('m')
    expect(leases.count).toBeLessThan(500)
  })

  it('leave reads alone: an entry read while its key is leased is the entry as written', () => {
    const s = memoryStorage() as Leasing
    s.set('n', 'f:1', { v: 1 }, { ttl: 5000, meta: { promise: true } })
    const before = s.get('n', 'f:1')
    expect(s.acquireLease('n', 'f:1', TOKENS[0], 1000)).toBe(true)
    expect(s.get('n', 'f:1')).toEqual(before)
    expect(s.get('n', 'f:2')).toBeUndefined()
  })
})
