// memokit hits alone, in a tight loop, for profiling: `node --cpu-prof --cpu-prof-dir=prof --import tsx
// src/profile.ts S2`, then `node --import tsx src/cpu-summary.ts prof`. Add `--no-turbo-inlining` to see the
// callees of S1's loop (otherwise everything is inlined into it).
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { cacheValue, memoryStorage } from '@memokit/core'

const which = (process.argv[2] ?? 'S1').toUpperCase()
const seconds = Number(process.argv[3] ?? 3)
const keys = Array.from({ length: 1024 }, () => Math.floor(Math.random() * 128))
const end = Date.now() + seconds * 1000
let s = 0

if (which === 'S1') {
  const f = cacheValue((n: number) => n * 2 + 1, { storage: memoryStorage(), name: 'profile.s1' })
  while (Date.now() < end) for (let i = 0; i < 100_000; i++) s += f(keys[i & 1023] as number)
} else if (which === 'S2') {
  const f = cacheValue((n: number, str: string, o: { a: number; b: number[] }) => n + str.length + o.a, {
    storage: memoryStorage(),
    name: 'profile.s2',
  })
  while (Date.now() < end)
    for (let i = 0; i < 10_000; i++) s += f(keys[i & 1023] as number, 'hello', { a: 1, b: [1, 2] })
} else if (which === 'S3') {
  const f = cacheValue(async (n: number) => ({ id: n }), { storage: memoryStorage(), name: 'profile.s3' })
  while (Date.now() < end) for (let i = 0; i < 10_000; i++) s += (await f(keys[i & 1023] as number)).id
} else if (which === 'R1') {
  // 64 Redis hits in flight, ~1 KB JSON value (needs REDIS_URL or 127.0.0.1:6379; keys expire after 60 s).
  const { redisStorage } = await import('@memokit/redis')
  const storage = redisStorage({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: `mkprofile-${process.pid}`,
  })
  const value = { name: 'Ada', tags: Array.from({ length: 12 }, (_, i) => `tag-${i}`), bio: 'x'.repeat(800) }
  const f = cacheValue(async (n: number) => ({ id: n, ...value }), { storage, name: 'profile.r1', ttl: 60_000 })
  while (Date.now() < end) {
    const rs = await Promise.all(Array.from({ length: 64 }, (_, j) => f(j)))
    for (const r of rs) s += r.id
  }
  await storage.close?.()
} else if (which === 'R1OWN' || which === 'R1RAW' || which === 'R1PAIR') {
  // A Redis hit through the user's own client with `commandOptions: { timeout: 0 }` (R1's "own client, no command
  // timeout" row), memokit (R1OWN) or the raw read on the same kind of client (R1RAW), each in a process of its own,
  // or both in one process on one client, in interleaved rounds (R1PAIR: what an application that also reads its
  // client directly sees; JIT feedback from one side changes the other, so the pair and the two single runs can
  // disagree). argv[3] is the number of hits (default 20000; R1PAIR: per round, 12 rounds, the first 2 dropped),
  // argv[4] the calls in flight (default 1). Instructions per hit (load-independent): `valgrind --tool=callgrind
  // node --single-threaded --import tsx src/profile.ts R1OWN <n>` for two values of n, the difference of the totals
  // divided by the difference of n; take n large enough (10,000 and 30,000 one at a time) that JIT compilation is
  // over, and compare per function, not only totals: under valgrind the timer-driven GCs land in different windows.
  // Add `--perf-basic-prof` and bench/src/callgrind-names.py names the JIT code (bench README, Profiling). Measure the
  // built packages (`pnpm build`, then `TSX_TSCONFIG_PATH=tsconfig.built.json` from bench/): through tsx and the
  // sources, every closure memokit makes per hit goes through esbuild's keepNames `__name`, an Object.defineProperty
  // that cost 11.6k of R1OWN's 55.0k instructions per hit at 64 in flight (28 on the built packages; 2026-12-04).
  const { redisStorage } = await import('@memokit/redis')
  const { createClient } = await import('redis')
  const client = await createClient({ url: process.env.REDIS_URL, commandOptions: { timeout: 0 } })
    .on('error', () => {})
    .connect()
  // argv[5] `bench`: R1's own value (redis-common valueFor) and its 256 hot keys instead of this file's smaller
  // value and 64 keys. With R1's value, 64 of memokit's replies are 65,792 bytes and 64 raw ones 62,528: only
  // memokit's cross libuv's 64 KiB read buffer, which cost a raw read whose stored JSON was padded by the same 51
  // bytes (env R1_PAD=51, leading spaces that JSON.parse skips) 1-2 us of CPU per hit, mostly in the kernel's copy
  // to user space and V8's UTF-8 decoding of the reply (perf record -e cpu-clock; 2026-12-04).
  const bench = process.argv[5] === 'bench'
  // Imported only then: redis-common loads every peer's client.
  const common = bench ? await import('./redis-common') : undefined
  const keys = common?.HOT ?? 64
  const prefix = `mkprofile-${process.pid}`
  const value = { name: 'Ada', tags: Array.from({ length: 12 }, (_, i) => `tag-${i}`), bio: 'x'.repeat(800) }
  const make = common?.valueFor ?? ((n: number) => ({ id: n, ...value }))
  const pad = ' '.repeat(Number(process.env.R1_PAD ?? 0))
  const storage = redisStorage({ client, prefix })
  const cached = cacheValue(async (n: number) => make(n), { storage, name: 'profile.r1own', ttl: 60_000 })
  // R1PAIR with R1_BEFORE=<dir>: a third side, memokit from <dir>/packages/{core,redis}/dist/index.js (another build,
  // with node_modules links as bench/.before has them), on the same client, in the same rounds: a paired A/B of two
  // memokit builds, each round's two sides against each other (its prefix as long as the current side's).
  const beforeDir = which === 'R1PAIR' ? process.env.R1_BEFORE : undefined
  const before =
    beforeDir === undefined
      ? undefined
      : await (async () => {
          const from = (pkg: string): string => pathToFileURL(resolve(beforeDir, `packages/${pkg}/dist/index.js`)).href
          const [core, redis] = [await import(from('core')), await import(from('redis'))]
          const beforeStorage = redis.redisStorage({ client, prefix: `mkprofilb-${process.pid}` })
          return core.cacheValue(async (n: number) => make(n), {
            storage: beforeStorage,
            name: 'profile.r1own',
            ttl: 60_000,
          }) as typeof cached
        })()
  const raw = async (n: number): Promise<{ id: number }> => {
    const hit = await client.get(`${prefix}:raw:${n}`)
    if (hit !== null) return JSON.parse(hit)
    const v = make(n)
    await client.set(`${prefix}:raw:${n}`, pad + JSON.stringify(v), { expiration: { type: 'PX', value: 60_000 } })
    return v
  }
  const sides: [string, (n: number) => Promise<{ id: number }>][] =
    which === 'R1PAIR'
      ? [
          ['R1RAW', raw],
          ['R1OWN', cached],
        ]
      : [[which, which === 'R1OWN' ? cached : raw]]
  const hits = Number(process.argv[3] ?? 20_000)
  const inFlight = Number(process.argv[4] ?? 1)
  for (const [, f] of sides) for (let k = 0; k < keys; k++) await f(k)
  if (before !== undefined) for (let k = 0; k < keys; k++) await before(k)
  const run = async (
    f: (n: number) => Promise<{ id: number }>,
  ): Promise<{ wall: number; user: number; system: number }> => {
    const started = process.hrtime.bigint()
    const cpu = process.cpuUsage()
    for (let i = 0; i < hits; i += inFlight) {
      const rs = await Promise.all(Array.from({ length: inFlight }, (_, j) => f((i + j) % keys)))
      for (const r of rs) s += r.id
    }
    // Per hit, this process only: wall-clock, and CPU time in user space and in the kernel (the Redis server's own
    // work and idle waits for replies are the difference between wall and user + system).
    const used = process.cpuUsage(cpu)
    return {
      wall: Number(process.hrtime.bigint() - started) / 1000 / hits,
      user: used.user / hits,
      system: used.system / hits,
    }
  }
  const per = (us: number): string => us.toFixed(2)
  if (which !== 'R1PAIR') {
    const t = await run(sides[0]?.[1] as (n: number) => Promise<{ id: number }>)
    console.error(`${which} us per hit: wall ${per(t.wall)}, user ${per(t.user)}, system ${per(t.system)}`)
  } else {
    const walls: number[][] = [[], []]
    const ratios: number[] = []
    // This process's CPU (user + system) per hit, each round's raw over memokit: less moved than wall-clock by
    // other work on the machine (a shared 2-core host), which stalls both sides' waits for replies.
    const cpuRatios: number[] = []
    const ab: { wall: number[]; cpu: number[] } = { wall: [], cpu: [] }
    for (let round = 0; round < 12; round++) {
      // The before side (R1_BEFORE) runs first in odd rounds, after the current one in even rounds.
      const first = before !== undefined && round % 2 === 1 ? await run(before) : undefined
      const [rawT, ownT] = [await run(raw), await run(cached)]
      const beforeT = first ?? (before === undefined ? undefined : await run(before))
      if (round < 2) continue
      if (beforeT !== undefined) {
        ab.wall.push(beforeT.wall / ownT.wall)
        ab.cpu.push((beforeT.user + beforeT.system) / (ownT.user + ownT.system))
      }
      walls[0]?.push(rawT.wall)
      walls[1]?.push(ownT.wall)
      ratios.push(rawT.wall / ownT.wall)
      cpuRatios.push((rawT.user + rawT.system) / (ownT.user + ownT.system))
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number
    console.error(
      `R1PAIR, ${inFlight} in flight, median us per hit: raw ${per(median(walls[0] ?? []))}, memokit ${per(median(walls[1] ?? []))}; memokit/raw ops ratio ${median(ratios).toFixed(3)}, CPU ratio ${median(cpuRatios).toFixed(3)} (per round: ${ratios.map((r) => r.toFixed(2)).join(' ')})`,
    )
    if (before !== undefined) {
      console.error(
        `R1PAIR current/before (${beforeDir}): ops ratio ${median(ab.wall).toFixed(3)}, CPU ratio ${median(ab.cpu).toFixed(3)} (per round CPU: ${ab.cpu.map((r) => r.toFixed(2)).join(' ')})`,
      )
    }
  }
  await cached.clear()
  await before?.clear()
  await client.del(Array.from({ length: keys }, (_, k) => `${prefix}:raw:${k}`))
  await client.quit()
} else if (which === 'TIERSET') {
  // Writes through two tiers (memory L1, Redis L2, redisBus) against writes to the bare L2, two replicas of each in
  // this process, 16 writes in flight, in alternating rounds: CPU per write, this process only (the tier's is the
  // L2 write, the bus message it publishes, and both replicas receiving and applying it). argv[3]: writes per round.
  // TIERSET_BUILD=<dir>: this build from <dir>/packages/{core,redis}/dist/index.js instead of @memokit/*.
  // TIERSET_BEFORE=<dir>: two more tiers from another build (e.g. `.before`, made by scripts/build-before.mjs with
  // MEMOKIT_BEFORE_COMMIT), in the same rounds (order swapped every round), and the median per-round ratio.
  type Packages = [typeof import('@memokit/core'), typeof import('@memokit/redis')]
  const from = (dir: string, pkg: string): string => pathToFileURL(resolve(dir, `packages/${pkg}/dist/index.js`)).href
  const load = async (dir: string | undefined): Promise<Packages> =>
    dir === undefined
      ? [await import('@memokit/core'), await import('@memokit/redis')]
      : [await import(from(dir, 'core')), await import(from(dir, 'redis'))]
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const prefix = `mkprofile-${process.pid}`
  // Messages per write (a burst's key invalidations may share one), counted on the writing replica's bus. Each pair
  // has its own prefix, so its own scope and bus channel: neither hears the other's messages.
  const twoTiers = ([core, redis]: Packages, prefix: string) => {
    const l2s = [redis.redisStorage({ url, prefix }), redis.redisStorage({ url, prefix })]
    const buses = [redis.redisBus({ url }), redis.redisBus({ url })]
    const counted = { messages: 0 }
    const [writer] = buses as [(typeof buses)[0]]
    const publish = writer.publish.bind(writer)
    writer.publish = (channel, payload) => {
      counted.messages++
      return publish(channel, payload)
    }
    const tiers = l2s.map((l2, i) =>
      core.tieredStorage({ l1: core.memoryStorage(), l2, bus: buses[i] as typeof writer }),
    )
    return {
      tier: tiers[0] as (typeof tiers)[0],
      bare: l2s[0] as (typeof l2s)[0],
      counted,
      all: [...tiers, ...buses, ...l2s],
    }
  }
  const current = twoTiers(await load(process.env.TIERSET_BUILD), prefix)
  const before =
    process.env.TIERSET_BEFORE === undefined
      ? undefined
      : twoTiers(await load(process.env.TIERSET_BEFORE), `${prefix}-before`)
  await Promise.all([current.tier.ready, before?.tier.ready])
  const writes = Number(process.argv[3] ?? 20_000)
  const value = { id: 1, bio: 'x'.repeat(200) }
  const cpuPerWrite = async (storage: { set(ns: string, key: string, value: unknown): Promise<void> }) => {
    const cpu = process.cpuUsage()
    for (let i = 0; i < writes; i += 16)
      await Promise.all(Array.from({ length: 16 }, (_, j) => storage.set('ns', `k${(i + j) % 500}`, value)))
    const used = process.cpuUsage(cpu)
    return (used.user + used.system) / writes
  }
  const rounds: number[][] = []
  for (let round = 0; round < 6; round++) {
    const bare = await cpuPerWrite(current.bare)
    const cpu = new Map<object, number>()
    for (const side of round % 2 === 0 ? [current, before] : [before, current])
      if (side !== undefined) cpu.set(side, await cpuPerWrite(side.tier))
    if (round > 0) rounds.push([bare, cpu.get(current) ?? 0, (before && cpu.get(before)) ?? 0])
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number
  const [bare, tier, old] = [0, 1, 2].map((i) => median(rounds.map((r) => r[i] as number))) as number[]
  const perWrite = (counted: { messages: number }) => (counted.messages / (6 * writes)).toFixed(3)
  console.error(
    `TIERSET, us of CPU per write (median of 5 rounds): bare L2 ${bare?.toFixed(1)}, two tiers + bus ${tier?.toFixed(1)} (bus messages per write ${perWrite(current.counted)})`,
  )
  if (before !== undefined)
    console.error(
      `  before (${process.env.TIERSET_BEFORE}): two tiers + bus ${old?.toFixed(1)} (messages per write ${perWrite(before.counted)}); current/before per round, median ${median(rounds.map((r) => (r[1] as number) / (r[2] as number))).toFixed(3)}`,
    )
  await Promise.all([current.tier.clear('ns'), before?.tier.clear('ns')])
  for (const closing of [...current.all, ...(before?.all ?? [])]) await closing.close()
} else {
  console.error(`unknown scenario ${which}; use S1, S2, S3, R1, R1OWN, R1RAW, R1PAIR or TIERSET`)
  process.exit(2)
}
console.log(which, s)
