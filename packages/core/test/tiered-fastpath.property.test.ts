// Differential: cacheValue over a tier takes the memory hit paths on its L1 (tiered-hits.ts). The same random
// operation sequence runs twice on fresh two-replica clusters under the same fake clock, once with the fast path
// and once without (the tier spread into a plain object, which the hit paths don't recognize), and every returned
// value must agree. `fn` counts its runs, so a fast hit where the plain path recomputes shows as a different value.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { cacheValue } from '@memokit/core'
import fc from 'fast-check'
import { advance, cluster, type Replica, settle, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

type Arg = number | string
type Op =
  | { kind: 'call'; on: 0 | 1; arg: Arg }
  | { kind: 'delete'; on: 0 | 1; arg: Arg }
  | { kind: 'clear'; on: 0 | 1 }
  | { kind: 'advance'; ms: number }
  | { kind: 'bus'; state: 'down' | 'up' | 'drop' }

// Few keys (one per hit path: the number table and the key string), so operations on one key meet often.
const arg = fc.constantFrom<Arg>(1, 'a')
const on = fc.constantFrom<0 | 1>(0, 1)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('call' as const), on, arg }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), on, arg }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), on }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 4000 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('bus' as const), state: fc.constantFrom('down', 'down', 'up', 'drop') }),
  },
)
interface Settings {
  ttl: number | undefined
  swr: number | undefined
  maxL1Age: number
}
const settings: fc.Arbitrary<Settings> = fc.record({
  ttl: fc.option(fc.constantFrom(500, 2000, 10_000), { nil: undefined }),
  swr: fc.option(fc.constantFrom(1000, 5000), { nil: undefined }),
  maxL1Age: fc.constantFrom(1000, 3000, 30_000),
})

// A remote delete lost while the bus is down: a fast path that ignored `usable()` would serve the old L1 copy.
const downOps: Op[] = [
  { kind: 'call', on: 0, arg: 1 },
  { kind: 'bus', state: 'down' },
  { kind: 'delete', on: 1, arg: 1 },
  { kind: 'call', on: 0, arg: 1 },
]
const options: Settings = { ttl: undefined, swr: undefined, maxL1Age: 30_000 }

const T0 = new Date('2030-01-01T00:00:00Z').getTime()

async function play(ops: Op[], options: Settings, fast: boolean): Promise<unknown[]> {
  jest.setSystemTime(T0)
  const c = await cluster(2, { maxL1Age: options.maxL1Age })
  let runs = 0
  const fn = async (x: Arg) => `${x}:${runs++}`
  const wrap = (r: Replica) => {
    // The spread copy keeps the tier's behaviour but not its identity: the plain async path.
    const storage = fast ? r.tier : { ...r.tier }
    return cacheValue(fn, {
      storage,
      namespace: 'diff',
      name: 'f',
      ttl: options.ttl,
      swr: options.ttl === undefined ? undefined : options.swr,
    })
  }
  const wrappers = c.replicas.map(wrap)
  const out: unknown[] = []
  for (const o of ops) {
    if (o.kind === 'call') out.push(await wrappers[o.on]?.(o.arg))
    else if (o.kind === 'delete') out.push(await wrappers[o.on]?.delete(o.arg))
    else if (o.kind === 'clear') await wrappers[o.on]?.clear()
    else if (o.kind === 'advance') await advance(o.ms)
    else if (o.state === 'drop') c.bus.dropNext()
    else c.bus.setState(o.state)
    await settle()
  }
  c.bus.setState('up')
  await c.close()
  return out
}

describe('cacheValue over a tier: the L1 fast path agrees with the plain path', () => {
  it('returns the same values for random call, delete, clear, expiry and bus sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 40, size: 'max' }), settings, async (ops, options) => {
        const fastOut = await play(ops, options, true)
        const plainOut = await play(ops, options, false)
        expect(fastOut).toEqual(plainOut)
      }),
      { numRuns: 100, examples: [[downOps, options]] },
    )
  })

  it('bypasses the L1 while the bus is down (a remote delete then is lost)', async () => {
    expect(await play(downOps, options, true)).toEqual(['1:0', true, '1:1'])
    expect(await play(downOps, options, false)).toEqual(['1:0', true, '1:1'])
  })

  it('serves a fresh L1 hit without reading L2', async () => {
    jest.setSystemTime(T0)
    const c = await cluster(1)
    const f = cacheValue(async (n: number) => n * 2, { storage: c.replicas[0]?.tier, name: 'g', namespace: 'hit' })
    expect(await f(21)).toBe(42)
    const reads = c.l2.calls.get
    expect(await f(21)).toBe(42)
    expect(c.l2.calls.get).toBe(reads)
    await c.close()
  })
})
