import { randomBytes } from 'node:crypto'
import { type BenchConfig, type Contender, compileLoop, measure, type Row, rowsTable, table } from '../harness'
import {
  cleanup,
  HOT,
  hitLoop,
  type Instance,
  type Mode,
  message,
  type RedisContender,
  reachable,
  redisUrl,
  TTL_MS,
  valueFor,
} from '../redis-common'
import { startRespCounter } from '../resp-counter'
import { memokitPair } from './r1-memokit'
import { contenders } from './r1-peers'
import { assertSame, type Scenario } from './types'

const IN_FLIGHT = 64
const MISS_BASE = 1_000_000

const LOOPS = {
  // 64 distinct consecutive keys per batch, so in-flight de-duplication can't skip round trips.
  hit64: hitLoop(IN_FLIGHT),
  hit1: hitLoop(1),
  // A key never used before on every call: a miss, the function, and a write.
  miss: `let s = 0
for (let i = 0; i < n; i++) s += (await call(st.miss++)).id
return s`,
} as const satisfies Record<Mode, string>

function modeConfig(cfg: BenchConfig, mode: Mode): BenchConfig {
  // Misses write a new ~1 KB key per call into a shared server: fewer, shorter rounds keep that bounded.
  // Hits get longer slices: network round trips are noisier than in-memory loops.
  if (mode !== 'miss') return cfg.quick ? cfg : { ...cfg, sliceMs: Math.max(cfg.sliceMs, 250) }
  return { ...cfg, rounds: Math.max(2, Math.ceil(cfg.rounds / 2)), sliceMs: Math.min(cfg.sliceMs, 100) }
}

/** R1: Redis hits and misses against raw node-redis. */
export const r1: Scenario = {
  id: 'R1',
  title: `Redis, ~1 KB JSON value (baseline: node-redis GET + JSON.parse on the same server)`,
  async run(cfg, log) {
    const url = redisUrl()
    const lines: string[] = []
    const down = await reachable(url)
    if (down !== undefined) {
      return { id: 'R1', title: this.title, rows: [], lines: [`R1 skipped: Redis at ${url} unreachable (${down})`] }
    }
    const prefix = `mkbench-${process.pid}-${randomBytes(4).toString('hex')}`
    lines.push(`server ${url}, key prefix ${prefix} (removed at the end), TTL ${TTL_MS / 1000} s`)
    const all = contenders(prefix)
    const pair = await memokitPair(prefix)
    lines.push(...pair.skipped)
    all.push(...pair.list)

    const live: { c: RedisContender; inst: Instance }[] = []
    try {
      for (const c of all) {
        try {
          const inst = await c.make(url)
          live.push({ c, inst })
        } catch (error) {
          lines.push(`${c.name} skipped: could not set up (${message(error)})`)
        }
      }
      // Fill the hot keys (each contender's own), then check every contender reads back the right values.
      for (const { c, inst } of live) {
        const want = Array.from({ length: HOT }, (_, k) => valueFor(k))
        await Promise.all(want.map((_, k) => inst.call(k)))
        await inst.ready?.()
        assertSame(c.name, await Promise.all(want.map((_, k) => inst.call(k))), want)
      }
      const [base, ...rest] = live
      if (!base) throw new Error('R1: the baseline could not be set up')
      const sections: [Mode, string][] = [
        ['hit64', `hits, ${IN_FLIGHT} calls in flight`],
        ['hit1', 'hits, 1 call in flight (sequential)'],
        ['miss', 'miss + write, 1 call in flight (a new key each call)'],
      ]
      for (const [mode, label] of sections) {
        log(`  R1 ${label}`)
        const toContender = ({ c, inst }: { c: RedisContender; inst: Instance }): Contender => ({
          name: c.name,
          note: c.note,
          ...(mode === 'hit64' && c.target !== undefined ? { target: c.target } : {}),
          ...(c.versus !== undefined ? { versus: c.versus } : {}),
          unit: mode === 'hit64' ? IN_FLIGHT : 1,
          loop: compileLoop({ call: inst.call, st: { next: 0, miss: MISS_BASE } }, LOOPS[mode], 'async'),
        })
        const those = rest.filter(({ c }) => c.modes === undefined || c.modes.includes(mode))
        const rows: Row[] = await measure(modeConfig(cfg, mode), toContender(base), those.map(toContender), log)
        lines.push(`\n### R1 ${label}`, rowsTable(rows))
      }
      lines.push('', await roundTrips(url, all, log))
    } finally {
      for (const { inst } of live) await inst.close().catch(() => {})
      const removed = await cleanup(url, prefix).catch(() => -1)
      lines.push(`cleanup: ${removed} keys under ${prefix}* removed`)
    }
    return { id: 'R1', title: this.title, rows: [], lines }
  },
}

/** Untimed: commands each contender sends per hit and per miss, counted on the wire through a proxy. */
async function roundTrips(url: string, all: readonly RedisContender[], log: (s: string) => void): Promise<string> {
  log('  R1 round trips')
  const counter = await startRespCounter(new URL(url))
  const rows: string[][] = []
  const describe = (m: Map<string, number>, per: number): string =>
    [...m].map(([name, n]) => `${name} ${Number.isInteger(n / per) ? n / per : (n / per).toFixed(2)}`).join(', ') ||
    'none'
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)
  try {
    for (const c of all) {
      let inst: Instance | undefined
      try {
        inst = await c.make(counter.url)
        // Warm the connection (handshake commands), and make sure keys 0..31 exist for this contender.
        for (let k = 0; k < 32; k++) await inst.call(k)
        await inst.ready?.()
        counter.reset()
        const HITS = 32
        for (let k = 0; k < HITS; k++) await inst.call(k)
        const hits = counter.counts()
        counter.reset()
        const MISSES = 8
        for (let k = 0; k < MISSES; k++) await inst.call(MISS_BASE * 10 + k)
        const misses = counter.counts()
        const perHit = total(hits) / HITS
        const verdict =
          c.target !== undefined
            ? perHit === 1
              ? '; one round trip per hit: MET'
              : '; one round trip per hit: MISSED'
            : ''
        rows.push([
          c.name,
          String(perHit),
          describe(hits, HITS) + verdict,
          String(total(misses) / MISSES),
          describe(misses, MISSES),
        ])
      } catch (error) {
        rows.push([c.name, 'n/a', `failed: ${message(error)}`, '', ''])
      } finally {
        await inst?.close().catch(() => {})
      }
    }
  } finally {
    await counter.close()
  }
  return `### R1 commands sent per call (counted on the wire, sequential)\n${table(
    ['contender', 'cmds/hit', 'hit commands', 'cmds/miss', 'miss commands'],
    rows,
  )}`
}
