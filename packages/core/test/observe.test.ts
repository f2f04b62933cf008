// Telemetry on node:diagnostics_channel: one outcome per call, a compute trace per run of fn, storage traces and
// events, keys hidden unless asked for, and .stats().
import diagnostics from 'node:diagnostics_channel'
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import {
  type AsyncStorage,
  type CallMessage,
  type CallOutcome,
  CHANNELS,
  type ComputeMessage,
  cacheValue,
  type EventMessage,
  memoryStorage,
  type StorageMessage,
  UsageError,
} from '@memokit/core'
import { faultyStorage, uniqueNamespace } from './helpers'

type Handlers<C> = Partial<Record<'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error', (message: C) => void>>
const dc = diagnostics as unknown as {
  tracingChannel(name: string): { subscribe(h: Handlers<unknown>): void; unsubscribe(h: Handlers<unknown>): void }
}

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
  jest.useRealTimers()
})

/** Collects the outcome of every finished call (at `end` for sync results, `asyncEnd` for Promises). */
function recordCalls(): { outcomes: CallOutcome[]; messages: CallMessage[]; starts: number } {
  const record = { outcomes: [] as CallOutcome[], messages: [] as CallMessage[], starts: 0 }
  const handlers: Handlers<CallMessage> = {
    start: () => {
      record.starts++
    },
    end: (m) => {
      // A Promise result settles later: its outcome is final at asyncEnd.
      if (m.async === true) return
      record.outcomes.push(m.outcome as CallOutcome)
      record.messages.push(m)
    },
    asyncEnd: (m) => {
      record.outcomes.push(m.outcome as CallOutcome)
      record.messages.push(m)
    },
  }
  const channel = dc.tracingChannel(CHANNELS.call)
  channel.subscribe(handlers as Handlers<unknown>)
  cleanups.push(() => channel.unsubscribe(handlers as Handlers<unknown>))
  return record
}

function recordComputes(): ComputeMessage[] {
  const starts: ComputeMessage[] = []
  const handlers: Handlers<ComputeMessage> = { start: (m) => starts.push(m) }
  const channel = dc.tracingChannel(CHANNELS.compute)
  channel.subscribe(handlers as Handlers<unknown>)
  cleanups.push(() => channel.unsubscribe(handlers as Handlers<unknown>))
  return starts
}

const count = (outcomes: CallOutcome[]): Record<string, number> =>
  outcomes.reduce<Record<string, number>>((acc, o) => {
    acc[o] = (acc[o] ?? 0) + 1
    return acc
  }, {})

describe('memokit:call', () => {
  it('50 concurrent calls on a cold key: 1 miss, 49 joined, and exactly one memokit:compute start', async () => {
    const calls = recordCalls()
    const computes = recordComputes()
    const namespace = uniqueNamespace()
    let release: (v: number) => void = () => {}
    const slow = cacheValue((_id: number) => new Promise<number>((resolve) => (release = resolve)), {
      storage: memoryStorage(),
      namespace,
      name: 'slow',
    })
    const all = Array.from({ length: 50 }, () => slow(1))
    release(7)
    expect(await Promise.all(all)).toEqual(Array(50).fill(7))
    expect(count(calls.outcomes)).toEqual({ miss: 1, joined: 49 })
    expect(computes).toHaveLength(1)
    expect(computes[0]).toMatchObject({ namespace, functionName: 'slow', reason: 'miss', background: false })
  })

  it('over an async storage too, and a later call is a hit', async () => {
    const calls = recordCalls()
    const { storage } = faultyStorage(true)
    const cached = cacheValue(async (n: number) => n * 2, { storage, namespace: uniqueNamespace(), name: 'double' })
    await Promise.all(Array.from({ length: 50 }, () => cached(3)))
    await cached(3)
    expect(count(calls.outcomes)).toEqual({ miss: 1, joined: 49, hit: 1 })
    expect(calls.messages[0]).toMatchObject({ functionName: 'double', storage: 'faulty-async', tier: 'remote' })
  })

  it('sync hits over memory are observed (the fast paths step aside), with tier local', () => {
    const calls = recordCalls()
    const cached = cacheValue((n: number) => n + 1, {
      storage: memoryStorage(),
      namespace: uniqueNamespace(),
      name: 'inc',
    })
    expect(cached(1)).toBe(2)
    expect(cached(1)).toBe(2)
    expect(cached({ a: 1 } as unknown as number)).toBe('[object Object]1')
    expect(calls.outcomes).toEqual(['miss', 'hit', 'miss'])
    expect(calls.messages[1]?.tier).toBe('local')
  })

  it('names stale, stale-if-error, refreshed and error outcomes', async () => {
    jest.useFakeTimers({ now: 10_000 })
    const calls = recordCalls()
    let fail = false
    const cached = cacheValue(
      (n: number) => {
        if (fail) throw new Error('down')
        return n
      },
      {
        storage: memoryStorage(),
        namespace: uniqueNamespace(),
        name: 'timeline',
        ttl: 1_000,
        swr: 1_000,
        staleIfError: 10_000,
        onError: () => {},
      },
    )
    cached(1) // miss
    jest.setSystemTime(11_500)
    cached(1) // stale (swr window), refresh behind
    await jest.advanceTimersByTimeAsync(0)
    jest.setSystemTime(14_000)
    fail = true
    cached(1) // past swr, in staleIfError: fn fails, stale served
    expect(() => cached.refresh(2)).toThrow('down') // refreshed, but fn fails with no fallback: error
    expect(() => cached(3)).toThrow('down')
    expect(calls.outcomes).toEqual(['miss', 'stale', 'stale-if-error', 'error', 'error'])
  })

  it('keeps keys out of messages unless asked: digest or raw', async () => {
    const calls = recordCalls()
    const storage = memoryStorage()
    cacheValue((n: number) => n, { storage, namespace: uniqueNamespace(), name: 'secret' })(1)
    const digest = cacheValue((n: number) => n, {
      storage,
      namespace: uniqueNamespace(),
      name: 'd',
      observeKeys: 'digest',
    })
    digest(1)
    const raw = cacheValue((n: number) => n, { storage, namespace: uniqueNamespace(), name: 'r', observeKeys: 'raw' })
    raw(1)
    expect(calls.messages.map((m) => m.key)).toEqual([undefined, expect.stringMatching(/^[\w-]{16}$/), 'r:[1]'])
    expect(calls.messages[1]?.key).not.toContain('1]')
  })
})

describe('memokit:storage and memokit:event', () => {
  it('traces storage operations with their result, and publishes breaker-open and breaker-close', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const ops: StorageMessage[] = []
    const handlers: Handlers<StorageMessage> = { asyncEnd: (m) => ops.push({ ...m }) }
    const storageChannel = dc.tracingChannel(CHANNELS.storage)
    storageChannel.subscribe(handlers as Handlers<unknown>)
    cleanups.push(() => storageChannel.unsubscribe(handlers as Handlers<unknown>))
    const events: EventMessage[] = []
    const onEvent = (m: unknown) => events.push(m as EventMessage)
    diagnostics.subscribe(CHANNELS.event, onEvent)
    cleanups.push(() => diagnostics.unsubscribe(CHANNELS.event, onEvent))

    const { storage, failing } = faultyStorage(true)
    const cached = cacheValue(async (n: number) => n, {
      storage: storage as AsyncStorage,
      namespace: uniqueNamespace(),
      name: 'traced',
      onError: () => {},
      circuitBreaker: { failures: 1, cooldownMs: 100 },
      random: () => 0.5,
    })
    await cached(1)
    await cached(1)
    expect(ops.map((o) => `${o.op}:${o.status}`)).toEqual(['get:miss', 'set:ok', 'get:hit'])
    failing.add('get')
    await cached(2)
    expect(events.map((e) => e.type)).toEqual(['breaker-open'])
    failing.delete('get')
    jest.setSystemTime(1_200)
    await cached(2)
    expect(events.map((e) => e.type)).toEqual(['breaker-open', 'breaker-close'])
    expect(ops.at(-2)).toMatchObject({ op: 'get', status: 'miss' })
  })
})

describe('.stats()', () => {
  it('counts outcomes and computations when asked for', async () => {
    const cached = cacheValue(async (n: number) => n, {
      storage: memoryStorage(),
      namespace: uniqueNamespace(),
      name: 'counted',
      stats: true,
    })
    await Promise.all([cached(1), cached(1), cached(1)])
    await cached(1)
    await cached.refresh(1)
    expect(cached.stats()).toEqual({ hits: 1, stale: 0, misses: 1, joins: 2, errors: 0, refreshes: 1, computations: 2 })
  })

  it('is a UsageError without the option', () => {
    const cached = cacheValue((n: number) => n, { storage: memoryStorage(), namespace: uniqueNamespace(), name: 'x' })
    expect(() => cached.stats()).toThrow(UsageError)
  })
})
