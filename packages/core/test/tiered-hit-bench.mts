// Micro-benchmark, not a test: a cacheValue hit over tieredStorage (an L1 hit, through the memory hit paths) against
// one over memoryStorage and against `await map.get` (issue 11's baseline, target >= 0.7), all with an async fn,
// interleaved rounds, medians. Run: nice -n 19 node --import tsx packages/core/test/tiered-hit-bench.mts
import { cacheValue, memoryBus, memoryStorage, tieredStorage } from '../src/index.js'

const KEYS = 64
const CALLS = Number(process.env.CALLS ?? 100_000)
const ROUNDS = Number(process.env.ROUNDS ?? 15)

const fn = async (id: number) => ({ id })
const l2 = memoryStorage({ maxEntries: Number.POSITIVE_INFINITY })
const asyncL2 = {
  async: true as const,
  name: 'memory-async',
  scope: 'bench',
  get: async (ns: string, key: string) => l2.get(ns, key),
  set: async (ns: string, key: string, v: unknown, o?: object) => l2.set(ns, key, v, o),
  delete: async (ns: string, key: string) => l2.delete(ns, key),
  clear: async (ns: string, prefix?: string) => l2.clear(ns, prefix),
}
const bus = memoryBus()
const tierNoBus = tieredStorage({ l1: memoryStorage(), l2: { ...asyncL2, scope: 'bench-a' } })
const tierBus = tieredStorage({ l1: memoryStorage(), l2: { ...asyncL2, scope: 'bench-b' }, bus })
await tierBus.ready

const map = new Map<number, unknown>()
for (let i = 0; i < KEYS; i++) map.set(i, { id: i })
const variants: Record<string, (i: number) => Promise<unknown>> = {
  'await map.get': (i) => map.get(i) as Promise<unknown>,
  'await Promise.resolve(map.get)': (i) => Promise.resolve(map.get(i)),
  'cacheValue over memoryStorage': cacheValue(fn, { storage: memoryStorage(), name: 'm' }),
  'cacheValue over an async memory storage': cacheValue(fn, { storage: { ...asyncL2, scope: 'bench-c' }, name: 'a' }),
  'cacheValue over tieredStorage (no bus)': cacheValue(fn, { storage: tierNoBus, name: 't1' }),
  'cacheValue over tieredStorage (memoryBus)': cacheValue(fn, { storage: tierBus, name: 't2' }),
}
for (const run of Object.values(variants)) for (let i = 0; i < KEYS; i++) await run(i)
if (!tierBus.l1Active) throw new Error('the bus tier is not using its L1')

const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]))
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, run] of Object.entries(variants)) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < CALLS; i++) await run(i % KEYS)
    times[name]?.push(Number(process.hrtime.bigint() - t0) / CALLS)
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const base = median(times['cacheValue over memoryStorage'] as number[])
const floor = median(times['await map.get'] as number[])
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs)
  console.log(
    `${name.padEnd(44)} ${m.toFixed(1).padStart(7)} ns/call  ${(base / m).toFixed(2)}x memory hit speed  ${(floor / m).toFixed(2)} of await map.get`,
  )
}
await tierNoBus.close()
await tierBus.close()
