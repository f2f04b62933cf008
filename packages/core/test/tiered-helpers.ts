// Replicas of a tiered storage in one process: one shared L2 (a real memory storage seen through promises, with
// faults and pauses switched on by the test), one memoryBus, and per replica its own L1 and event log.
import { jest } from '@jest/globals'
import {
  type AsyncStorage,
  createCodec,
  type Entry,
  type MemoryBus,
  memoryBus,
  memoryStorage,
  type SetOptions,
  type TieredEvent,
  type TieredStorage,
  type TieredStorageOptions,
  tieredStorage,
} from '@memokit/core'

export type L2Op = 'get' | 'getMany' | 'set' | 'delete' | 'clear'

/** A shared L2: a memory storage behind promises, counting calls, failing or pausing the ops the test names. */
export interface TestL2 {
  readonly storage: AsyncStorage
  readonly calls: Record<L2Op, number>
  readonly failing: Set<L2Op>
  /** Ops that are applied, then fail as if their reply was lost (a timeout after the server did the work). */
  readonly lost: Set<L2Op>
  /** While set, reads wait until `releaseReads()`; each paused read has already taken its value. */
  pauseReads: boolean
  releaseReads(): void
}

/**
 * `encoded`: values go through core's codec (as in Redis or a file), so a read returns an equal copy, not the
 * object written.
 */
export function testL2(options: { scope?: string; encoded?: boolean } = {}): TestL2 {
  const { scope, encoded = false } = options
  const codec = createCodec()
  const inner = memoryStorage({ maxEntries: Number.POSITIVE_INFINITY })
  const stored = (value: unknown): unknown => (encoded ? codec.encode(value) : value)
  const loaded = (entry: Entry | undefined): Entry | undefined =>
    entry === undefined || !encoded ? entry : { ...entry, value: codec.decode(entry.value as string) }
  const calls: Record<L2Op, number> = { get: 0, getMany: 0, set: 0, delete: 0, clear: 0 }
  const failing = new Set<L2Op>()
  const lost = new Set<L2Op>()
  let waiting: (() => void)[] = []
  const run = async <T>(op: L2Op, body: () => T): Promise<T> => {
    calls[op]++
    await Promise.resolve()
    if (failing.has(op)) throw new Error(`connection lost during ${op}`)
    const result = body()
    if (lost.has(op)) throw new Error(`reply lost after ${op}`)
    return result
  }
  const l2: TestL2 = {
    calls,
    failing,
    lost,
    pauseReads: false,
    releaseReads() {
      const released = waiting
      waiting = []
      for (const go of released) go()
    },
    storage: {
      async: true,
      name: 'test-l2',
      ...(scope === undefined ? {} : { scope }),
      async get(ns: string, key: string): Promise<Entry | undefined> {
        const found = await run('get', () => loaded(inner.get(ns, key)))
        if (l2.pauseReads) await new Promise<void>((resolve) => waiting.push(resolve))
        return found
      },
      async getMany(ns: string, keys: readonly string[]): Promise<(Entry | undefined)[]> {
        const found = await run('getMany', () => keys.map((key) => loaded(inner.get(ns, key))))
        if (l2.pauseReads) await new Promise<void>((resolve) => waiting.push(resolve))
        return found
      },
      set: (ns: string, key: string, value: unknown, o?: SetOptions) =>
        run('set', () => inner.set(ns, key, stored(value), o)),
      add: (ns: string, key: string, value: unknown, o?: SetOptions) =>
        run('set', () => inner.add?.(ns, key, stored(value), o) ?? false),
      delete: (ns: string, key: string) => run('delete', () => inner.delete(ns, key)),
      clear: (ns: string, prefix?: string) => run('clear', () => inner.clear(ns, prefix)),
    },
  }
  return l2
}

export interface Replica {
  readonly tier: TieredStorage
  readonly events: TieredEvent[]
  /** Resolves at the next event matching `match` (one that already happened doesn't count). */
  next(match: (event: TieredEvent) => boolean): Promise<TieredEvent>
}

export interface Cluster {
  readonly bus: MemoryBus
  readonly l2: TestL2
  readonly replicas: Replica[]
  close(): Promise<void>
}

type ReplicaOptions = Omit<TieredStorageOptions, 'l1' | 'l2' | 'bus' | 'onEvent'>

/** `count` replicas on one L2 and one bus; resolves once each is subscribed. */
export async function cluster(
  count: number,
  options: ReplicaOptions = {},
  l2Options: Parameters<typeof testL2>[0] = {},
): Promise<Cluster> {
  const bus = memoryBus()
  const l2 = testL2(l2Options)
  const channel = `test-${Math.random().toString(36).slice(2)}`
  const replicas = Array.from({ length: count }, () => replica({ ...options, l2: l2.storage, bus, channel }))
  await Promise.all(replicas.map((r) => r.tier.ready))
  // One heartbeat round, so every replica has heard every other (a first contact in mid-sequence flushes).
  await advance(parseHeartbeat(options.heartbeat))
  return {
    bus,
    l2,
    replicas,
    close: async () => {
      await Promise.all(replicas.map((r) => r.tier.close()))
    },
  }
}

export function replica(options: Omit<TieredStorageOptions, 'l1' | 'onEvent'>): Replica {
  const events: TieredEvent[] = []
  const waiters: { match: (event: TieredEvent) => boolean; resolve: (event: TieredEvent) => void }[] = []
  const tier = tieredStorage({
    ...options,
    l1: memoryStorage({ maxEntries: 1000 }),
    onEvent(event) {
      events.push(event)
      for (const waiter of [...waiters]) {
        if (!waiter.match(event)) continue
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(event)
      }
    },
  })
  return {
    tier,
    events,
    next: (match) => new Promise((resolve) => waiters.push({ match, resolve })),
  }
}

/** Lets queued microtasks and promise callbacks run (the bus delivers on microtasks). */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

/** The clock the tiers and the memory storages read; intervals (heartbeats) run as it advances. */
export function useFakeClock(): void {
  jest.useFakeTimers({
    now: new Date('2030-01-01T00:00:00Z'),
    doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'],
  })
}

/** Advances the fake clock in heartbeat-sized steps, letting deliveries run between ticks. */
export async function advance(ms: number, step = 250): Promise<void> {
  for (let left = ms; left > 0; left -= step) {
    jest.advanceTimersByTime(Math.min(step, left))
    await settle()
  }
}

const parseHeartbeat = (value: unknown): number =>
  typeof value === 'number' ? value : value === undefined ? 1000 : Number.parseFloat(String(value)) * 1000

export const uniqueNs = (): string => `ns-${Math.random().toString(36).slice(2)}`
