// Bytes held per Redis read in flight, memokit against the raw read (R1's own client without a command timeout):
// `TSX_TSCONFIG_PATH=tsconfig.built.json node --expose-gc --import tsx src/held.ts` from bench/. Starts 5,000 hits
// of distinct keys at once (memokit shares a read per key, so distinct keys), collects garbage while they wait for
// their replies, and divides the heap growth by 5,000; five rounds each, alternating. What is held across the round
// trip survives every scavenge during it, and at 64 in flight that copying is much of the hit's GC cost.
import { cacheValue } from '@memokit/core'
import { redisStorage } from '@memokit/redis'
import { createClient } from 'redis'
import { valueFor } from './redis-common'

const K = 5000
const ROUNDS = 5
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run node with --expose-gc')
const client = await createClient({ url: process.env.REDIS_URL, commandOptions: { timeout: 0 } })
  .on('error', () => {})
  .connect()
const prefix = `mkheld-${process.pid}`
const cached = cacheValue(async (n: number) => valueFor(n), {
  storage: redisStorage({ client, prefix }),
  name: 'bench.held',
  ttl: 60_000,
})
const raw = async (n: number): Promise<unknown> => {
  const hit = await client.get(`${prefix}:raw:${n}`)
  return hit === null ? undefined : JSON.parse(hit)
}
for (let k = 0; k < K; k++) {
  await cached(k)
  await client.set(`${prefix}:raw:${k}`, JSON.stringify(valueFor(k)), { expiration: { type: 'PX', value: 60_000 } })
}
const held: Record<string, number[]> = { raw: [], memokit: [] }
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, f] of [
    ['raw', raw],
    ['memokit', cached],
  ] as const) {
    await Promise.all(Array.from({ length: K }, (_, k) => f(k)))
    gc()
    const before = process.memoryUsage().heapUsed
    const calls = Array.from({ length: K }, (_, k) => f(k))
    gc()
    const during = process.memoryUsage().heapUsed
    await Promise.all(calls)
    held[name]?.push((during - before) / K)
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
for (const [name, xs] of Object.entries(held)) {
  console.log(
    `${name.padEnd(8)} bytes held per read in flight: median ${median(xs).toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(', ')})`,
  )
}
await cached.clear()
await client.del(Array.from({ length: K }, (_, k) => `${prefix}:raw:${k}`))
await client.quit()
