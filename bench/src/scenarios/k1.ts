import { createHash } from 'node:crypto'
import { consume, fmtRatio, gc, lastSink, median, now, table } from '../harness'
import { loadMemokit } from '../memokit'
import type { Scenario } from './types'

const TARGET = 2

interface Shape {
  readonly name: string
  readonly make: (scale: number) => unknown
  /** What the baseline stringifies: the value, or its entries (JSON writes a Map or Set as `{}`). */
  readonly json: (v: unknown) => unknown
  /**
   * For Map and Set: a hand-written canonical key (each element's JSON, sorted, joined), the same kind of work as
   * memokit's encoding, which orders entries so that insertion order does not change the key.
   */
  readonly sorted?: (v: unknown) => string
  /** Judged against the 2x target (the case); the others are reported. */
  readonly judged?: boolean
  readonly note: string
}

const same = (v: unknown): unknown => v
const entries = (v: unknown): unknown => [...(v as Iterable<unknown>)]
const sortedJson = (items: readonly unknown[]): string =>
  items
    .map((x) => JSON.stringify(x))
    .sort()
    .join(',')

function tree(depth: number): unknown {
  return depth === 0 ? { a: 1, b: 'leaf' } : { l: tree(depth - 1), r: tree(depth - 1), v: depth }
}

const SHAPES: readonly Shape[] = [
  {
    name: '1,000,000 numbers',
    make: (s) => Array.from({ length: 1_000_000 / s }, (_, i) => i * 1.5),
    json: same,
    judged: true,
    note: 'the issue: 360 ms, ~10x',
  },
  {
    name: '100,000 small objects',
    make: (s) => Array.from({ length: 100_000 / s }, (_, i) => ({ id: i, name: `user${i}`, ok: i % 2 === 0 })),
    json: same,
    note: '{ id, name, ok }',
  },
  { name: 'string of 10 MB', make: (s) => 'x'.repeat(10_000_000 / s), json: same, note: '' },
  {
    name: 'nested object',
    make: (s) => tree(s === 1 ? 16 : 12),
    json: same,
    note: 'binary tree of depth 16, 3 keys per node',
  },
  {
    name: 'Map, 100,000 entries',
    make: (s) => new Map(Array.from({ length: 100_000 / s }, (_, i) => [`k${i}`, i])),
    json: entries,
    sorted: (v) => sortedJson([...(v as Map<unknown, unknown>)]),
    note: 'baseline: JSON of the entries, unsorted',
  },
  {
    name: 'Set, 100,000 numbers',
    make: (s) => new Set(Array.from({ length: 100_000 / s }, (_, i) => i)),
    json: entries,
    sorted: (v) => sortedJson([...(v as Set<unknown>)]),
    note: 'baseline: JSON of the elements, unsorted',
  },
]

const digest = (text: string): string => createHash('sha256').update(text).digest('base64url')

/**
 * K1: a memory hit whose argument is one large value, against JSON.stringify + SHA-256 of the same value (what a
 * hand-written key for it costs). Each call takes milliseconds, so rounds time single calls: interleaved, the
 * order alternating each round, a GC before each.
 */
export const k1: Scenario = {
  id: 'K1',
  title: `memory hit with one large argument vs JSON.stringify + SHA-256 of it (target for 1,000,000 numbers: <= ${TARGET}x)`,
  async run(cfg) {
    const mk = await loadMemokit()
    if (!mk.cacheValue) return { id: 'K1', title: this.title, rows: [], lines: [`memokit skipped: ${mk.reason}`] }
    const scale = cfg.quick ? 10 : 1
    const rounds = cfg.quick ? 3 : 15
    const rows: string[][] = []
    for (const shape of SHAPES) {
      const value = shape.make(scale)
      let runs = 0
      const baseline = (v: unknown): string => digest(JSON.stringify(shape.json(v)))
      const cached = mk.cacheValue(
        (v: unknown) => {
          runs++
          return baseline(v)
        },
        { storage: mk.memoryStorage(), name: `bench.k1.${shape.name}` },
      )
      const expected = baseline(value)
      if (cached(value) !== expected || cached(value) !== expected || runs !== 1) {
        throw new Error(`K1 ${shape.name}: memokit returned a wrong value or missed its own entry (fn ran ${runs}x)`)
      }
      const base: number[] = []
      const hit: number[] = []
      const sorted: number[] = []
      const time = (f: () => unknown, into: number[]): void => {
        gc()
        const t = now()
        consume(f())
        into.push(now() - t)
      }
      const canonical = shape.sorted
      const contenders: [() => unknown, number[]][] = [
        [() => baseline(value), base],
        [() => cached(value), hit],
        ...(canonical ? [[() => digest(canonical(value)), sorted] as [() => unknown, number[]]] : []),
      ]
      for (let r = 0; r < rounds; r++) {
        // Rotated each round, so no contender always runs right after another's garbage.
        for (let j = 0; j < contenders.length; j++) {
          const [f, into] = contenders[(r + j) % contenders.length] as [() => unknown, number[]]
          time(f, into)
        }
      }
      if (lastSink() === undefined) throw new Error('K1: nothing consumed')
      if (runs !== 1) throw new Error(`K1 ${shape.name}: the timed calls were not all hits (fn ran ${runs}x)`)
      const ratio = median(hit) / median(base)
      const verdict = shape.judged && !cfg.quick ? `; target <= ${TARGET}x: ${ratio <= TARGET ? 'MET' : 'MISSED'}` : ''
      rows.push([
        shape.name,
        median(base).toFixed(1),
        median(hit).toFixed(1),
        fmtRatio(ratio),
        sorted.length > 0 ? fmtRatio(median(hit) / median(sorted)) : '',
        `${shape.note}${verdict}`,
      ])
    }
    const lines = [
      table(['argument', 'JSON+SHA-256 ms', 'memokit hit ms', 'ratio', 'vs sorted JSON', 'note'], rows),
      ...(cfg.quick ? ['(quick: sizes / 10, not judged)'] : []),
    ]
    return { id: 'K1', title: this.title, rows: [], lines }
  },
}
