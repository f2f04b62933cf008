// Adversarial review of tieredStorage under concurrency: operations of two or three replicas overlap, over an L2
// that applies each operation, and replies to it, whenever the schedule says (a connection pool: a read issued after
// a write may take its answer first; replies come in any order), and a bus whose messages wait in order until
// delivered. Whatever the interleaving, once everything has settled (every L2 operation applied and answered,
// every message delivered), every replica reads exactly what the L2 holds: an L1 never keeps a value the L2 no
// longer has. Messages may be lost, and the bus may go down and up; a heartbeat round at the end reveals the
// last lost message. And after every step, each copy a replica's usable L1 holds is what the L2 holds, unless a
// change of that key is still unknown to the replica (its L2 reply, or its message, has not reached it yet).
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals'
import {
  type AsyncStorage,
  type Bus,
  type Entry,
  memoryBus,
  memoryStorage,
  type TieredStorage,
  tieredStorage,
} from '@memokit/core'
import fc from 'fast-check'
import { settle, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

interface Pending {
  readonly replica: number
  readonly apply: () => unknown
  /** The keys of KEYS this operation changes (set, add, delete, clear), else undefined. */
  readonly changes: ((ns: string) => string[]) | undefined
  readonly ns: string
  applied: boolean
  mutation?: Mutation
  result?: { ok: true; value: unknown } | { ok: false; error: unknown }
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
}

/** A change the L2 applied: unknown to each replica until it has heard of it. */
interface Mutation {
  readonly writer: number
  readonly ns: string
  readonly keys: string[]
  /** The writer's last sequence number once its operation was answered and its message handed to the bus. */
  seq?: number
  /** Replicas that know of it (the writer once answered; the others by its message, or a flush). */
  readonly known: Set<number>
}

const NS = ['a', 'b'] as const
// Few keys, mostly in one namespace: operations on one key overlap often.
const KEYS = ['f:[1]', 'g:[1]'] as const

/** An L2 whose every operation waits for the schedule to apply it to a memory storage, then to answer it. */
function scheduledL2() {
  const inner = memoryStorage({ maxEntries: Number.POSITIVE_INFINITY })
  const pending: Pending[] = []
  const mutations: Mutation[] = []
  const facade = (replica: number): AsyncStorage => {
    const later = <T>(ns: string, apply: () => T, changes?: (ns: string) => string[]): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        pending.push({ replica, ns, apply, changes, applied: false, resolve: resolve as (v: unknown) => void, reject })
      })
    const one = (key: string) => () => [key]
    return {
      async: true,
      name: 'scheduled',
      get: (ns, key) => later(ns, () => inner.get(ns, key) as Entry | undefined),
      getMany: (ns, keys) => later(ns, () => keys.map((key) => inner.get(ns, key) as Entry | undefined)),
      set: (ns, key, value, o) => later(ns, () => inner.set(ns, key, value, o), one(key)),
      add: (ns, key, value, o) => later(ns, () => inner.add?.(ns, key, value, o) ?? false, one(key)),
      delete: (ns, key) => later(ns, () => inner.delete(ns, key), one(key)),
      clear: (ns, prefix) =>
        later(
          ns,
          () => inner.clear(ns, prefix),
          () => KEYS.filter((k) => prefix === undefined || k.startsWith(prefix)),
        ),
    }
  }
  return {
    facade,
    inner,
    pending,
    mutations,
    /** Applies the `i`-th operation not yet applied (mod their number); false when there is none. */
    apply(i: number): boolean {
      const open = pending.filter((p) => !p.applied)
      const p = open[i % Math.max(open.length, 1)]
      if (p === undefined) return false
      p.applied = true
      if (p.changes !== undefined) {
        p.mutation = { writer: p.replica, ns: p.ns, keys: p.changes(p.ns), known: new Set() }
        mutations.push(p.mutation)
      }
      try {
        p.result = { ok: true, value: p.apply() }
      } catch (error) {
        p.result = { ok: false, error }
      }
      return true
    },
    /** Answers the `i`-th applied operation (mod their number); the mutation it made, if any; false when none. */
    answer(i: number): Mutation | boolean {
      const done = pending.filter((p) => p.applied)
      const p = done[i % Math.max(done.length, 1)]
      if (p === undefined) return false
      pending.splice(pending.indexOf(p), 1)
      const r = p.result as NonNullable<Pending['result']>
      if (r.ok) p.resolve(r.value)
      else p.reject(r.error)
      return p.mutation ?? true
    },
  }
}

/**
 * A memoryBus whose messages wait, in publish order, until `deliver()`; each replica has its own view, so the test
 * knows who sent what, and what each replica heard.
 */
function delayedBus() {
  const inner = memoryBus()
  const queue: [string, string][] = []
  const lastSeq = new Map<number, number>()
  const senders = new Map<string, number>()
  /** Per receiver, per sender replica: the highest sequence number heard. */
  const heard = new Map<number, Map<number, number>>()
  const view = (replica: number): Bus => ({
    name: 'delayed',
    publish(channel, payload) {
      const [, sender, seq] = JSON.parse(payload) as [number, string, number]
      senders.set(sender, replica)
      lastSeq.set(replica, seq)
      queue.push([channel, payload])
      return Promise.resolve()
    },
    subscribe: (channel, handlers) =>
      inner.subscribe(channel, {
        state: (state) => handlers.state(state),
        message(payload) {
          const [, sender, seq] = JSON.parse(payload) as [number, string, number]
          const from = senders.get(sender) as number
          const mine = heard.get(replica) ?? new Map<number, number>()
          heard.set(replica, mine)
          mine.set(from, Math.max(seq, mine.get(from) ?? 0))
          handlers.message(payload)
        },
      }),
  })
  return {
    view,
    queue,
    lastSeq,
    heard,
    setState: (state: 'up' | 'down') => inner.setState(state),
    /** Loses the next message (while the bus says it is up). */
    drop: (): boolean => queue.shift() !== undefined,
    deliver(): boolean {
      const next = queue.shift()
      if (next === undefined) return false
      void inner.publish(next[0], next[1])
      return true
    },
  }
}

const step = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constantFrom('get' as const, 'set' as const, 'delete' as const, 'getMany' as const, 'add' as const),
      replica: fc.nat(2),
      ns: fc.constantFrom('a', 'a', 'a', 'b'),
      key: fc.constantFrom(...KEYS),
      value: fc.integer({ min: 0, max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('clear' as const),
      replica: fc.nat(2),
      ns: fc.constantFrom(...NS),
      prefix: fc.constantFrom(undefined, 'f:', 'g:'),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('apply' as const), i: fc.nat(8) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('answer' as const), i: fc.nat(8) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('deliver' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('fault' as const),
      fault: fc.constantFrom('drop' as const, 'down' as const, 'up' as const),
    }),
  },
)

type Step = typeof step extends fc.Arbitrary<infer S> ? S : never

async function run(steps: readonly Step[], replicas: number): Promise<void> {
  const l2 = scheduledL2()
  const transport = delayedBus()
  const l1s = Array.from({ length: replicas }, () => memoryStorage())
  const tiers: TieredStorage[] = l1s.map((l1, r) =>
    tieredStorage({
      l1,
      l2: l2.facade(r),
      bus: transport.view(r),
      channel: 'c',
      onEvent(event) {
        // Every L1 entry written before a flush is gone: each change applied so far is known to this replica.
        if (event.type === 'flush') for (const m of l2.mutations) m.known.add(r)
      },
    }),
  )
  await Promise.all(tiers.map((t) => t.ready))
  const running: Promise<unknown>[] = []
  const start = (work: Promise<unknown>): void => {
    // Failures are not under test here (the L2 never fails); keep them from being unhandled.
    running.push(work.catch(() => {}))
  }
  const answer = async (i: number): Promise<boolean> => {
    const answered = l2.answer(i)
    await settle()
    if (typeof answered === 'object') {
      // Its operation resolved, and handed its message to the bus before that.
      answered.known.add(answered.writer)
      answered.seq = transport.lastSeq.get(answered.writer) ?? 0
    }
    return answered !== false
  }
  // While a replica reads its L1, each copy it holds is what the L2 holds, unless a change of that key applied to
  // the L2 is still unknown to it (its operation not answered yet, or its message not heard yet).
  const check = (when: string): void => {
    for (const [r, tier] of tiers.entries()) {
      for (const m of l2.mutations) {
        const heard = transport.heard.get(r)?.get(m.writer) ?? 0
        if (m.seq !== undefined && heard >= m.seq) m.known.add(r)
      }
      if (!tier.l1Active) continue
      for (const ns of NS) {
        for (const key of KEYS) {
          const held = l1s[r]?.get(ns, key) as Entry | undefined
          if (held === undefined) continue
          const truth = l2.inner.get(ns, key) as Entry | undefined
          if (held.value === truth?.value) continue
          const excused = l2.mutations.some((m) => m.ns === ns && m.keys.includes(key) && !m.known.has(r))
          if (!excused) {
            throw new Error(`${when}: replica ${r}'s L1 holds ${ns}/${key} = ${held.value}, the L2 ${truth?.value}`)
          }
        }
      }
    }
  }
  for (const [n, s] of steps.entries()) {
    if (s.t === 'apply') l2.apply(s.i)
    else if (s.t === 'answer') await answer(s.i)
    else if (s.t === 'deliver') transport.deliver()
    else if (s.t === 'fault') {
      if (s.fault === 'drop') transport.drop()
      else transport.setState(s.fault)
    } else {
      const tier = tiers[s.replica % replicas] as TieredStorage
      if (s.t === 'clear') start(tier.clear(s.ns, s.prefix))
      else if (s.t === 'get') start(tier.get(s.ns, s.key))
      else if (s.t === 'getMany') start(tier.getMany?.(s.ns, [...KEYS]) ?? Promise.resolve())
      else if (s.t === 'set') start(tier.set(s.ns, s.key, s.value))
      else if (s.t === 'add') start(tier.add?.(s.ns, s.key, s.value) ?? Promise.resolve())
      else start(tier.delete(s.ns, s.key))
    }
    await settle()
    check(`after step ${n}`)
  }
  // Everything settles: each L2 operation applied and answered, each message delivered; then one heartbeat round
  // (what reveals a message lost last, as a gap).
  transport.setState('up')
  const drain = async (): Promise<void> => {
    for (;;) {
      await settle()
      if (l2.apply(0) || (await answer(0)) || transport.deliver()) continue
      if (l2.pending.length === 0 && transport.queue.length === 0) break
    }
  }
  await drain()
  await Promise.all(running)
  jest.advanceTimersByTime(1000)
  await drain()
  check('settled')
  for (const [r, tier] of tiers.entries()) {
    for (const ns of NS) {
      for (const key of KEYS) {
        const truth = l2.inner.get(ns, key) as Entry | undefined
        // An L1 hit answers at once; a miss would wait for the L2, which answers here only when asked.
        const read = tier.get(ns, key)
        let answered = false
        void read.then(() => {
          answered = true
        })
        await settle()
        if (!answered) {
          while (l2.apply(0) || (await answer(0))) await settle()
        }
        const got = await read
        if (got?.value !== truth?.value) {
          throw new Error(`replica ${r} reads ${ns}/${key} = ${got?.value}, the L2 holds ${truth?.value}`)
        }
      }
    }
  }
  await Promise.all(tiers.map((t) => t.close()))
}

it('two replicas: once everything settled, every L1 agrees with the L2', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 60 }), (steps) => run(steps, 2)),
    { numRuns: Number(process.env.ADVERSARIAL_RUNS ?? 400) },
  )
})

it('three replicas: once everything settled, every L1 agrees with the L2', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 80 }), (steps) => run(steps, 3)),
    { numRuns: Number(process.env.ADVERSARIAL_RUNS ?? 300) },
  )
})

it('sanity: the schedule really holds the L2 and the bus', async () => {
  const l2 = scheduledL2()
  const transport = delayedBus()
  const a = tieredStorage({ l1: memoryStorage(), l2: l2.facade(0), bus: transport.view(0), channel: 'c' })
  await a.ready
  const writing = a.set('a', 'k', 1)
  await settle()
  expect(l2.pending).toHaveLength(1)
  expect(l2.apply(0)).toBe(true)
  expect(l2.answer(0)).toMatchObject({ writer: 0, keys: ['k'] })
  await writing
  await settle()
  expect(transport.queue.at(-1)?.[1]).toContain(`"k","a","s",["k"]`)
  expect((await a.get('a', 'k'))?.value).toBe(1)
  await a.close()
})
