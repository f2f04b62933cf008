// H1 (issue 14, section 1): a hit through memokit's MongoDB and memcached storages against the raw client read of
// the same kind of client, both servers started here (h1-servers.ts).
import { type BenchConfig, type Contender, compileLoop, measure, type Row, rowsTable } from '../harness'
import { loadMemokit } from '../memokit'
import { HOT, hitLoop, message, valueFor } from '../redis-common'
import { memcachedPair } from './h1-memcached'
import { mongoPair } from './h1-mongo'
import { assertSame, type Scenario } from './types'

const IN_FLIGHT = 16
/** Issue 14: memokit's hit at least 0.9 of the raw client read. */
const TARGET = 0.9

export type Call = (k: number) => Promise<unknown>

/** One backend's pair: the raw read (baseline) and memokit, each over its own client; `close` stops everything. */
export interface Pair {
  readonly label: string
  readonly lines: readonly string[]
  readonly raw: { readonly name: string; readonly note: string; readonly call: Call }
  /** memokit's rows, each judged against `raw`. */
  readonly memokit: readonly { readonly name: string; readonly note: string; readonly call: Call }[]
  /** Calls of the cached function and storage failures reported so far: a hit has neither. */
  readonly tally: Tally
  close(): Promise<void>
}

export interface Tally {
  computed: number
  failures: number
}

/**
 * The function memokit caches, counting its calls, and the `onError` that counts storage failures: a timed call
 * that computes (a miss, or the breaker skipping a failing storage) would time something else than a hit.
 */
export function tallied(load: (k: number) => Promise<unknown>): {
  tally: Tally
  load: (k: number) => Promise<unknown>
  onError: () => void
} {
  const tally: Tally = { computed: 0, failures: 0 }
  return {
    tally,
    load: (k) => {
      tally.computed++
      return load(k)
    },
    onError: () => {
      tally.failures++
    },
  }
}

/** The `cacheValue` a backend module wraps its storage with. */
export type CacheValue = NonNullable<Awaited<ReturnType<typeof loadMemokit>>['cacheValue']>

const LOOPS = { hitN: hitLoop(IN_FLIGHT), hit1: hitLoop(1) } as const

async function measurePair(cfg: BenchConfig, pair: Pair, log: (s: string) => void): Promise<string[]> {
  const want = Array.from({ length: HOT }, (_, k) => valueFor(k))
  // Fill memokit's entries, then check both read back the right values before anything is timed.
  for (const side of pair.memokit) for (let k = 0; k < HOT; k++) await side.call(k)
  pair.tally.computed = 0
  pair.tally.failures = 0
  for (const side of [pair.raw, ...pair.memokit]) {
    assertSame(side.name, await Promise.all(want.map((_, k) => side.call(k))), want)
  }
  const lines: string[] = [...pair.lines]
  for (const [mode, label] of [
    ['hitN', `hits, ${IN_FLIGHT} calls in flight`],
    ['hit1', 'hits, 1 call in flight (sequential)'],
  ] as const) {
    log(`  H1 ${pair.label} ${label}`)
    const contender = (side: Pair['raw'], target?: number): Contender => ({
      name: side.name,
      note: side.note,
      ...(target === undefined ? {} : { target }),
      unit: mode === 'hitN' ? IN_FLIGHT : 1,
      loop: compileLoop({ call: side.call, st: { next: 0 } }, LOOPS[mode], 'async'),
    })
    const config = cfg.quick ? cfg : { ...cfg, sliceMs: Math.max(cfg.sliceMs, 250) }
    const rows: Row[] = await measure(
      config,
      contender(pair.raw),
      pair.memokit.map((side) => contender(side, TARGET)),
      log,
    )
    lines.push(`\n### H1 ${pair.label}: ${label}`, rowsTable(rows))
  }
  const { computed, failures } = pair.tally
  lines.push(
    computed === 0 && failures === 0
      ? `(every timed memokit call was a hit: the function never ran and the storage never failed)`
      : `memokit's figures are NOT hits: the function ran ${computed} times and the storage failed ${failures} times while timed`,
  )
  return lines
}

/** H1: MongoDB and memcached hits through memokit against the raw client reads. */
export const h1: Scenario = {
  id: 'H1',
  title: 'MongoDB and memcached, ~1 KB JSON value (baseline: the client’s own read + JSON.parse)',
  async run(cfg, log) {
    const mk = await loadMemokit()
    const { cacheValue } = mk
    if (!cacheValue) return { id: 'H1', title: this.title, rows: [], lines: [`H1 skipped: memokit: ${mk.reason}`] }
    const lines: string[] = []
    for (const [label, open] of [
      ['MongoDB', mongoPair],
      ['memcached', memcachedPair],
    ] as const) {
      let pair: Pair | string
      try {
        pair = await open(cacheValue)
      } catch (error) {
        pair = `could not set up (${message(error)})`
      }
      if (typeof pair === 'string') {
        lines.push(`H1 ${label} skipped: ${pair}`)
        continue
      }
      try {
        lines.push(...(await measurePair(cfg, pair, log)))
      } finally {
        await pair.close().catch((error: unknown) => lines.push(`H1 ${label}: cleanup failed (${message(error)})`))
      }
    }
    return { id: 'H1', title: this.title, rows: [], lines }
  },
}
