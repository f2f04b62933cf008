// H1's memcached pair alone, one call in flight, for finding where memokit's hit loses to the raw read:
// `node --expose-gc --import tsx src/profile-memcached.ts [rounds] [hits per round]` (from bench/; add
// TSX_TSCONFIG_PATH=tsconfig.built.json to load the built packages). Interleaves the raw memjs read and memokit's
// two rows round by round on one memcached (started here, port H1_MEMCACHED_PORT + 1, stopped by PID) and prints
// each row's median µs per hit (wall and this process's CPU) and its median per-round ratio to the raw read.
// `--cpu-prof` profiles the whole run; `MC_ONLY=raw|mk|vc` times one row only, for a cleaner profile.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { cacheValue } from '@memokit/core'
import { fromMemjs, memcachedStorage } from '@memokit/memcached'
import { startMemcached } from '../../packages/memcached/test/memcached-server'
import { HOT, TTL_MS, type Value, valueFor } from './redis-common'

interface Memjs {
  get(key: string): Promise<{ value: Buffer | null }>
  set(key: string, value: string, options: { expires: number }): Promise<boolean>
  close(): void
}
type Call = (k: number) => Promise<unknown>

const PACKAGE = fileURLToPath(new URL('../../packages/memcached/', import.meta.url))
const memjs = createRequire(`${PACKAGE}package.json`)('memjs') as { Client: { create(s: string, o: object): Memjs } }
const rounds = Number(process.argv[2] ?? 15)
const hits = Number(process.argv[3] ?? 4000)
const only = process.env.MC_ONLY

const server = await startMemcached(Number(process.env.H1_MEMCACHED_PORT ?? 7110) + 1)
const quiet = { log: () => {} }
const rawClient = memjs.Client.create(server.address, { logger: quiet })
const mkClient = memjs.Client.create(server.address, { logger: quiet })
const wrap = (versionCacheMs: number): Call =>
  cacheValue(async (k: number): Promise<Value> => valueFor(k), {
    storage: memcachedStorage({ client: fromMemjs(mkClient as never), prefix: 'mkprof', versionCacheMs }),
    name: `profile.mc.${versionCacheMs}`,
    ttl: TTL_MS,
  })
const rows: [string, Call][] = [
  [
    'raw',
    async (k) => {
      const { value } = await rawClient.get(`mkprof-raw:user:${k}`)
      return value === null ? undefined : JSON.parse(value.toString('utf8'))
    },
  ],
  ['mk', wrap(0)],
  ['vc', wrap(1000)],
]
for (let k = 0; k < HOT; k++) {
  await rawClient.set(`mkprof-raw:user:${k}`, JSON.stringify(valueFor(k)), { expires: TTL_MS / 1000 })
  for (const [, call] of rows.slice(1)) await call(k)
}

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
  for (const [name, call] of rows) {
    if (only !== undefined && name !== only) continue
    ;(globalThis as { gc?: () => void }).gc?.()
    const t = await timed(call)
    if (name === 'raw') rawWall = t.wall
    const acc = results.get(name) ?? { wall: [], cpu: [], ratio: [] }
    acc.wall.push(t.wall)
    acc.cpu.push(t.cpu)
    acc.ratio.push(rawWall / t.wall)
    results.set(name, acc)
  }
}
for (const [name, acc] of results) {
  const ratio = name === 'raw' || only !== undefined ? '' : `, ops ratio to raw ${median(acc.ratio).toFixed(3)}`
  console.log(
    `${name.padEnd(4)} us per hit: wall ${median(acc.wall).toFixed(2)}, cpu ${median(acc.cpu).toFixed(2)}${ratio}`,
  )
}
rawClient.close()
mkClient.close()
await server.stop()
