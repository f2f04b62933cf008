// redisStorage over an ioredis Cluster, on a real 6-node cluster (3 masters, 3 replicas) started here: the contract
// suite (a node-redis cluster client reads its entries and has its scope), clear on every master, and a master
// killed mid-run (failover).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'
import type { Cluster, ClusterOptions } from 'ioredis'
import { createCluster, type RedisClusterType } from 'redis'
import { counted, uid } from './counted'
import { ioredisClients } from './ioredis-clients'
import { disposer, envPort, fill, keysOn, liveMasters, type RedisClusterProcesses, startRedisCluster } from './servers'

const cleanup = disposer()
const clients = ioredisClients()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

let cluster: RedisClusterProcesses
let client: Cluster
// A node-redis client of the same cluster: the same place, so the same scope and the same entries.
let nodeRedis: RedisClusterType

// The README's options: fail fast while a node is down (memokit still waits for the first connect), and refresh
// the slot map every second besides on MOVED, so a promoted replica is found quickly.
const OPTIONS: ClusterOptions = { enableOfflineQueue: false, slotsRefreshInterval: 1000 }
const ioCluster = (): Cluster =>
  clients.cluster(
    cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    OPTIONS,
  )

beforeAll(async () => {
  cluster = await startRedisCluster(envPort('REDIS_IOREDIS_CLUSTER_PORT', 7010))
  client = ioCluster()
  nodeRedis = cleanup.track(createCluster({ rootNodes: [...cluster.rootNodes] }))
  nodeRedis.on('error', () => {})
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await clients.closeAll()
  await cluster?.stop()
}, 60_000)

runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'redis cluster (ioredis client)',
    leases: true,
    getThen: true,
    create: ({ prefix }) => redisStorage({ client, prefix }),
    scope: { createSame: ({ prefix }) => redisStorage({ client: nodeRedis, prefix }) },
  },
)

describe('redis cluster (ioredis client)', () => {
  it('clears a namespace on every master (no CROSSSLOT) and nothing else', async () => {
    const prefix = uid('io-clear')
    const storage = open({ client, prefix })
    const neighbour = open({ client, prefix: `${prefix}*` })
    await fill(storage, 'ns', 600)
    await fill(storage, 'ns2', 50)
    await fill(neighbour, 'ns', 50)
    const masters = await liveMasters(cluster)
    expect(masters).toHaveLength(3)
    const count = (pattern: string): Promise<number[]> =>
      Promise.all(masters.map(async (m) => (await keysOn(m, pattern)).length))
    expect((await count(`${prefix}:ns:*`)).every((n) => n > 100)).toBe(true)
    await storage.clear('ns')
    expect(await count(`${prefix}:ns:*`)).toEqual([0, 0, 0])
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
    expect(sum(await count(`${prefix}:ns2:*`))).toBe(50)
    expect(sum(await count(`${prefix}\\*:ns:*`))).toBe(50)
    await Promise.all([storage.clear('ns2'), neighbour.clear('ns')])
  })

  it('keeps a cached function correct through a master SIGKILL and failover, and writes again after it', async () => {
    const failoverClient = ioCluster()
    const prefix = uid('io-failover')
    const storage = open({ client: failoverClient, prefix, operationTimeoutMs: 500 })
    const namespace = uid('ns')
    const { fn, state } = counted(storage, { name: 'square', namespace, circuitBreaker: false })
    const args = Array.from({ length: 30 }, (_, i) => i)
    for (const x of args) expect(await fn(x)).toBe(`value-${x}`)
    expect(state.calls).toBe(30)

    const probeKey = 'probe'
    const victim = await cluster.masterFor(`${prefix}:${namespace}:${probeKey}`)
    victim.signal('SIGKILL')
    const killedAt = performance.now()
    let writableAfter = Number.NaN
    let slowest = 0
    while (performance.now() - killedAt < 20_000) {
      for (const x of args) {
        const start = performance.now()
        expect(await fn(x)).toBe(`value-${x}`)
        slowest = Math.max(slowest, performance.now() - start)
      }
      try {
        await storage.set(namespace, probeKey, 'written')
        writableAfter = performance.now() - killedAt
        break
      } catch {
        await sleep(20)
      }
    }
    process.stdout.write(
      `redis cluster (ioredis): first successful write ${Math.round(writableAfter)} ms after SIGKILL of a master (slowest call ${Math.round(slowest)} ms, ${state.reports.length} errors reported)\n`,
    )
    // A call waits at most for a failed read and a failed write (500 ms each), plus slack for a busy machine.
    expect(slowest).toBeLessThan(1500)
    expect(writableAfter).toBeLessThan(15_000)
    expect(state.reports.length).toBeGreaterThan(0)
    expect((await storage.get(namespace, probeKey))?.value).toBe('written')
    const calls = state.calls
    for (const x of args) expect(await fn(x)).toBe(`value-${x}`)
    for (const x of args) expect(await fn(x)).toBe(`value-${x}`)
    expect(state.calls - calls).toBeLessThanOrEqual(args.length)
    // clear reaches the promoted master too.
    await cluster.waitHealthy()
    await fn.clear()
    const masters = await liveMasters(cluster)
    expect(masters).toHaveLength(3)
    for (const master of masters) expect(await keysOn(master, `*${namespace}*square*`)).toEqual([])
    await storage.close()
  }, 60_000)
})
