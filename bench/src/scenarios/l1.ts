// L1 (issue 14 §3): open-loop latency of a cached async function over Redis, memokit against its peers. Requests
// arrive on a Poisson schedule; latency counts from each request's intended start (see ../open-loop.ts).
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { gc, median, table } from '../harness'
import {
  type OpenLoopResult,
  percentile,
  poissonPlan,
  runOpenLoop,
  seededRandom,
  selfCheck,
  zipfSampler,
} from '../open-loop'
import { l1Memokit } from './l1-memokit'
import { L1_KEYS, L1_TTL_MS, type L1Instance, type L1Row, l1Peers } from './l1-peers'
import { cleanup, reachable, type Value, valueFor } from './redis-common'
import type { Scenario } from './types'

const ORIGIN_MS = 20
const ORIGIN_JITTER_MS = 5
/** YCSB's Zipf constant. */
const ZIPF_S = 0.99
const SEED = 14_03

interface Settings {
  readonly rates: readonly number[]
  readonly rounds: number
  /** Unrecorded start of every slice: the cache reaches its steady state (a TTL's worth and more). */
  readonly warmupMs: number
  readonly measureMs: number
}

// 2,000/s and 5,000/s: the fastest rows answer most calls from Redis in 0.1-0.3 ms, so 5,000/s keeps one core of
// this 2-core machine (the other runs Redis) well below saturation; the generator-lag column shows it did.
const FULL: Settings = { rates: [2000, 5000], rounds: 5, warmupMs: 1500, measureMs: 3000 }
const QUICK: Settings = { rates: [300], rounds: 1, warmupMs: 200, measureMs: 400 }
/** A row whose requests started this late (p99) had a saturated event loop: its latencies are queueing, mostly. */
const SATURATED_LAG_MS = 2

/** The cached function's origin: 20 ms ± 5 ms on a timer (no CPU), counting its calls. */
interface Origin {
  readonly load: (k: number) => Promise<Value>
  calls: number
  reseed(seed: number): void
}

function makeOrigin(): Origin {
  let rand = seededRandom(SEED)
  const origin: Origin = {
    calls: 0,
    reseed: (seed) => {
      rand = seededRandom(seed)
    },
    load: (k) => {
      origin.calls++
      const ms = Math.round(ORIGIN_MS + (rand() * 2 - 1) * ORIGIN_JITTER_MS)
      return sleep(ms).then(() => valueFor(k))
    },
  }
  return origin
}

interface Live {
  readonly row: L1Row
  readonly inst: L1Instance
  readonly origin: Origin
}

/** One row's figures for one slice. */
interface Slice {
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly callsPerRequest: number
  readonly lagP99: number
  readonly errors: number
  readonly firstError: unknown
}

const isRight = (k: number, v: unknown): boolean => (v as Value | undefined)?.id === k

async function slice(live: Live, plan: ReturnType<typeof poissonPlan>, seed: number): Promise<Slice> {
  live.origin.reseed(seed)
  let base = 0
  const r: OpenLoopResult = await runOpenLoop(plan, live.inst.call, isRight, () => {
    base = live.origin.calls
  })
  if (r.wrong > 0) throw new Error(`L1: ${live.row.name} returned ${r.wrong} wrong values`)
  // Background refreshes started by the last requests start (and are counted) and finish before the next row's slice.
  await sleep(ORIGIN_MS + ORIGIN_JITTER_MS + 20)
  const calls = live.origin.calls - base
  return {
    p50: percentile(r.latencies, 0.5),
    p99: percentile(r.latencies, 0.99),
    p999: percentile(r.latencies, 0.999),
    callsPerRequest: calls / r.latencies.length,
    lagP99: percentile(r.lags, 0.99),
    errors: r.errors,
    firstError: r.firstError,
  }
}

/** Sets each row up, and checks it returns the right value on a miss and on a hit (keys outside the Zipf range). */
async function setUp(url: string, rows: readonly L1Row[], lines: string[]): Promise<Live[]> {
  const live: Live[] = []
  for (const row of rows) {
    const origin = makeOrigin()
    try {
      const inst = await row.make(url, origin.load)
      live.push({ row, inst, origin })
      for (const k of [L1_KEYS + 1, L1_KEYS + 2, L1_KEYS + 1]) {
        const v = await inst.call(k)
        if (!isRight(k, v)) throw new Error(`returned ${JSON.stringify(v)?.slice(0, 80)} for key ${k}`)
      }
    } catch (error) {
      lines.push(`${row.name} skipped: ${error instanceof Error ? error.message : String(error)}`)
      const failed = live.findIndex((l) => l.row === row)
      if (failed >= 0)
        await live
          .splice(failed, 1)[0]
          ?.inst.close()
          .catch(() => {})
    }
  }
  return live
}

/** Every row, in an order shuffled once and rotated each round, each alone for its slice; per-round figures. */
async function measureRate(
  live: readonly Live[],
  s: Settings,
  rate: number,
  log: (line: string) => void,
): Promise<Map<Live, Slice[]>> {
  const zipf = zipfSampler(L1_KEYS, ZIPF_S)
  const rand = seededRandom(SEED + rate)
  const order = [...live]
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[order[i], order[j]] = [order[j] as Live, order[i] as Live]
  }
  const out = new Map<Live, Slice[]>(live.map((l) => [l, []]))
  for (let r = 0; r < s.rounds; r++) {
    // One plan per round: every row gets the same arrivals and keys, and origin delays from the same seed.
    const seed = SEED * 1000 + rate + r
    const plan = poissonPlan(rate, s.warmupMs, s.measureMs, zipf, seed)
    for (let k = 0; k < order.length; k++) {
      const l = order[(k + r) % order.length] as Live
      gc()
      out.get(l)?.push(await slice(l, plan, seed))
    }
    log(`  L1 ${rate}/s round ${r + 1}/${s.rounds}`)
  }
  return out
}

const ms = (v: number): string => (!Number.isFinite(v) ? 'n/a' : v >= 10 ? v.toFixed(1) : v.toFixed(2))
// Late starts mean the process (this row's CPU per request) or the machine could not keep up: queueing, mostly.
const saturated = (lag: number): string => (lag > SATURATED_LAG_MS ? 'SATURATED (see generator lag)' : '')
const describeError = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e)
  const code = (e as { code?: unknown }).code
  return `${e.name}${code === undefined ? '' : ` ${String(code)}`}${e.message ? `: ${e.message.slice(0, 120)}` : ''}`
}
const med = (xs: readonly Slice[], f: (x: Slice) => number): number => median(xs.map(f))

function rateTable(rate: number, s: Settings, figures: Map<Live, Slice[]>, quick: boolean): string[] {
  const rows: string[][] = []
  for (const [l, xs] of figures) {
    const p99s = xs.map((x) => x.p99)
    const errors = xs.reduce((a, x) => a + x.errors, 0)
    const firstError = xs.find((x) => x.errors > 0)?.firstError
    const errNote = errors > 0 ? `${errors} errors (first: ${describeError(firstError)})` : ''
    rows.push([
      l.row.name,
      ms(med(xs, (x) => x.p50)),
      ms(med(xs, (x) => x.p99)),
      ms(med(xs, (x) => x.p999)),
      `${ms(Math.min(...p99s))}-${ms(Math.max(...p99s))}`,
      med(xs, (x) => x.callsPerRequest).toFixed(3),
      ms(med(xs, (x) => x.lagP99)),
      [l.row.note, errNote, saturated(med(xs, (x) => x.lagP99)), l.inst.status?.()].filter(Boolean).join('; '),
    ])
  }
  const requests = Math.round((rate * s.measureMs) / 1000)
  return [
    `\n### L1 at ${rate} requests/s (~${requests} recorded per slice, medians of ${s.rounds} round${s.rounds > 1 ? 's' : ''})`,
    table(
      [
        'contender',
        'p50 ms',
        'p99 ms',
        'p99.9 ms',
        'p99 range',
        'origin calls/request',
        'generator lag p99 ms',
        'note',
      ],
      rows,
    ),
    ...(quick ? [] : [target(figures)]),
  ]
}

/** Issue 14's target: the best memokit row has the lowest p99 and the fewest origin calls of all rows. */
function target(figures: Map<Live, Slice[]>): string {
  const best = (mine: boolean, f: (x: Slice) => number): [string, number] => {
    let found: [string, number] = ['none', Number.POSITIVE_INFINITY]
    for (const [l, xs] of figures) {
      const v = med(xs, f)
      if ((l.row.memokit === true) === mine && v < found[1]) found = [l.row.name, v]
    }
    return found
  }
  const [mkP99, mkP99v] = best(true, (x) => x.p99)
  const [peerP99, peerP99v] = best(false, (x) => x.p99)
  const [mkCalls, mkCallsV] = best(true, (x) => x.callsPerRequest)
  const [peerCalls, peerCallsV] = best(false, (x) => x.callsPerRequest)
  const met = mkP99v < peerP99v && mkCallsV < peerCallsV
  return [
    `target (lowest p99 and fewest origin calls of all rows): ${met ? 'MET' : 'MISSED'}.`,
    `p99: ${mkP99} ${ms(mkP99v)} ms vs best peer ${peerP99} ${ms(peerP99v)} ms (${(mkP99v / peerP99v).toFixed(3)}x);`,
    `origin calls/request: ${mkCalls} ${mkCallsV.toFixed(3)} vs best peer ${peerCalls} ${peerCallsV.toFixed(3)} (${(mkCallsV / peerCallsV).toFixed(3)}x)`,
  ].join(' ')
}

/** L1: open-loop latency over Redis at two arrival rates. */
export const l1: Scenario = {
  id: 'L1',
  title: `open-loop latency over Redis: Poisson arrivals, Zipf(${ZIPF_S}) over ${L1_KEYS} keys, origin ${ORIGIN_MS} ± ${ORIGIN_JITTER_MS} ms, TTL ${L1_TTL_MS} ms`,
  async run(cfg, log) {
    selfCheck()
    const s = cfg.quick ? QUICK : FULL
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
    const down = await reachable(url)
    if (down !== undefined)
      return { id: 'L1', title: this.title, rows: [], lines: [`L1 skipped: Redis at ${url} unreachable (${down})`] }
    const prefix = `mkbench-${process.pid}-${randomBytes(4).toString('hex')}`
    const lines = [
      `server ${url}, key prefix ${prefix} (removed at the end); latency from each request's intended start;`,
      `slices of ${s.warmupMs} ms unrecorded + ${s.measureMs} ms recorded per row, rows alone in turn, order rotated each round`,
    ]
    const mk = await l1Memokit(prefix)
    lines.push(...mk.skipped)
    const live = await setUp(url, [...mk.rows, ...l1Peers(prefix)], lines)
    try {
      for (const rate of s.rates) lines.push(...rateTable(rate, s, await measureRate(live, s, rate, log), cfg.quick))
    } finally {
      for (const { inst } of live) await inst.close().catch(() => {})
      const removed = await cleanup(url, prefix).catch(() => -1)
      lines.push(`cleanup: ${removed} keys under ${prefix}* removed`)
    }
    return { id: 'L1', title: this.title, rows: [], lines }
  },
}
