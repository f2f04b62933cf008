import { fmtRatio } from './format'
import { createSettler } from './settle'

/** Run-wide settings, from the command line. */
export interface BenchConfig {
  /** `--quick`: a short smoke run (few rounds, short slices, smaller data). */
  readonly quick: boolean
  /** Rounds per throughput scenario. */
  readonly rounds: number
  /** Time each contender runs per round, ms. */
  readonly sliceMs: number
  /** Warm-up time per contender before the rounds, ms. */
  readonly warmupMs: number
  /**
   * Untimed run of a contender after the GC before each of its slices, at least this many ms, then on until the
   * compiler has re-optimized what the GC deoptimized (settle.ts), up to `settleMaxMs`. Without it every slice
   * began by re-optimizing its contender's code: more functions on a path, more slice spent unoptimized.
   */
  readonly settleMs: number
  readonly settleMaxMs: number
}

export function makeConfig(quick: boolean): BenchConfig {
  return quick
    ? { quick, rounds: 2, sliceMs: 20, warmupMs: 30, settleMs: 2, settleMaxMs: 2 }
    : { quick, rounds: 15, sliceMs: 150, warmupMs: 400, settleMs: 50, settleMaxMs: 400 }
}

/**
 * One contender of a throughput scenario. `loop(n)` performs n operations and returns something derived from
 * the results, so the work can't be optimised away. It should be a function of its own (see `compileLoop`) so
 * V8's type feedback at the hot call site belongs to that contender alone.
 */
export interface Contender {
  readonly name: string
  readonly loop: (n: number) => unknown
  /** Printed in the note column, e.g. how the peer was configured. */
  readonly note?: string
  /** Target as a ratio to the baseline (memokit rows). */
  readonly target?: number
  /** Target relative to another row: at least `factor` x that row's ratio. */
  readonly targetVs?: { readonly factor: number; readonly best: readonly string[] }
  /** Compared with another row of the same table (see `Versus`). */
  readonly versus?: Versus | readonly Versus[]
  /** Batches are multiples of this many operations (a loop that keeps 64 calls in flight says 64). Default 1. */
  readonly unit?: number
  /** Checked once before timing: throws if the contender returns wrong results. */
  readonly check?: () => unknown
}

/**
 * A comparison with another row of the same run, e.g. memokit against its own build from before a change: the
 * ratio of medians this/that, with the IQR of the per-round ratios, judged against `min` (full runs only).
 */
export interface Versus {
  /** The other row's contender name. */
  readonly name: string
  /** How the ratio is labelled in the note, e.g. `current/before`. */
  readonly label: string
  /** The ratio this row must reach, e.g. 0.95 for "within 5%". */
  readonly min: number
}

export interface Row {
  readonly name: string
  readonly medianOps: number
  readonly ratio: number
  /** 25th and 75th percentile of the per-round ratio (same round's baseline). */
  readonly p25: number
  readonly p75: number
  readonly note: string
}

export interface ScenarioResult {
  readonly id: string
  readonly title: string
  readonly rows: readonly Row[]
  /** Preformatted lines for non-throughput scenarios (S5, S6) or extra notes. */
  readonly lines: readonly string[]
}

let sink: unknown
/** Keeps results reachable so loops can't be dead-code eliminated. */
export function consume(v: unknown): void {
  sink = v
}
export function lastSink(): unknown {
  return sink
}

/**
 * Builds `loop(n)` from source text with its own SharedFunctionInfo, so each contender's hot call site gets its
 * own inline cache (closures made by one shared factory would share feedback and go megamorphic).
 * `bindings` become the function's free variables.
 */
export function compileLoop(
  bindings: Record<string, unknown>,
  body: string,
  kind: 'sync' | 'async' = 'sync',
): (n: number) => unknown {
  const names = Object.keys(bindings)
  const values = names.map((k) => bindings[k])
  const src = `return ${kind === 'async' ? 'async ' : ''}function loop(n) {\n${body}\n}`
  const factory = new Function(...names, src) as (...a: unknown[]) => (n: number) => unknown
  return factory(...values)
}

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g) g()
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

/** Runs `loop` in batches for about `ms`; returns ops/s. Batch size is calibrated so a batch takes ~5-10 ms. */
async function runFor(loop: (n: number) => unknown, batch: number, ms: number): Promise<number> {
  let ops = 0
  const start = now()
  let t = start
  do {
    const r = loop(batch)
    consume(isThenable(r) ? await r : r)
    ops += batch
    t = now()
  } while (t - start < ms)
  return (ops * 1000) / (t - start)
}

// Warms up for `warmupMs` while doubling the batch until one batch takes >= 5 ms. It never stops growing on one
// slow batch (a JIT or GC pause early on would otherwise freeze a tiny batch, and with it the concurrency of loops
// that run their batch in parallel).
async function calibrate(loop: (n: number) => unknown, warmupMs: number, unit: number): Promise<number> {
  let batch = unit
  const start = now()
  do {
    const t0 = now()
    const r = loop(batch)
    consume(isThenable(r) ? await r : r)
    if (now() - t0 < 5 && batch < 1 << 24) batch *= 2
  } while (now() - start < warmupMs)
  return batch
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo] as number
  const b = sorted[hi] as number
  return a + (b - a) * (pos - lo)
}
export const median = (xs: readonly number[]): number =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  )

/**
 * Interleaved measurement: after a warm-up, every round runs each contender (baseline included) for one time
 * slice, in an order rotated each round and shuffled once, with a GC and an untimed `settleMs` between
 * contenders. Reports the median
 * ops/s, the ratio of medians to the baseline, and the IQR of the per-round ratios (paired within a round, so
 * machine noise that hits a whole round cancels out).
 */
export async function measure(
  cfg: BenchConfig,
  baseline: Contender,
  contenders: readonly Contender[],
  log: (s: string) => void,
): Promise<Row[]> {
  const all = [baseline, ...contenders]
  for (const c of all) {
    if (c.check) await c.check()
  }
  const batches = new Map<Contender, number>()
  for (const c of all) {
    gc()
    const batch = await calibrate(c.loop, cfg.warmupMs, c.unit ?? 1)
    batches.set(c, batch)
    log(`  warmed up ${c.name}: batch ${batch}`)
  }
  const samples = new Map<Contender, number[]>(all.map((c) => [c, []]))
  const order = [...all]
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[order[i], order[j]] = [order[j] as Contender, order[i] as Contender]
  }
  const settler = createSettler<Contender>(cfg.settleMs, cfg.settleMaxMs)
  for (let r = 0; r < cfg.rounds; r++) {
    for (let k = 0; k < order.length; k++) {
      const c = order[(k + r) % order.length] as Contender
      const batch = batches.get(c) ?? 1
      gc()
      await settler.settle(c, (ms) => runFor(c.loop, batch, ms))
      samples.get(c)?.push(await settler.timed(c, () => runFor(c.loop, batch, cfg.sliceMs)))
    }
    log(`  round ${r + 1}/${cfg.rounds}`)
  }
  log(`  settled after each GC: ${settler.summary()}`)
  const base = samples.get(baseline) ?? []
  const baseMedian = median(base)
  const bestRatio = (names: readonly string[]): number => {
    let best = 0
    for (const c of contenders) {
      if (names.includes(c.name)) best = Math.max(best, median(samples.get(c) ?? []) / baseMedian)
    }
    return best
  }
  return all.map((c) => {
    const s = samples.get(c) ?? []
    const paired = s.map((v, i) => v / (base[i] as number)).sort((a, b) => a - b)
    const ratio = median(s) / baseMedian
    let note = c.note ?? ''
    if (c === baseline) note = note ? `baseline; ${note}` : 'baseline'
    // A smoke run's figures mean nothing, so it judges no target.
    if (c.target !== undefined && !cfg.quick) {
      const met = ratio >= c.target
      note = `${note ? `${note}; ` : ''}target >=${c.target}: ${met ? 'MET' : `MISSED (${fmtRatio(ratio / c.target)} of target)`}`
    }
    if (c.targetVs !== undefined && !cfg.quick) {
      const best = bestRatio(c.targetVs.best)
      const want = best * c.targetVs.factor
      const met = ratio >= want
      note = `${note ? `${note}; ` : ''}target >=${c.targetVs.factor}x best peer (${fmtRatio(want)}): ${met ? 'MET' : `MISSED (${fmtRatio(ratio / best)}x best peer)`}`
    }
    for (const v of c.versus === undefined ? [] : Array.isArray(c.versus) ? c.versus : [c.versus]) {
      note = `${note ? `${note}; ` : ''}${versusNote(cfg, v as Versus, s, all, samples)}`
    }
    return { name: c.name, medianOps: median(s), ratio, p25: quantile(paired, 0.25), p75: quantile(paired, 0.75), note }
  })
}

function versusNote(
  cfg: BenchConfig,
  v: Versus,
  own: readonly number[],
  all: readonly Contender[],
  samples: ReadonlyMap<Contender, number[]>,
): string {
  const other = all.find((c) => c.name === v.name)
  const theirs = other ? (samples.get(other) ?? []) : []
  if (theirs.length === 0) return `${v.label}: n/a (no ${v.name} row)`
  const ratio = median(own) / median(theirs)
  const paired = own.map((x, i) => x / (theirs[i] as number)).sort((a, b) => a - b)
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a')
  const text = `${v.label} ${f(ratio)} (IQR ${f(quantile(paired, 0.25))}-${f(quantile(paired, 0.75))})`
  return cfg.quick ? text : `${text}, target >=${v.min}: ${ratio >= v.min ? 'MET' : 'MISSED'}`
}

export { fmtOps, fmtRatio, header, rowsTable, table } from './format'
export { gc, now }
