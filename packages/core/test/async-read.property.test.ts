// Differential: over an async storage, cacheValue reads and serves in one promise (flow.ts readAndServe) unless
// something traces the storage, when it takes the plain path (readAsync, then afterRead through a deferred flight).
// The same random sequence of concurrent calls, deletes, clock steps and storage faults runs twice, once with a
// no-op `memokit:storage` subscriber (plain path) and once without (fast path); every call's outcome, every
// report, `fn`'s runs and what the storage holds at the end must agree. `fn` numbers its runs, so a fast hit
// where the plain path recomputes (or the reverse) shows as a different value.
import diagnostics from 'node:diagnostics_channel'
import { afterEach, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, CHANNELS, CodecError, cacheValue, type Entry, type SetOptions } from '@memokit/core'
import fc from 'fast-check'
import { claimIdentity } from '../src/identity'

type Fault = 'ok' | 'reject' | 'throw' | 'corrupt' | 'slow'
type Op =
  | { kind: 'calls'; args: number[] }
  | { kind: 'delete'; arg: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'foreign'; arg: number; staleIn: number | undefined }

interface Settings {
  ttl: number | undefined
  swr: number | undefined
  staleIfError: number | undefined
  refreshAhead: number | undefined
  failOpen: boolean
  breaker: boolean
  // The storage has core's read-and-continue member (store.ts GET_THEN), as the Redis storage has.
  getThen: boolean
}

const arg = fc.constantFrom(1, 2)
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('calls' as const), args: fc.array(arg, { minLength: 1, maxLength: 3 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), arg }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 3000 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('foreign' as const),
      arg,
      staleIn: fc.option(fc.integer({ min: -500, max: 2000 }), { nil: undefined }),
    }),
  },
)
const settings: fc.Arbitrary<Settings> = fc.record({
  ttl: fc.option(fc.constantFrom(500, 2000), { nil: undefined }),
  swr: fc.option(fc.constantFrom(1000, 4000), { nil: undefined }),
  staleIfError: fc.option(fc.constantFrom(1000, 4000), { nil: undefined }),
  refreshAhead: fc.option(fc.constantFrom(0.5, 0.9), { nil: undefined }),
  failOpen: fc.boolean(),
  breaker: fc.boolean(),
  getThen: fc.boolean(),
})
// Mostly good reads, so entries live long enough to be hit.
const fault = fc.constantFrom<Fault>('ok', 'ok', 'ok', 'ok', 'ok', 'slow', 'reject', 'throw', 'corrupt')

const T0 = 1_700_000_000_000
// Node 20's types don't declare tracingChannel yet (as in observe.test.ts).
type Handlers = Record<'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error', () => void>
const dc = diagnostics as unknown as {
  tracingChannel(name: string): { subscribe(h: Handlers): void; unsubscribe(h: Handlers): void }
}

/** An async storage over a Map; its n-th `get` does what `faults[n % faults.length]` says. */
function faultyStorage(faults: readonly Fault[], getThen: boolean) {
  const entries = new Map<string, Entry>()
  let reads = 0
  const live = (k: string): Entry | undefined => {
    const e = entries.get(k)
    return e !== undefined && (e.expiresAt === undefined || e.expiresAt > Date.now()) ? e : undefined
  }
  const storage: AsyncStorage = {
    async: true,
    name: 'faulty',
    get(namespace, key) {
      const f = faults[reads++ % faults.length]
      if (f === 'throw') throw new Error('get threw')
      if (f === 'reject') return Promise.reject(new Error('get rejected'))
      if (f === 'corrupt') return Promise.reject(new CodecError('corrupt payload'))
      const found = live(`${namespace}\0${key}`)
      const copy = found === undefined ? undefined : { ...found }
      // A reply a few ticks late: calls started together meet while it is on its way.
      return f === 'slow' ? Promise.resolve().then(() => Promise.resolve(copy)) : Promise.resolve(copy)
    },
    set(namespace, key, value, options?: SetOptions) {
      const createdAt = Date.now()
      const expiresAt = options?.ttl === undefined ? undefined : createdAt + options.ttl
      entries.set(`${namespace}\0${key}`, { value, createdAt, expiresAt, meta: options?.meta })
      return Promise.resolve()
    },
    delete(namespace, key) {
      const k = `${namespace}\0${key}`
      const had = live(k) !== undefined
      entries.delete(k)
      return Promise.resolve(had)
    },
    clear(namespace) {
      for (const k of [...entries.keys()]) if (k.startsWith(`${namespace}\0`)) entries.delete(k)
      return Promise.resolve()
    },
  }
  if (getThen) {
    // Its own promise, settled by the callbacks, as Connection.read does (not a `then` on get's promise).
    const withThen = storage as AsyncStorage & Record<symbol, unknown>
    withThen[Symbol.for('memokit.getThen')] = (
      namespace: string,
      key: string,
      onEntry: (entry: Entry | undefined) => unknown,
      onError: (error: unknown) => unknown,
    ): Promise<unknown> => {
      const read = storage.get(namespace, key)
      return new Promise((resolve, reject) => {
        const settle = (f: () => unknown) => {
          try {
            resolve(f())
          } catch (error) {
            reject(error)
          }
        }
        read.then(
          (entry) => settle(() => onEntry(entry)),
          (error: unknown) => settle(() => onError(error)),
        )
      })
    }
  }
  return { storage, entries }
}

const describeOutcome = (r: PromiseSettledResult<unknown>): string =>
  r.status === 'fulfilled' ? `ok:${String(r.value)}` : `err:${(r.reason as Error).name}:${(r.reason as Error).message}`

let namespaces = 0

async function play(ops: readonly Op[], s: Settings, faults: readonly Fault[], plain: boolean): Promise<unknown> {
  jest.useFakeTimers({ now: T0 })
  // tracingChannel subscribes only the handlers given: with none, nobody would listen.
  const noop = () => {}
  const handlers: Handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop }
  const channel = dc.tracingChannel(CHANNELS.storage)
  if (plain) channel.subscribe(handlers)
  try {
    const { storage, entries } = faultyStorage(faults, s.getThen)
    const reports: string[] = []
    let runs = 0
    // Numbered per argument: the two paths may start the computations of different keys in another order.
    const runsOf = new Map<number, number>()
    const fn = async (x: number): Promise<string> => {
      runs++
      const n = runsOf.get(x) ?? 0
      runsOf.set(x, n + 1)
      // Every third run of a key fails: stale-if-error and error outcomes happen.
      if (n % 3 === 2) throw new Error(`fn failed ${x}:${n}`)
      return `${x}:${n}`
    }
    const namespace = `async-read-${namespaces++}`
    const ttl = s.ttl
    const cached = cacheValue(fn, {
      storage,
      namespace,
      name: 'f',
      ttl,
      swr: ttl === undefined ? undefined : s.swr,
      staleIfError: ttl === undefined ? undefined : s.staleIfError,
      refreshAhead: ttl === undefined ? undefined : s.refreshAhead,
      failOpen: s.failOpen,
      circuitBreaker: s.breaker ? { failures: 2, cooldownMs: 400 } : false,
      onError: (r) => reports.push(`${r.op}:${r.error.name}`),
      random: () => 0.5,
    })
    const out: string[] = []
    for (const o of ops) {
      if (o.kind === 'calls') {
        const settled = await Promise.allSettled(o.args.map((a) => cached(a)))
        out.push(settled.map(describeOutcome).join(' '))
      } else if (o.kind === 'delete') {
        out.push(
          describeOutcome((await Promise.allSettled([cached.delete(o.arg)]))[0] as PromiseSettledResult<unknown>),
        )
      } else if (o.kind === 'advance') {
        await jest.advanceTimersByTimeAsync(o.ms)
      } else {
        // Another process wrote this entry, maybe with a timeline that makes it stale or due for a refresh.
        const now = Date.now()
        const meta =
          o.staleIn === undefined
            ? { promise: true }
            : { promise: true, staleAt: now + o.staleIn, swrUntil: now + 5000 }
        await storage.set(namespace, cached.keyFor(o.arg), `foreign:${o.arg}`, { meta })
      }
      // Background refreshes (setImmediate) and their writes land before the next step.
      await jest.advanceTimersByTimeAsync(0)
    }
    const held = [...entries].map(([k, e]) => `${k.slice(namespace.length)}=${String(e.value)}@${e.createdAt}`).sort()
    return { out, reports, runs, held }
  } finally {
    if (plain) channel.unsubscribe(handlers)
    jest.useRealTimers()
  }
}

afterEach(() => {
  jest.useRealTimers()
})

it('async storage: the one-promise read path serves what readAsync + afterRead serve', async () => {
  let hits = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(op, { minLength: 1, maxLength: 25 }),
      settings,
      fc.array(fault, { minLength: 1, maxLength: 12 }),
      async (ops, s, faults) => {
        const plain = await play(ops, s, faults, true)
        const fast = await play(ops, s, faults, false)
        expect(fast).toEqual(plain)
        // Calls answered without running fn: the hit path was exercised, not only misses.
        const { out, runs } = fast as { out: string[]; runs: number }
        const calls = ops.flatMap((o) => (o.kind === 'calls' ? o.args : [])).length
        if (calls > runs) hits += calls - runs
        expect(out).toHaveLength(ops.filter((o) => o.kind === 'calls' || o.kind === 'delete').length)
      },
    ),
    { numRuns: 300 },
  )
  expect(hits).toBeGreaterThan(300)
})

it('async storage: hits on many keys leave pending bounded, and concurrent misses still share one run', async () => {
  const { storage } = faultyStorage(['ok'], true)
  let runs = 0
  const fn = async (x: number): Promise<string> => `${x}:${runs++}`
  const namespace = `async-read-sweep-${namespaces++}`
  const cached = cacheValue(fn, { storage, namespace, name: 'f' })
  const pending = claimIdentity(storage, namespace, 'f', fn, false).pending
  for (let x = 0; x < 2048; x++) await cached(x)
  expect(runs).toBe(2048)
  // Hits in bursts of 64 in flight, as bench R1 makes them: each key's flight is vacated, and swept in batches.
  for (let round = 0; round < 5; round++) {
    for (let base = 0; base < 2048; base += 64) {
      const burst = Array.from({ length: 64 }, (_, j) => cached(base + j))
      expect(pending.size).toBeGreaterThan(0)
      const values = await Promise.all(burst)
      expect(values).toEqual(Array.from({ length: 64 }, (_, j) => `${base + j}:${base + j}`))
      expect(pending.size).toBeLessThanOrEqual(2 * 256 + 64)
    }
  }
  expect(runs).toBe(2048)
  // A vacated key is absent to every reader: two concurrent misses of a new key run fn once, and a delete works.
  const [a, b] = await Promise.all([cached(5000), cached(5000)])
  expect(a).toBe('5000:2048')
  expect(b).toBe(a)
  expect(await cached.delete(7)).toBe(true)
  expect(await cached(7)).toBe('7:2049')
  expect([...pending.values()].every((f) => f === undefined || !f.settled)).toBe(true)
})
