// redisStorage through node-redis' createSentinel, on a real master + replica + 3 sentinels started here: the
// contract suite, clear, and a master SIGKILL with a Sentinel failover.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'
import { createSentinel, type RedisSentinelType } from 'redis'
import { counted, uid } from './counted'
import {
  disposer,
  envPort,
  FAILOVER_SOCKET,
  fill,
  type RedisSentinelProcesses,
  redisCli,
  startRedisSentinel,
  writesSteadily,
} from './servers'

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

let servers: RedisSentinelProcesses
let client: RedisSentinelType

function sentinelClient(replicaPoolSize = 0): RedisSentinelType {
  const c = createSentinel({
    name: servers.name,
    replicaPoolSize,
    sentinelRootNodes: [...servers.sentinelRootNodes],
    nodeClientOptions: {
      disableOfflineQueue: true,
      socket: FAILOVER_SOCKET,
    },
  })
  c.on('error', () => {})
  return c
}

beforeAll(async () => {
  servers = await startRedisSentinel(envPort('REDIS_SENTINEL_DATA_PORT', 7100), envPort('REDIS_SENTINEL_PORT', 26380))
  client = cleanup.track(sentinelClient())
  // Connected here, not by the first test's writes: Sentinel discovery and the master connection plus a first burst
  // of writes take about 230 ms quietly, and passed operationTimeoutMs (1 s) under the gate's load twice.
  await client.connect()
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await servers?.stop()
}, 60_000)

// Without the lease group here: node-redis' Sentinel client sends concurrent commands out of the order they were
// issued in (each waits for a master-connection lease; 8 concurrent SET NX, each followed by a DEL once it won, see
// 4 winners), and the group's post-expiry race assumes that 8 concurrent acquires reach the server before the
// winner's fenced write frees the lease again. leases-sentinel.test.ts runs the lease group through an ioredis
// Sentinel client, and the lease members through this client across a failover.
runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  { name: 'redis sentinel (own client)', getThen: true, create: ({ prefix }) => redisStorage({ client, prefix }) },
)

describe('redis sentinel', () => {
  it('writes to the master and clears there, leaving other namespaces', async () => {
    const prefix = uid('sentinel')
    const storage = open({ client, prefix })
    await fill(storage, 'ns', 1200)
    await storage.set('other', 'k', 1)
    expect(await redisCli(servers.master.port, 'exists', `${prefix}:ns:k7`)).toContain('1')
    await storage.clear('ns')
    expect(await redisCli(servers.master.port, '--scan', '--pattern', `${prefix}:ns:*`)).toBe('')
    expect((await storage.get('other', 'k'))?.value).toBe(1)
    await storage.clear('other')
  })

  it('scans the master when clearing, even when reads go to replicas', async () => {
    const replicaReads = cleanup.track(sentinelClient(1))
    // Connected first, as the shared client is in beforeAll: this test is about where clear scans.
    await replicaReads.connect()
    const prefix = uid('replicas')
    const storage = open({ client: replicaReads, prefix })
    await fill(storage, 'ns', 50)
    const scans = async (port: number): Promise<number> =>
      Number(/cmdstat_scan:calls=(\d+)/.exec(await redisCli(port, 'info', 'commandstats'))?.[1] ?? 0)
    const [masterBefore, replicaBefore] = [await scans(servers.master.port), await scans(servers.replica.port)]
    await storage.clear('ns')
    expect(await scans(servers.master.port)).toBeGreaterThan(masterBefore)
    expect(await scans(servers.replica.port)).toBe(replicaBefore)
    expect(await redisCli(servers.master.port, '--scan', '--pattern', `${prefix}:ns:*`)).toBe('')
  })

  it('keeps a cached function correct through a master SIGKILL and writes again after the failover', async () => {
    const failoverClient = cleanup.track(sentinelClient())
    const storage = open({ client: failoverClient, prefix: uid('failover'), operationTimeoutMs: 500 })
    // About the storage's own recovery after the failover; the breaker is tested in faults.test.ts.
    const namespace = uid('ns')
    const { fn, state } = counted(storage, { name: 'cube', namespace, circuitBreaker: false })
    const args = Array.from({ length: 10 }, (_, i) => i)
    for (const x of args) expect(await fn(x)).toBe(`value-${x}`)

    servers.master.signal('SIGKILL')
    const killedAt = performance.now()
    let writableAfter = Number.NaN
    let slowest = 0
    while (performance.now() - killedAt < 25_000) {
      for (const x of args) {
        const start = performance.now()
        expect(await fn(x)).toBe(`value-${x}`)
        slowest = Math.max(slowest, performance.now() - start)
      }
      try {
        await storage.set(namespace, 'probe', 1)
        // The old master is dead, so a successful write went to the promoted replica.
        writableAfter = performance.now() - killedAt
        break
      } catch {
        await sleep(20)
      }
    }
    process.stdout.write(
      `redis sentinel: first successful write ${Math.round(writableAfter)} ms after SIGKILL of the master (slowest cached call ${Math.round(slowest)} ms, ${state.reports.length} errors reported)\n`,
    )
    expect(writableAfter).toBeLessThan(20_000)
    expect(slowest).toBeLessThan(1500)
    await writesSteadily(() => storage.set(namespace, 'probe', 1))
    expect(await redisCli(servers.replica.port, 'role')).toMatch(/^master/)
    expect((await storage.get(namespace, 'probe'))?.value).toBe(1)
    // Caching works again: after one pass (which may rerun entries the failover lost), a second is all hits.
    for (const x of args) expect(await fn(x)).toBe(`value-${x}`)
    const calls = state.calls
    for (const x of args) expect(await fn(x)).toBe(`value-${x}`)
    expect(state.calls).toBe(calls)
    await storage.close()
  }, 60_000)
})
