// H1's memcached pair alone, one call in flight, for finding where memokit's hit loses to the raw read:
// `node --expose-gc --import tsx src/profile-memcached.ts [rounds] [hits per round]` (from bench/; add
// TSX_TSCONFIG_PATH=tsconfig.built.json to load the built packages). The rows are H1's own (memcachedPair: its
// memcached on H1_MEMCACHED_PORT, stopped by PID at the end), interleaved round by round; prints each row's median
// µs per hit (wall and this process's CPU) and its median per-round ratio to the raw read. `--cpu-prof` profiles
// the whole run; `MC_ONLY=<row name>` times one row only (e.g. `MC_ONLY=memokit`), for a cleaner profile.
import { cacheValue } from '@memokit/core'
import { HOT } from './redis-common'
import { memcachedPair } from './scenarios/h1-memcached'

type Call = (k: number) => Promise<unknown>

const rounds = Number(process.argv[2] ?? 15)
const hits = Number(process.argv[3] ?? 4000)
const only = process.env.MC_ONLY
// Untimed hits after each round's GC, as the harness's settleMs: `MC_WARM=0` times the re-optimization too.
const warm = Number(process.env.MC_WARM ?? 1000)

const pair = await memcachedPair(cacheValue as never)
if (typeof pair === 'string') throw new Error(`memcached pair not available: ${pair}`)
const rows: [string, Call][] = [
  [pair.raw.name, pair.raw.call],
  ...pair.memokit.map((m): [string, Call] => [m.name, m.call]),
]
// memokit's rows start empty: one miss per key first, so every timed call is a hit (H1's tally checks that).
for (const [, call] of rows.slice(1)) for (let k = 0; k < HOT; k++) await call(k)
pair.tally.computed = 0

const timed = async (call: Call): Promise<{ wall: number; cpu: number }> => {
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  for (let i = 0; i < hits; i++) await call(i % HOT)
  const used = process.cpuUsage(cpu)
  return { wall: Number(process.hrtime.bigint() - started) / 1000 / hits, cpu: (used.user + used.system) / hits }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const results = new Map<string, { wall: number[]; cpu: number[]; ratio: number[] }>()
for (let r = 0; r < rounds; r++) {
  let rawWall = Number.NaN
  for (const [i, [name, call]] of rows.entries()) {
    if (only !== undefined && name !== only) continue
    ;(globalThis as { gc?: () => void }).gc?.()
    for (let i = 0; i < warm; i++) await call(i % HOT)
    const t = await timed(call)
    if (i === 0) rawWall = t.wall
    const acc = results.get(name) ?? { wall: [], cpu: [], ratio: [] }
    acc.wall.push(t.wall)
    acc.cpu.push(t.cpu)
    acc.ratio.push(rawWall / t.wall)
    results.set(name, acc)
  }
}
for (const [i, [name]] of rows.entries()) {
  const acc = results.get(name)
  if (acc === undefined) continue
  const ratio = i === 0 || only !== undefined ? '' : `, ops ratio to raw ${median(acc.ratio).toFixed(3)}`
  console.log(`${name}: µs per hit: wall ${median(acc.wall).toFixed(2)}, cpu ${median(acc.cpu).toFixed(2)}${ratio}`)
}
if (pair.tally.computed > 0 || pair.tally.failures > 0)
  console.log(`NOT all hits: the function ran ${pair.tally.computed} times, the storage failed ${pair.tally.failures}`)
await pair.close()
