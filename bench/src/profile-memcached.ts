// H1's memcached pair alone, for finding where memokit's hit loses to the raw read:
// `node --expose-gc --import tsx src/profile-memcached.ts [rounds] [hits per round]` (from bench/; add
// TSX_TSCONFIG_PATH=tsconfig.built.json to load the built packages). The rows are H1's own (memcachedPair: its
// memcached on H1_MEMCACHED_PORT, stopped by PID at the end), interleaved round by round, each timed after a forced
// GC and MC_WARM untimed hits. Prints each row's medians per hit: wall µs; this process's CPU (user + sys, all
// threads) and its main thread's alone; memcached's CPU; and how often memcached's threads and this main thread
// were put on a CPU per MC_FLIGHT hits (about the wake-ups); and the median per-round ratio to the raw read.
// Options (environment):
//   MC_FLIGHT=16       calls in flight, as H1's first table (batches awaited with Promise.all); default 1
//   MC_WARM=<n>        untimed hits after each GC (default 1000); 20000+ leaves out the re-optimization after it
//   MC_ONLY=<row>      times one row only (e.g. `memokit`), for `--cpu-prof` or callgrind
//   MC_BEFORE=<dir>    each memokit row again from another build of @memokit/memcached (`<dir>/index.js`, a copy
//                      of packages/memcached/dist under bench/, e.g. bench/.tmp/x, so that it resolves the same
//                      @memokit/core), on a memjs client of its own, timed right before or after the current row
//                      (swapped every round): prints the median per-round ratio before/current of CPU and wall
//                      (above 1: the current build is cheaper)
//   MC_SLOW=1          every row on a client made here with memjs's timeout and operationTimeoutMs at 60 s (under
//                      valgrind the defaults expire and the breaker opens)
//   MC_THREADS=1       also the CPU of this process's other threads (V8's compiler and GC workers)
//   MC_HOLD=1          one call stays in flight across each round's GC (a service never idle at a full GC)
//   MC_SPACES=1        bytes per hit each V8 heap space grew by in each slice
//   MC_EVENTS=<n>      prints the first n errors core reports (memokit:event)
import { subscribe } from 'node:diagnostics_channel'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { getHeapSpaceStatistics } from 'node:v8'
import { cacheValue } from '@memokit/core'
import { fetchValue, HOT, TTL_MS, valueFor } from './redis-common'
import { memcachedPair } from './scenarios/h1-memcached'

type Call = (k: number) => Promise<unknown>

const rounds = Number(process.argv[2] ?? 15)
const hits = Number(process.argv[3] ?? 4000)
const only = process.env.MC_ONLY
// Untimed hits after each round's GC, as the harness's settle (src/settle.ts): `MC_WARM=0` times the
// re-optimization too; on some VMs 1000 is too few (bench/HISTORY.md, eighteenth session).
const warm = Number(process.env.MC_WARM ?? 1000)
const flight = Number(process.env.MC_FLIGHT ?? 1)
const beforeDir = process.env.MC_BEFORE

let events = Number(process.env.MC_EVENTS ?? 0)
if (events > 0) {
  subscribe('memokit:event', (message) => {
    const error = (message as { error?: unknown }).error
    if (error === undefined || events <= 0) return
    events--
    console.log('event:', (message as { type?: unknown }).type, error instanceof Error ? error.stack : error)
  })
}

const pair = await memcachedPair(cacheValue as never)
if (typeof pair === 'string') throw new Error(`memcached pair not available: ${pair}`)
// The same server as the pair's (its first line names it), for the rows made here.
const address = /memcached (\S+) /.exec(pair.lines[0] ?? '')?.[1] as string
const require = createRequire(fileURLToPath(new URL('../../packages/memcached/package.json', import.meta.url)))
interface Memjs {
  get(key: string): Promise<{ value: Buffer | null }>
  set(key: string, value: string, options: { expires: number }): Promise<boolean>
  close(): void
}
const memjs = require('memjs') as { Client: { create(server: string, options: object): Memjs } }
const slow = process.env.MC_SLOW === '1'
const clients: Memjs[] = []
const newClient = (): Memjs => {
  const client = memjs.Client.create(address, { logger: { log: () => {} }, ...(slow ? { timeout: 60 } : {}) })
  clients.push(client)
  return client
}
// memokit's two rows from the memcached build `mc` (its memcachedStorage and fromMemjs), on a client of their own.
const memokitRows = (mc: Record<string, unknown>, prefix: string, suffix: string) => {
  const client = newClient()
  return ([0, 1000] as const).map((versionCacheMs): [string, Call] => [
    `memokit${versionCacheMs === 0 ? '' : `, versionCacheMs ${versionCacheMs}`}${suffix}`,
    cacheValue(
      (k: number) => {
        pair.tally.computed++
        return fetchValue(k)
      },
      {
        storage: (mc.memcachedStorage as (o: object) => never)({
          client: (mc.fromMemjs as (c: Memjs) => never)(client),
          prefix,
          versionCacheMs,
          ...(slow ? { operationTimeoutMs: 60_000 } : {}),
        }),
        name: `${prefix}.${versionCacheMs}`,
        ttl: TTL_MS,
        onError: () => {
          pair.tally.failures++
        },
      },
    ) as Call,
  ])
}
const rows: [string, Call][] = []
if (slow) {
  const raw = newClient()
  for (let k = 0; k < HOT; k++) await raw.set(`mkslow-raw:user:${k}`, JSON.stringify(valueFor(k)), { expires: 600 })
  rows.push(
    [
      pair.raw.name,
      async (k) => {
        const { value } = await raw.get(`mkslow-raw:user:${k}`)
        return value === null ? undefined : JSON.parse(value.toString('utf8'))
      },
    ],
    ...memokitRows(await import('@memokit/memcached'), 'mkbench', ''),
  )
} else rows.push([pair.raw.name, pair.raw.call], ...pair.memokit.map((m): [string, Call] => [m.name, m.call]))
// MC_BEFORE: the same rows again from the other build, prefixes as long as the current ones'.
if (beforeDir !== undefined) {
  rows.push(...memokitRows(await import(pathToFileURL(resolve(beforeDir, 'index.js')).href), 'mkbefor', ' (before)'))
}
// memokit's rows start empty: one miss per key first, so every timed call is a hit (H1's tally checks that).
for (const [, call] of rows.slice(1)) for (let k = 0; k < HOT; k++) await call(k)
pair.tally.computed = 0

// memcached's CPU (all its threads, ns) and how often its threads were put on a CPU (wake-ups, about), from
// /proc/<pid>/task/*/schedstat; the same count for this process's main thread.
const serverPid = Number(/pid (\d+)/.exec(pair.lines[0] ?? '')?.[1])
const schedstat = (pid: number, tasks: boolean): [number, number] => {
  let ns = 0
  let slices = 0
  try {
    for (const task of tasks ? readdirSync(`/proc/${pid}/task`) : [String(pid)]) {
      const [run, , count] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')
      ns += Number(run)
      slices += Number(count)
    }
  } catch {
    return [Number.NaN, Number.NaN]
  }
  return [ns, slices]
}

const loop = async (call: Call, n: number): Promise<void> => {
  if (flight === 1) {
    for (let i = 0; i < n; i++) await call(i % HOT)
    return
  }
  const ps: Promise<unknown>[] = new Array(flight)
  for (let i = 0; i < n; i += flight) {
    for (let j = 0; j < flight; j++) ps[j] = call((i + j) % HOT)
    await Promise.all(ps)
  }
}
interface Timing {
  wall: number
  user: number
  sys: number
  server: number
  serverWakes: number
  ownWakes: number
  main: number
  /** This process's other threads (MC_THREADS=1): V8's compiler and GC workers, mostly. */
  others: number
}
// CPU (ns) of each of this process's threads, the main one as 'main'.
const threads = (): Map<string, number> => {
  const byName = new Map<string, number>()
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${process.pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
      byName.set(task === String(process.pid) ? 'main' : task, ns)
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return byName
}
const timed = async (call: Call): Promise<Timing> => {
  const byThread = process.env.MC_THREADS === '1' ? threads() : undefined
  const cpu = process.cpuUsage()
  const [server, serverSlices] = schedstat(serverPid, true)
  const [own, ownSlices] = schedstat(process.pid, false)
  const started = process.hrtime.bigint()
  await loop(call, hits)
  const used = process.cpuUsage(cpu)
  const wall = Number(process.hrtime.bigint() - started) / 1000 / hits
  const [serverAfter, serverSlicesAfter] = schedstat(serverPid, true)
  const [ownAfter, ownSlicesAfter] = schedstat(process.pid, false)
  let others = Number.NaN
  if (byThread !== undefined) {
    others = 0
    for (const [name, ns] of threads()) if (name !== 'main') others += (ns - (byThread.get(name) ?? 0)) / 1000 / hits
  }
  return {
    wall,
    user: used.user / hits,
    sys: used.system / hits,
    server: (serverAfter - server) / 1000 / hits,
    serverWakes: (serverSlicesAfter - serverSlices) / hits,
    ownWakes: (ownSlicesAfter - ownSlices) / hits,
    main: (ownAfter - own) / 1000 / hits,
    others,
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const results = new Map<string, { [K in keyof Timing]: number[] } & { ratio: number[] }>()
const abs = new Map<string, { wall: number[]; cpu: number[] }>()
// MC_HOLD: the objects of a read in flight (and their hidden classes) are alive during the GC.
const hold = process.env.MC_HOLD === '1'
const timeRow = async (name: string, call: Call): Promise<Timing> => {
  const held = hold ? call(0) : undefined
  ;(globalThis as { gc?: () => void }).gc?.()
  await held
  await loop(call, warm)
  const spaces = process.env.MC_SPACES === '1' ? getHeapSpaceStatistics() : undefined
  const t = await timed(call)
  if (spaces !== undefined) {
    // What was allocated there and not yet collected (every scavenge empties the new space).
    const grown = getHeapSpaceStatistics().map(
      (after, i) =>
        `${after.space_name} ${((after.space_used_size - (spaces[i]?.space_used_size ?? 0)) / hits).toFixed(0)}`,
    )
    console.log(`${name}: heap growth, bytes per hit: ${grown.join(', ')}`)
  }
  const acc = results.get(name) ?? {
    wall: [],
    user: [],
    sys: [],
    server: [],
    serverWakes: [],
    ownWakes: [],
    main: [],
    others: [],
    ratio: [],
  }
  for (const k of ['wall', 'user', 'sys', 'server', 'serverWakes', 'ownWakes', 'main', 'others'] as const) {
    acc[k].push(t[k])
  }
  results.set(name, acc)
  return t
}
for (let r = 0; r < rounds; r++) {
  const rawName = rows[0]?.[0] as string
  // Under MC_ONLY the raw row is timed only when it is the one named.
  const raw = only === undefined || only === rawName ? await timeRow(rawName, rows[0]?.[1] as Call) : undefined
  for (const [name, call] of rows.slice(1)) {
    if (name.endsWith(' (before)')) continue
    if (only !== undefined && name !== only) continue
    const before = rows.find(([n]) => n === `${name} (before)`)
    // The before side first in odd rounds, after the current side in even ones.
    const first = before !== undefined && r % 2 === 1 ? await timeRow(before[0], before[1]) : undefined
    const t = await timeRow(name, call)
    ;(results.get(name) as { ratio: number[] }).ratio.push((raw?.wall ?? Number.NaN) / t.wall)
    const b = first ?? (before === undefined ? undefined : await timeRow(before[0], before[1]))
    if (b !== undefined) {
      const ab = abs.get(name) ?? { wall: [], cpu: [] }
      ab.wall.push(b.wall / t.wall)
      ab.cpu.push((b.user + b.sys) / (t.user + t.sys))
      abs.set(name, ab)
    }
  }
}
console.log(`${flight} in flight, ${rounds} rounds of ${hits} hits`)
for (const [i, [name]] of rows.entries()) {
  const acc = results.get(name)
  if (acc === undefined) continue
  const ratio = i === 0 || name.endsWith(' (before)') ? '' : `, ops ratio to raw ${median(acc.ratio).toFixed(3)}`
  console.log(
    `${name}: µs per hit: wall ${median(acc.wall).toFixed(2)}, cpu ${median(acc.user).toFixed(2)} user + ${median(acc.sys).toFixed(2)} sys (main thread ${median(acc.main).toFixed(2)}${Number.isNaN(median(acc.others)) ? '' : `, other threads ${median(acc.others).toFixed(2)}`}), memcached cpu ${median(acc.server).toFixed(2)}; per ${flight} hits: memcached on a CPU ${(median(acc.serverWakes) * flight).toFixed(1)} times, this thread ${(median(acc.ownWakes) * flight).toFixed(1)}${ratio}`,
  )
}
for (const [name, ab] of abs) {
  console.log(
    `${name} before/current: CPU ${median(ab.cpu).toFixed(3)} (per round ${ab.cpu.map((x) => x.toFixed(2)).join(' ')}), wall ${median(ab.wall).toFixed(3)}`,
  )
}
if (pair.tally.computed > 0 || pair.tally.failures > 0)
  console.log(`NOT all hits: the function ran ${pair.tally.computed} times, the storage failed ${pair.tally.failures}`)
for (const client of clients) client.close()
await pair.close()
