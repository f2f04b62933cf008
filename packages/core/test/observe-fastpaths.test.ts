// The memory hit paths make no observation test of their own: a subscriber to memokit:call sets every memory table's
// flags (memory-route.ts), which sends each fast hit through the checked path. Every fast path, warmed before the
// subscriber came, must then publish exactly one outcome per call, and give the same values before, during and after.
import diagnostics from 'node:diagnostics_channel'
import { describe, expect, it } from '@jest/globals'
import { cacheValue, memoryStorage, tieredStorage } from '@memokit/core'

// @types/node 20.9 lacks TracingChannel: the part used here, typed.
interface Handlers {
  start(m: unknown): void
  end(m: unknown): void
  asyncStart(): void
  asyncEnd(m: unknown): void
  error(): void
}
const calls = (
  diagnostics as unknown as {
    tracingChannel(name: string): { subscribe(h: Handlers): void; unsubscribe(h: Handlers): void }
  }
).tracingChannel('memokit:call')

interface Message {
  functionName: string
  outcome: string
  async?: boolean
}

/** Runs `during` with a subscriber; returns `functionName:outcome` of every finished call. */
async function observe(during: () => Promise<void>): Promise<string[]> {
  const seen: string[] = []
  const done = (m: unknown): void => {
    const { functionName, outcome } = m as Message
    seen.push(`${functionName}:${outcome}`)
  }
  const handlers: Handlers = {
    start() {},
    end: (m) => (m as Message).async || done(m),
    asyncStart() {},
    asyncEnd: done,
    error() {},
  }
  calls.subscribe(handlers)
  try {
    await during()
  } finally {
    calls.unsubscribe(handlers)
  }
  return seen
}

const by = (n: number): [number, string, { a: number; b: number[] }] => [n, 'hello', { a: 1, b: [1, 2] }]

/** Each fast path's wrapper, warmed (the by-value scan remembers after a few hits). */
function wrappers() {
  const storage = memoryStorage()
  const sync = cacheValue((n: number) => n * 2, { storage, name: 'syncNumber' })
  const asyncFn = cacheValue(async (n: number) => n * 3, { storage, name: 'asyncNumber' })
  const byValue = cacheValue((n: number, s: string, o: { a: number; b: number[] }) => `${n}${s}${o.b.length}`, {
    storage,
    name: 'byValue',
  })
  const text = cacheValue((s: string) => s.toUpperCase(), { storage, name: 'keyString' })
  return { sync, asyncFn, byValue, text }
}

async function callEach(w: ReturnType<typeof wrappers>): Promise<unknown[]> {
  return [w.sync(4), await w.asyncFn(4), w.byValue(...by(4)), w.text('x')]
}

const expected = [8, 12, '4hello2', 'X']

describe('observation reaches every memory fast path without a test of its own', () => {
  it('warmed before the subscriber: one hit per call while observed, the same values throughout', async () => {
    const w = wrappers()
    for (let i = 0; i < 8; i++) expect(await callEach(w)).toEqual(expected)
    let during: unknown[] = []
    const seen = await observe(async () => {
      during = await callEach(w)
    })
    expect(during).toEqual(expected)
    expect(seen.sort()).toEqual(['asyncNumber:hit', 'byValue:hit', 'keyString:hit', 'syncNumber:hit'])
    // Unobserved again: the values stay right, and nothing is published.
    const after = await observe(async () => {})
    expect(after).toEqual([])
    for (let i = 0; i < 4; i++) expect(await callEach(w)).toEqual(expected)
  })

  it('a storage created while observed starts with its fast paths closed', async () => {
    let w: ReturnType<typeof wrappers> | undefined
    const seen = await observe(async () => {
      w = wrappers()
      expect(await callEach(w)).toEqual(expected)
      expect(await callEach(w)).toEqual(expected)
    })
    expect(seen.filter((s) => s.endsWith(':miss')).sort()).toEqual([
      'asyncNumber:miss',
      'byValue:miss',
      'keyString:miss',
      'syncNumber:miss',
    ])
    expect(seen.filter((s) => s.endsWith(':hit'))).toHaveLength(4)
    expect(await callEach(w as ReturnType<typeof wrappers>)).toEqual(expected)
  })

  it('a two-tier storage’s L1 hit, warmed before the subscriber, is observed too', async () => {
    const tier = tieredStorage({ l1: memoryStorage(), l2: memoryStorage() })
    await tier.ready
    const get = cacheValue(async (n: number) => ({ n }), { storage: tier, name: 'tiered' })
    for (let i = 0; i < 4; i++) expect(await get(1)).toEqual({ n: 1 })
    const seen = await observe(async () => {
      expect(await get(1)).toEqual({ n: 1 })
    })
    expect(seen).toEqual(['tiered:hit'])
    expect(await get(1)).toEqual({ n: 1 })
    await tier.close()
  })
})
