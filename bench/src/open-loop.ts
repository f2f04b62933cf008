// Open-loop load generation for L1: a seeded PRNG, a Zipf key sampler, a Poisson arrival schedule, the driver that
// starts each request at its intended time, and percentiles. Latency is measured from the intended start, so a
// request that the event loop could only start late still counts from when it should have started (no coordinated
// omission). `selfCheck()` runs at the scenario's start: the bench has no test runner, and a sampler that drifted
// would make every figure wrong without failing anything.
import { performance } from 'node:perf_hooks'

/** A deterministic uniform source in [0, 1) (mulberry32): the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Zipf over keys 0..n-1: key k (rank k+1) has probability proportional to 1 / (k+1)^s. Inverse-CDF sampling over a
 * precomputed table (binary search), exact for any s.
 */
export function zipfSampler(n: number, s: number): (u: number) => number {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** s
    cdf[k] = sum
  }
  for (let k = 0; k < n; k++) cdf[k] = (cdf[k] as number) / sum
  return (u) => {
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((cdf[mid] as number) > u) hi = mid
      else lo = mid + 1
    }
    return lo
  }
}

/** What one slice sends: request i starts `at[i]` ms after the slice's start, for key `keys[i]`. */
export interface Plan {
  readonly at: Float64Array
  readonly keys: Int32Array
  /** Requests before this index warm the cache up and are not recorded. */
  readonly measureFrom: number
}

/**
 * A Poisson arrival schedule: exponential gaps at `ratePerSec` for `warmupMs + measureMs`, keys drawn from `key`.
 * One seed gives one plan, so every contender of a round gets the same arrivals and keys.
 */
export function poissonPlan(
  ratePerSec: number,
  warmupMs: number,
  measureMs: number,
  key: (u: number) => number,
  seed: number,
): Plan {
  const rand = seededRandom(seed)
  const meanGap = 1000 / ratePerSec
  const at: number[] = []
  const keys: number[] = []
  let measureFrom = -1
  // Exponential gaps: -mean * ln(1 - u), u uniform in [0, 1).
  const gap = (): number => -meanGap * Math.log(1 - rand())
  for (let t = gap(); t < warmupMs + measureMs; t += gap()) {
    if (measureFrom < 0 && t >= warmupMs) measureFrom = at.length
    at.push(t)
    keys.push(key(rand()))
  }
  return {
    at: Float64Array.from(at),
    keys: Int32Array.from(keys),
    measureFrom: measureFrom < 0 ? at.length : measureFrom,
  }
}

/** One slice's outcome, for the recorded requests only. */
export interface OpenLoopResult {
  /** Milliseconds from each request's intended start to its settlement, sorted ascending. */
  readonly latencies: Float64Array
  /** How late the driver started each request, ms, sorted: the load generator's (and event loop's) own delay. */
  readonly lags: Float64Array
  readonly errors: number
  readonly firstError: unknown
  /** Results that were not the value of the requested key. */
  readonly wrong: number
}

/**
 * Sends `plan` open-loop: each request starts when its time comes, whether or not earlier ones finished. Between
 * arrivals more than ~1.5 ms apart the driver sleeps on a timer, otherwise it yields with setImmediate, so replies
 * are read between arrivals. `onMeasure` runs just before the first recorded request starts. Rejects when requests
 * are still pending `maxDrainMs` (default 60 s) after the last arrival: a hung row, not a slow one.
 */
export function runOpenLoop(
  plan: Plan,
  call: (key: number) => PromiseLike<unknown>,
  isRight: (key: number, value: unknown) => boolean,
  onMeasure: () => void,
  maxDrainMs = 60_000,
): Promise<OpenLoopResult> {
  const { at, keys, measureFrom } = plan
  const n = at.length
  const lat = new Float64Array(n)
  const lag = new Float64Array(n)
  let errors = 0
  let wrong = 0
  let firstError: unknown
  let pending = n
  let next = 0
  return new Promise((resolve, reject) => {
    const t0 = performance.now() + 1
    let guard: NodeJS.Timeout | undefined
    const settle = (i: number, ok: boolean, value: unknown): void => {
      lat[i] = performance.now() - (t0 + (at[i] as number))
      if (i >= measureFrom) {
        if (!ok) {
          errors++
          firstError ??= value
        } else if (!isRight(keys[i] as number, value)) wrong++
      }
      if (--pending === 0) {
        clearTimeout(guard)
        const sorted = (a: Float64Array): Float64Array => a.slice(measureFrom).sort()
        resolve({ latencies: sorted(lat), lags: sorted(lag), errors, firstError, wrong })
      }
    }
    const fire = (i: number): void => {
      if (i === measureFrom) onMeasure()
      lag[i] = performance.now() - (t0 + (at[i] as number))
      let p: PromiseLike<unknown>
      try {
        p = call(keys[i] as number)
      } catch (error) {
        p = Promise.reject(error)
      }
      p.then(
        (v) => settle(i, true, v),
        (e: unknown) => settle(i, false, e),
      )
    }
    const tick = (): void => {
      const t = performance.now() - t0
      while (next < n && (at[next] as number) <= t) fire(next++)
      if (next >= n) {
        guard = setTimeout(
          () => reject(new Error(`${pending} requests still pending ${maxDrainMs} ms after the last arrival`)),
          maxDrainMs,
        )
        return
      }
      const wait = (at[next] as number) - (performance.now() - t0)
      if (wait > 1.5) setTimeout(tick, wait - 1)
      else setImmediate(tick)
    }
    if (n === 0) resolve({ latencies: lat, lags: lag, errors, firstError, wrong })
    else setImmediate(tick)
  })
}

/** Nearest-rank percentile of an ascending array (q in [0, 1]): the smallest value with at least q of the data at or below it. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.max(1, Math.ceil(q * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1] as number
}

/** Throws if the sampler, the schedule or the percentiles are off: figures built on them would be silently wrong. */
export function selfCheck(): void {
  const fail = (what: string): never => {
    throw new Error(`open-loop self-check failed: ${what}`)
  }
  const sorted = Float64Array.from({ length: 1000 }, (_, i) => i + 1)
  if (percentile(sorted, 0.5) !== 500 || percentile(sorted, 0.99) !== 990 || percentile(sorted, 0.999) !== 999)
    fail('percentiles of 1..1000')
  if (percentile(sorted, 0) !== 1 || percentile(sorted, 1) !== 1000) fail('percentile bounds')
  const a = seededRandom(7)
  const b = seededRandom(7)
  for (let i = 0; i < 100; i++) if (a() !== b()) fail('seeded PRNG not deterministic')
  // Zipf s=1 over 100 keys: P(k) = 1/((k+1) H_100), H_100 = 5.18738; rank 1 ~19.3%, rank 2 ~9.6%, rank 100 ~0.19%.
  const zipf = zipfSampler(100, 1)
  const counts = new Int32Array(100)
  const rand = seededRandom(42)
  const draws = 200_000
  for (let i = 0; i < draws; i++) (counts[zipf(rand())] as number)++
  const h = 5.187377517639621
  for (const k of [0, 1, 9, 99]) {
    const want = draws / ((k + 1) * h)
    const got = counts[k] as number
    if (Math.abs(got - want) > 5 * Math.sqrt(want)) fail(`zipf key ${k}: ${got} draws, expected ~${want.toFixed(0)}`)
  }
  if (zipf(0) !== 0 || zipf(0.999999999) !== 99) fail('zipf bounds')
  // Poisson at 1000/s for 10 s: about 10,000 arrivals (sd 100), gaps' mean 1 ms and standard deviation 1 ms.
  const plan = poissonPlan(1000, 1000, 9000, () => 0, 3)
  const m = plan.at.length
  if (Math.abs(m - 10_000) > 500) fail(`poisson count ${m}, expected ~10000`)
  let sum = 0
  let sq = 0
  for (let i = 1; i < m; i++) {
    const g = (plan.at[i] as number) - (plan.at[i - 1] as number)
    if (g < 0) fail('poisson arrivals out of order')
    sum += g
    sq += g * g
  }
  const mean = sum / (m - 1)
  const sd = Math.sqrt(sq / (m - 1) - mean * mean)
  if (Math.abs(mean - 1) > 0.05 || Math.abs(sd - 1) > 0.08) fail(`poisson gaps mean ${mean}, sd ${sd}`)
  if (Math.abs((plan.at[plan.measureFrom] as number) - 1000) > 20 || (plan.at[plan.measureFrom - 1] as number) >= 1000)
    fail('poisson measureFrom')
}
