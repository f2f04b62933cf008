// L1 (issue 14 §3): open-loop latency of a cached async function over Redis, memokit against its peers. Requests
// arrive on a Poisson schedule; latency counts from each request's intended start (see ../open-loop.ts).
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { gc } from '../harness'
import {
  type OpenLoopResult,
  percentile,
  poissonPlan,
  runOpenLoop,
  seededRandom,
  selfCheck,
  zipfSampler,
} from '../open-loop'
import { cleanup, reachable, redisUrl, type Value, valueFor } from '../redis-common'
import { l1Memokit } from './l1-memokit'
import { L1_KEYS, L1_TTL_MS, type L1Instance, type L1Row, l1Peers } from './l1-peers'
import { rateTable, type Slice } from './l1-report'
import type { Scenario } from './types'

const ORIGIN_MS = 20
const ORIGIN_JITTER_MS = 5
/** YCSB's Zipf constant. */
const ZIPF_S = 0.99
const SEED = 14_03

/** What one L1 run does: arrival rates (requests/s), rounds, and each slice's unrecorded and recorded parts (ms). */
export interface Settings {
  readonly rates: readonly number[]
  readonly rounds: number
  /** Unrecorded start of every slice: the cache reaches its steady state (a TTL's worth and more). */
  readonly warmupMs: number
  readonly measureMs: number
}

// 2,000/s and 5,000/s: see the README's L1 section (an estimate from R1's rates, checked by the generator lag).
const FULL: Settings = { rates: [2000, 5000], rounds: 5, warmupMs: 1500, measureMs: 3000 }
const QUICK: Settings = { rates: [300], rounds: 1, warmupMs: 200, measureMs: 400 }

/** FULL or QUICK, with `L1_RATES` (requests/s, comma-separated) and `L1_ROUNDS` from the environment if set. */
function settings(quick: boolean): Settings {
  const base = quick ? QUICK : FULL
  const numbers = (name: string, integer: boolean): number[] | undefined => {
    const raw = process.env[name]
    if (raw === undefined || raw.trim() === '') return undefined
    const xs = raw.split(',').map((x) => Number(x.trim()))
    if (xs.some((x) => !(x > 0 && Number.isFinite(x) && (!integer || Number.isInteger(x)))))
      throw new Error(
        `${name}=${raw}: expected positive ${integer ? 'integers' : 'numbers'}, e.g. ${name}=${integer ? '3' : '500,1000'}`,
      )
    return xs
  }
  const rates = numbers('L1_RATES', false)
  const rounds = numbers('L1_ROUNDS', true)?.[0]
  return { ...base, ...(rates ? { rates } : {}), ...(rounds ? { rounds } : {}) }
}

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

/** A row set up and checked: its instance and its counting origin. */
export interface Live {
  readonly row: L1Row
  readonly inst: L1Instance
  readonly origin: Origin
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

/** L1: open-loop latency over Redis at two arrival rates. */
export const l1: Scenario = {
  id: 'L1',
  title: `open-loop latency over Redis: Poisson arrivals, Zipf(${ZIPF_S}) over ${L1_KEYS} keys, origin ${ORIGIN_MS} ± ${ORIGIN_JITTER_MS} ms, TTL ${L1_TTL_MS} ms`,
  async run(cfg, log) {
    selfCheck()
    const s = settings(cfg.quick)
    const url = redisUrl()
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
