// redisStorage on a real 6-node Redis Cluster (3 masters, 3 replicas) started here: the contract suite, keys
// spread over slots and masters, clear on every master, and a master killed mid-run (failover).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'
import { createCluster, type RedisClusterType } from 'redis'
import { counted, uid } from './counted'
import {
  disposer,
  envPort,
  FAILOVER_SOCKET,
  fill,
  keysOn,
  liveMasters,
  type RedisClusterProcesses,
  redisCli,
  startRedisCluster,
} from './servers'

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

let cluster: RedisClusterProcesses
let client: RedisClusterType
// A second client of the same cluster, its root nodes listed the other way round: the same place.
let sameCluster: RedisClusterType

// Options for a client that rides out a failover: no offline queue (fail fast while a node is down), quick
// reconnects, and a slot-map refresh while reconnecting (node-redis 6) so a promoted replica is found quickly.
function clusterClient(rootNodes = [...cluster.rootNodes]): RedisClusterType {
  const c = createCluster({
    rootNodes,
    defaults: {
      disableOfflineQueue: true,
      socket: FAILOVER_SOCKET,
    },
    topologyRefreshOnReconnectionAttemptStrategy: 200,
  })
  c.on('error', () => {})
  return c
}

beforeAll(async () => {
  cluster = await startRedisCluster(envPort('REDIS_CLUSTER_PORT', 7000))
  client = cleanup.track(clusterClient())
  sameCluster = cleanup.track(clusterClient([...cluster.rootNodes].reverse()))
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await cluster?.stop()
}, 60_000)

runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'redis cluster (own client)',
    leases: true,
    getThen: true,
    create: ({ prefix }) => redisStorage({ client, prefix }),
    scope: { createSame: ({ prefix }) => redisStorage({ client: sameCluster, prefix }) },
  },
)

describe('redis cluster', () => {
  it('spreads one namespace over many slots and every master', async () => {
    const prefix = uid('spread')
    const storage = open({ client, prefix })
    await fill(storage, 'ns', 300)
    const masters = await liveMasters(cluster)
    expect(masters).toHaveLength(3)
    const perMaster = await Promise.all(masters.map((m) => keysOn(m, `${prefix}:ns:*`)))
    expect(perMaster.map((keys) => keys.length > 30)).toEqual([true, true, true])
    expect(perMaster.flat()).toHaveLength(300)
    const slots = new Set(
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          redisCli(masters[0]?.port ?? 0, 'cluster', 'keyslot', `${prefix}:ns:k${i}`),
        ),
      ),
    )
    expect(slots.size).toBeGreaterThan(30)
    await storage.clear('ns')
  })

  it('clears a namespace on every master (no CROSSSLOT) and nothing else', async () => {
    const prefix = uid('clear')
    // What is tested is what the clear removes, not its speed: a SCAN or UNLINK step on a loaded CI runner (three
    // masters and two jest workers on two cores) once took over the default 1 s bound.
    const storage = open({ client, prefix, operationTimeoutMs: 10_000 })
    const neighbour = open({ client, prefix: `${prefix}*`, operationTimeoutMs: 10_000 })
    await fill(storage, 'ns', 1500)
    await fill(storage, 'ns2', 100)
    await fill(storage, 'n', 100)
    await fill(neighbour, 'ns', 100)
    await storage.clear('ns')
    const masters = await liveMasters(cluster)
    const count = async (pattern: string): Promise<number[]> =>
      Promise.all(masters.map(async (m) => (await keysOn(m, pattern)).length))
    expect(await count(`${prefix}:ns:*`)).toEqual([0, 0, 0])
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
    expect(sum(await count(`${prefix}:ns2:*`))).toBe(100)
    expect(sum(await count(`${prefix}:n:*`))).toBe(100)
    expect(sum(await count(`${prefix}\\*:ns:*`))).toBe(100)
    await Promise.all([storage.clear('ns2'), storage.clear('n'), neighbour.clear('ns')])
  })

  it('keeps a cached function correct through a master SIGKILL and failover, and writes again after it', async () => {
    const failoverClient = cleanup.track(clusterClient())
    const prefix = uid('failover')
    const storage = open({ client: failoverClient, prefix, operationTimeoutMs: 500 })
    // This test is about the storage's own recovery: cached hits right after the failover. The breaker would
    // skip the storage for its cooldown instead (it is tested against a dying server in faults.test.ts).
    const namespace = uid('ns')
    const { fn, state } = counted(storage, { name: 'square', namespace, circuitBreaker: false })
    const args = Array.from({ length: 30 }, (_, i) => i)
    for (const x of args) expect(await fn(x)).toBe(`value-${x}`)
    expect(state.calls).toBe(30)

    // We kill the master of the probe key; writing it again proves the promoted replica took over.
    const probeKey = 'probe'
    const victim = await cluster.masterFor(`${prefix}:${namespace}:${probeKey}`)
    victim.signal('SIGKILL')
    const killedAt = performance.now()
    let writableAfter = Number.NaN
    let rounds = 0
    let slowest = 0
    while (performance.now() - killedAt < 20_000) {
      rounds++
      for (const x of args) {
        const start = performance.now()
        expect(await fn(x)).toBe(`value-${x}`)
        slowest = Math.max(slowest, performance.now() - start)
      }
      try {
        await storage.set(namespace, probeKey, rounds)
        writableAfter = performance.now() - killedAt
        break
      } catch {
        await sleep(20)
      }
    }
    process.stdout.write(
      `redis cluster: first successful write ${Math.round(writableAfter)} ms after SIGKILL of a master (${rounds} rounds of ${args.length} cached calls, slowest call ${Math.round(slowest)} ms, ${state.reports.length} errors reported)\n`,
    )
    // A call waits at most for a failed read and a failed write (500 ms each), plus slack for a busy machine.
    expect(slowest).toBeLessThan(1500)
    expect(writableAfter).toBeLessThan(15_000)
    expect(state.reports.length).toBeGreaterThan(0)
    expect((await storage.get(namespace, probeKey))?.value).toBe(rounds)
    // Caching works again for every key: a second pass runs fn for no argument.
    for (const x of args) expect(await fn(x)).toBe(`value-${x}`)
    const calls = state.calls
    for (const x of args) expect(await fn(x)).toBe(`value-${x}`)
    expect(state.calls).toBe(calls)
    // clear reaches the promoted master too.
    await cluster.waitHealthy()
    await fn.clear()
    const masters = await liveMasters(cluster)
    expect(masters).toHaveLength(3)
    for (const master of masters) expect(await keysOn(master, `*${namespace}*square*`)).toEqual([])
    await storage.close()
  }, 60_000)
})
