// Core's lease flow over memcached, with each adapter: replicas in one process, each with its own connection, as
// core's lease tests simulate them (a view of the storage without `scope`, so core treats each as its own place).
// singleFlight: 'distributed' computes once across them; a delete on one replica while another computes keeps the
// overtaken result out.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type AsyncStorage, cacheValue } from '@memokit/core'
import { MemcacheClient } from 'memcache-client'
import memjs from 'memjs'
import { fromMemcacheClient, fromMemjs, type MemcachedClient, memcachedStorage } from '../src'
import { type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_FLIGHT_PORT', 11332)
let server: MemcachedServer
const closers: Array<() => void> = []

beforeAll(async () => {
  server = await startMemcached(PORT)
}, 15_000)

afterAll(async () => {
  for (const close of closers) close()
  await server?.stop()
}, 15_000)

const connect: Record<string, () => MemcachedClient> = {
  memjs: () => {
    const c = memjs.Client.create(server.address, { logger: { log: () => undefined }, timeout: 0.5, retries: 1 })
    closers.push(() => c.close())
    return fromMemjs(c)
  },
  'memcache-client': () => {
    const c = new MemcacheClient({ server: server.address, cmdTimeout: 1000 })
    closers.push(() => c.shutdown())
    return fromMemcacheClient(c)
  },
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe.each(Object.keys(connect))("memcached via %s with singleFlight: 'distributed'", (name) => {
  /** `count` replicas on one prefix, each with its own connection; each view hides `scope`. */
  const replicas = (count: number): AsyncStorage[] => {
    const prefix = `flight-${randomBytes(5).toString('hex')}`
    return Array.from({ length: count }, () => {
      const { scope: _scope, ...view } = memcachedStorage({ client: connect[name]?.() as MemcachedClient, prefix })
      return view
    })
  }

  it('runs fn once for 3 replicas x 20 concurrent callers; every caller gets its value', async () => {
    let runs = 0
    const fn = async (id: number) => {
      runs++
      await sleep(200)
      return { id, run: runs }
    }
    const wrappers = replicas(3).map((storage) =>
      cacheValue(fn, { storage, namespace: 'flight', name: 'load', ttl: '1m', singleFlight: 'distributed' }),
    )
    const results = await Promise.all(wrappers.flatMap((cached) => Array.from({ length: 20 }, () => cached(7))))
    expect(runs).toBe(1)
    expect(new Set(results.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify({ id: 7, run: 1 })]))
  }, 20_000)

  it('a delete on replica B while A computes keeps A’s result out: the next read computes again', async () => {
    let runs = 0
    const fn = async (id: number) => {
      runs++
      await sleep(150)
      return { id, run: runs }
    }
    const pair = replicas(2).map((storage) =>
      cacheValue(fn, { storage, namespace: 'flight', name: 'fenced', ttl: '1m', singleFlight: 'distributed' }),
    )
    const [a, b] = pair as [(typeof pair)[number], (typeof pair)[number]]
    const computing = a(5)
    await sleep(50)
    await b.delete(5)
    expect(await computing).toEqual({ id: 5, run: 1 })
    expect(await b(5)).toEqual({ id: 5, run: 2 })
    expect(await a(5)).toEqual({ id: 5, run: 2 })
    expect(runs).toBe(2)
  }, 20_000)
})
