import { LRUCache } from 'lru-cache'
import memoize from 'memoize'
import { fmtRatio, gc, table } from '../harness'
import { BEFORE_MAX_BYTES_RATIO, memokitVariants } from '../memokit'
import { acdMemory, bentoMemory, cacheManagerMemory, cachifiedMemory } from './peers'
import type { Scenario } from './types'

interface User {
  readonly id: number
  readonly name: string
}
// Every contender gets values built by this one function, so the values weigh the same everywhere.
const makeValue = (i: number): User => ({ id: i, name: `user${i}` })

interface Filled {
  /** Keeps the structure reachable until the measurement is taken. */
  readonly hold: unknown
  readonly read: (i: number) => unknown
  readonly close?: () => Promise<void>
}

const settle = (): number => {
  // Several passes: weak references and finalizers can need more than one full GC to let go.
  for (let i = 0; i < 4; i++) gc()
  return process.memoryUsage().heapUsed
}

// A function of its own, so nothing of one contender stays reachable from a stack slot while the next is measured.
async function bytesPerEntry(name: string, n: number, fill: () => Promise<Filled>): Promise<number> {
  const before = settle()
  const filled = await fill()
  const after = settle()
  // Read a few back after measuring: proves the entries were kept (and keeps `filled` alive until here).
  for (const i of [0, n >> 1, n - 1]) {
    const v = (await filled.read(i)) as User | undefined
    if (v?.id !== i) throw new Error(`${name} lost entry ${i}`)
  }
  await filled.close?.()
  return (after - before) / n
}

/** S6: heap bytes per entry. */
export const s6: Scenario = {
  id: 'S6',
  title: 'heap bytes per entry, values { id: i, name: "user" + i } (baseline: bare Map<number, object>)',
  async run(cfg, log) {
    const N = cfg.quick ? 5_000 : 200_000
    const makers: [string, string, () => Promise<Filled>, number?][] = [
      [
        'Map<number, object>',
        'baseline',
        async () => {
          const m = new Map<number, User>()
          for (let i = 0; i < N; i++) m.set(i, makeValue(i))
          return { hold: m, read: (i) => m.get(i) }
        },
      ],
      [
        'lru-cache',
        `set(i, value), max ${N}`,
        async () => {
          const lru = new LRUCache<number, User>({ max: N })
          for (let i = 0; i < N; i++) lru.set(i, makeValue(i))
          return { hold: lru, read: (i) => lru.get(i) }
        },
      ],
      [
        'memoize',
        'memoize(fn), unbounded Map',
        async () => {
          const f = memoize(makeValue)
          for (let i = 0; i < N; i++) f(i)
          return { hold: f, read: f }
        },
      ],
      [
        'async-cache-dedupe',
        `memory storage, size ${N}`,
        async () => {
          const f = acdMemory(async (i) => makeValue(i), N)
          for (let i = 0; i < N; i++) await f(i)
          return { hold: f, read: f }
        },
      ],
      [
        'cache-manager',
        'wrap, default Keyv Map store',
        async () => {
          const f = cacheManagerMemory(async (i) => makeValue(i))
          for (let i = 0; i < N; i++) await f(i)
          return { hold: f, read: f }
        },
      ],
      [
        'cachified',
        'cache: new Map()',
        async () => {
          const f = cachifiedMemory(async (i) => makeValue(i))
          for (let i = 0; i < N; i++) await f(i)
          return { hold: f, read: f }
        },
      ],
      [
        'bentocache',
        `memory L1, maxItems ${N}`,
        async () => {
          const b = bentoMemory(async (i) => makeValue(i), N)
          for (let i = 0; i < N; i++) await b.call(i)
          return { hold: b, read: b.call, close: b.close }
        },
      ],
    ]
    const { variants, skipped, versus } = await memokitVariants()
    const lines = [...skipped]
    for (const { name, mk, current } of variants) {
      const cacheValue = mk.cacheValue
      if (!cacheValue) continue
      const fill = async (): Promise<Filled> => {
        const f = cacheValue(makeValue, { storage: mk.memoryStorage({ maxEntries: N }), name: 'bench.s6' })
        for (let i = 0; i < N; i++) f(i)
        return { hold: f, read: f }
      }
      const note = `cacheValue(fn), memoryStorage({ maxEntries: ${N} })`
      makers.push(current ? [name, note, fill, 1.4] : [name, note, fill])
    }

    const rows: string[][] = []
    const bytes = new Map<string, number>()
    let base = Number.NaN
    for (const [name, note, fill, target] of makers) {
      const t0 = Date.now()
      const perEntry = await bytesPerEntry(name, N, fill)
      if (Number.isNaN(base)) base = perEntry
      const ratio = perEntry / base
      let verdict = ''
      if (target !== undefined && !cfg.quick)
        verdict = `; target <=${target}: ${ratio <= target ? 'MET' : `MISSED by ${fmtRatio(ratio - target)}`}`
      bytes.set(name, perEntry)
      rows.push([name, perEntry.toFixed(0), fmtRatio(ratio), `${note}${verdict}`])
      log(`  ${name}: ${perEntry.toFixed(0)} B/entry (${Date.now() - t0} ms)`)
    }
    // Fewer bytes is better here: the current build must not use more than 5% over the before build.
    const current = rows.find((r) => r[0] === 'memokit')
    const old = versus ? bytes.get(versus.name) : undefined
    if (current && old !== undefined) {
      const r = (bytes.get('memokit') as number) / old
      const max = BEFORE_MAX_BYTES_RATIO
      current[3] += `; current/before ${r.toFixed(3)}${cfg.quick ? '' : `, target <=${max.toFixed(2)}: ${r <= max ? 'MET' : 'MISSED'}`}`
    }
    lines.unshift(
      table(['contender', 'bytes/entry', 'ratio to Map', 'note'], rows),
      `(${N} entries; heapUsed delta after full GCs, includes the values)`,
    )
    return { id: 'S6', title: this.title, rows: [], lines }
  },
}
