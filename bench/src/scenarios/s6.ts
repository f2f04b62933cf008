import { LRUCache } from 'lru-cache'
import memoize from 'memoize'
import { fmtRatio, gc, table } from '../harness'
import { BEFORE_MAX_BYTES_RATIO, type Memokit, memokitVariants } from '../memokit'
import { acdMemory, bentoMemory, cacheManagerMemory, cachifiedMemory } from './peers'
import type { Scenario } from './types'

/** Issue 14: memokit's memory storage at most 1.3x a bare Map in bytes per entry, heap and ArrayBuffers counted. */
const TARGET = 1.3

interface Shape {
  readonly label: string
  readonly make: (i: number) => { readonly id: number }
}
// The issue measured `{ id, v }` (a small number); the older S6 values carry a short string too.
const SHAPES: readonly Shape[] = [
  { label: '{ id: i, v: i }', make: (i) => ({ id: i, v: i }) },
  { label: "{ id: i, name: 'user' + i }", make: (i) => ({ id: i, name: `user${i}` }) },
]

interface Filled {
  /** Keeps the structure reachable until the measurement is taken. */
  readonly hold: unknown
  readonly read: (i: number) => unknown
  readonly close?: () => Promise<void>
}

interface Bytes {
  readonly heap: number
  /** ArrayBuffer backing stores (typed arrays), which live outside the V8 heap. */
  readonly off: number
}

const settle = (): Bytes => {
  // Several passes: weak references and finalizers can need more than one full GC to let go.
  for (let i = 0; i < 4; i++) gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, off: m.arrayBuffers }
}

// A function of its own, so nothing of one contender stays reachable from a stack slot while the next is measured.
async function bytesPerEntry(name: string, n: number, fill: () => Promise<Filled>): Promise<Bytes> {
  const before = settle()
  const filled = await fill()
  const after = settle()
  // Read a few back after measuring: proves the entries were kept (and keeps `filled` alive until here).
  for (const i of [0, n >> 1, n - 1]) {
    const v = (await filled.read(i)) as { id: number } | undefined
    if (v?.id !== i) throw new Error(`${name} lost entry ${i}`)
  }
  await filled.close?.()
  return { heap: (after.heap - before.heap) / n, off: (after.off - before.off) / n }
}

type Maker = readonly [name: string, note: string, fill: () => Promise<Filled>, target?: number]

function peers(N: number, make: Shape['make']): Maker[] {
  type V = ReturnType<typeof make>
  return [
    [
      'Map<number, object>',
      'baseline',
      async () => {
        const m = new Map<number, V>()
        for (let i = 0; i < N; i++) m.set(i, make(i))
        return { hold: m, read: (i) => m.get(i) }
      },
    ],
    [
      'lru-cache',
      `set(i, value), max ${N}`,
      async () => {
        const lru = new LRUCache<number, V>({ max: N })
        for (let i = 0; i < N; i++) lru.set(i, make(i))
        return { hold: lru, read: (i) => lru.get(i) }
      },
    ],
    [
      'memoize',
      'memoize(fn), unbounded Map',
      async () => {
        const f = memoize(make)
        for (let i = 0; i < N; i++) f(i)
        return { hold: f, read: f }
      },
    ],
    [
      'async-cache-dedupe',
      `memory storage, size ${N}`,
      async () => {
        const f = acdMemory(async (i) => make(i), N)
        for (let i = 0; i < N; i++) await f(i)
        return { hold: f, read: f }
      },
    ],
    [
      'cache-manager',
      'wrap, default Keyv Map store',
      async () => {
        const f = cacheManagerMemory(async (i) => make(i))
        for (let i = 0; i < N; i++) await f(i)
        return { hold: f, read: f }
      },
    ],
    [
      'cachified',
      'cache: new Map()',
      async () => {
        const f = cachifiedMemory(async (i) => make(i))
        for (let i = 0; i < N; i++) await f(i)
        return { hold: f, read: f }
      },
    ],
    [
      'bentocache',
      `memory L1, maxItems ${N}`,
      async () => {
        const b = bentoMemory(async (i) => make(i), N)
        for (let i = 0; i < N; i++) await b.call(i)
        return { hold: b, read: b.call, close: b.close }
      },
    ],
  ]
}

// Options beyond maxEntries are passed only to the current build (the before build rejects unknown options).
type MemoryStorage = (options: Record<string, unknown>) => unknown

function memokitRows(N: number, make: Shape['make'], name: string, mk: Memokit, current: boolean): Maker[] {
  const cacheValue = mk.cacheValue
  if (!cacheValue) return []
  const memoryStorage = mk.memoryStorage as MemoryStorage
  const row = (suffix: string, note: string, fn: (i: number) => unknown, options: Record<string, unknown>) =>
    [
      `${name}${suffix}`,
      note,
      async (): Promise<Filled> => {
        const f = cacheValue(fn, { storage: memoryStorage({ maxEntries: N, ...options }), name: 'bench.s6' })
        for (let i = 0; i < N; i++) await f(i)
        return { hold: f, read: f }
      },
      current && suffix === '' ? TARGET : undefined,
    ] as const
  const rows: Maker[] = [row('', `cacheValue(fn), memoryStorage({ maxEntries: ${N} })`, make, {})]
  if (current) {
    rows.push(row(', async fn', 'cacheValue(async fn): a Promise-returning function', async (i) => make(i), {}))
    rows.push(
      row(', maxSize on', `maxSize ${N * 100}, sizeCalculation: () => 10 (never evicts here)`, make, {
        maxSize: N * 100,
        sizeCalculation: () => 10,
      }),
    )
  }
  return rows
}

async function measureShape(
  N: number,
  shape: Shape,
  quick: boolean,
  log: (line: string) => void,
): Promise<{ lines: string[]; skipped: readonly string[] }> {
  const makers = peers(N, shape.make)
  const { variants, skipped, versus } = await memokitVariants()
  for (const { name, mk, current } of variants) makers.push(...memokitRows(N, shape.make, name, mk, current))
  const rows: string[][] = []
  const totals = new Map<string, number>()
  let base = Number.NaN
  for (const [name, note, fill, target] of makers) {
    const t0 = Date.now()
    const { heap, off } = await bytesPerEntry(name, N, fill)
    const total = heap + off
    if (Number.isNaN(base)) base = total
    totals.set(name, total)
    const ratio = total / base
    let verdict = ''
    if (target !== undefined && !quick) {
      const lru = (totals.get('lru-cache') ?? Number.NaN) / base
      verdict = `; target <=${target}: ${ratio <= target ? 'MET' : `MISSED by ${fmtRatio(ratio - target)}`} (lru-cache ${fmtRatio(lru)} in this run)`
    }
    rows.push([name, heap.toFixed(0), off.toFixed(0), total.toFixed(0), fmtRatio(ratio), `${note}${verdict}`])
    log(
      `  ${shape.label} ${name}: heap ${heap.toFixed(0)} + off-heap ${off.toFixed(0)} B/entry (${Date.now() - t0} ms)`,
    )
  }
  // Fewer bytes is better here: the current build must not use more than 5% over the before build.
  const current = rows.find((r) => r[0] === 'memokit')
  const old = versus ? totals.get(versus.name) : undefined
  if (current && old !== undefined) {
    const r = (totals.get('memokit') as number) / old
    const max = BEFORE_MAX_BYTES_RATIO
    current[5] += `; current/before ${r.toFixed(3)}${quick ? '' : `, target <=${max.toFixed(2)}: ${r <= max ? 'MET' : 'MISSED'}`}`
  }
  const headers = ['contender', 'heap B/entry', 'off-heap B/entry', 'total B/entry', 'ratio to Map', 'note']
  return { lines: [`values ${shape.label}`, table(headers, rows)], skipped }
}

/** S6: bytes per entry, on the heap and in ArrayBuffers, for two value shapes. */
export const s6: Scenario = {
  id: 'S6',
  title: 'bytes per entry (heap + ArrayBuffers), two value shapes (baseline: bare Map<number, object>)',
  async run(cfg, log) {
    const N = cfg.quick ? 5_000 : 200_000
    const lines: string[] = []
    let skipped: readonly string[] = []
    for (const shape of SHAPES) {
      const measured = await measureShape(N, shape, cfg.quick, log)
      lines.push(...measured.lines)
      skipped = measured.skipped
    }
    lines.unshift(...skipped)
    lines.push(
      `(${N} entries; heapUsed and arrayBuffers deltas after full GCs, values included; ratios are of the totals)`,
    )
    return { id: 'S6', title: this.title, rows: [], lines }
  },
}
