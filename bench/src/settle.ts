// The untimed run between a contender's GC and its slice (harness.ts `measure`), until V8 is done re-optimizing.
//
// A full GC deoptimizes optimized code that embeds objects it found dead ("weak objects" in `--trace-deopt`); the
// contender's first calls after it run unoptimized until the optimizing compiler, on a thread of its own, has
// compiled its functions again. How long that takes depends on the machine, not the contender alone: on one VM
// 50 ms was enough, on another memcached's one-at-a-time hit still spent ~11 µs per call of compiler-thread CPU
// in the first 4,000 calls after the GC (the raw read ~3 µs) and measured 0.80-0.87 of the raw read, against
// 0.93-0.96 once those threads were quiet (bench/HISTORY.md, 2026-12-06). So the settle runs `minMs`, then on
// in steps until the process's other threads (compiler, GC helpers) are back to what they use while the contender
// runs optimized: a contender that allocates a lot keeps the GC's helper threads busy at any time.
import { readdirSync, readFileSync } from 'node:fs'

/** Settle steps after `minMs`, ms. */
const STEP_MS = 25
/** Quiet steps in a row that end the settle. */
const QUIET_STEPS = 2
/** Other threads' CPU in one step under this share of the step counts as settled, whatever the contender. */
const IDLE_SHARE = 0.1
/** Or under this many times the share the contender's own timed slices used (its lowest so far). */
const STEADY_FACTOR = 1.5

/**
 * CPU time, in ms, used so far by this process's threads other than the main one (Linux's /proc); `undefined`
 * where that can't be read (then the settle is `minMs` alone).
 */
export function otherThreadsCpuMs(): number | undefined {
  try {
    let ns = 0
    for (const task of readdirSync('/proc/self/task')) {
      if (task === String(process.pid)) continue
      // schedstat's first field: time spent on a CPU, ns.
      ns += Number(readFileSync(`/proc/self/task/${task}/schedstat`, 'utf8').split(' ')[0])
    }
    return ns / 1e6
  } catch {
    return undefined
  }
}

/**
 * Runs `run(ms)` for `minMs`, then in steps of 25 ms until, two steps in a row, this process's other threads used
 * under a tenth of a step or under 1.5 times `steadyShare` (their share of the contender's timed slices), or
 * `maxMs` in all. Returns the ms spent.
 */
async function settle(
  run: (ms: number) => Promise<unknown>,
  minMs: number,
  maxMs: number,
  steadyShare = 0,
): Promise<number> {
  const settledBelow = Math.max(IDLE_SHARE, steadyShare * STEADY_FACTOR) * STEP_MS
  await run(minMs)
  let spent = minMs
  const first = otherThreadsCpuMs()
  if (first === undefined) return spent
  let before = first
  // Two quiet steps in a row: the compiler picks up a function only once its calls have made it hot again, so one
  // quiet step can fall between two bursts of compiling.
  let quiet = 0
  while (spent < maxMs && quiet < QUIET_STEPS) {
    await run(STEP_MS)
    spent += STEP_MS
    const after: number = otherThreadsCpuMs() ?? before
    quiet = after - before < settledBelow ? quiet + 1 : 0
    before = after
  }
  return spent
}

/** The settles of one table: each contender's untimed run after its GC, and its timed slice. */
export interface Settler<K> {
  /** Settles `key`'s contender after the GC (`run(ms)` runs it for about ms). */
  settle(key: K, run: (ms: number) => Promise<unknown>): Promise<void>
  /** Times `key`'s slice with `slice()`, noting the share of it the process's other threads used. */
  timed<T>(key: K, slice: () => Promise<T>): Promise<T>
  /** The median and longest settle so far, for the log. */
  summary(): string
}

/** A {@link Settler}: at least `minMs`, at most `maxMs` per settle. */
export function createSettler<K>(minMs: number, maxMs: number): Settler<K> {
  const spent: number[] = []
  // Per contender, the lowest share of a timed slice its process's other threads used.
  const steady = new Map<K, number>()
  return {
    async settle(key, run) {
      spent.push(await settle(run, minMs, maxMs, steady.get(key)))
    },
    async timed(key, slice) {
      const cpu = otherThreadsCpuMs()
      const start = performance.now()
      const result = await slice()
      if (cpu !== undefined) {
        const share = ((otherThreadsCpuMs() ?? cpu) - cpu) / (performance.now() - start)
        steady.set(key, Math.min(share, steady.get(key) ?? share))
      }
      return result
    },
    summary() {
      const sorted = [...spent].sort((a, b) => a - b)
      return `median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`
    },
  }
}
