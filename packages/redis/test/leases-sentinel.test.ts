// Leases through Sentinel on a real master + replica + 3 sentinels started here: the contract suite with its lease
// group through an ioredis Sentinel client (see sentinel.test.ts for why not through node-redis'), then a master
// SIGKILL: after the failover the lease members work on the promoted replica through both clients, which never cached the
// scripts (EVALSHA answers NOSCRIPT there, EVAL follows once).
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'
import { Redis } from 'ioredis'
import { createSentinel, type RedisSentinelType } from 'redis'
import { uid } from './counted'
import {
  disposer,
  envPort,
  FAILOVER_SOCKET,
  type RedisSentinelProcesses,
  redisCli,
  startRedisSentinel,
  writesSteadily,
} from './servers'

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const token = (): string => randomBytes(16).toString('hex')
const LONG = 60_000

let servers: RedisSentinelProcesses
let ioSentinel: Redis

const ioredisOwn: Redis[] = []

// ioredis finds the master through the sentinels and follows a failover by itself.
function ioredisSentinel(): Redis {
  const client = new Redis({
    sentinels: servers.sentinelRootNodes.map((n) => ({ host: n.host, port: n.port })),
    name: servers.name,
    enableOfflineQueue: false,
    disconnectTimeout: 50,
  })
  client.on('error', () => {})
  ioredisOwn.push(client)
  return client
}

function nodeRedisSentinel(): RedisSentinelType {
  const c = createSentinel({
    name: servers.name,
    sentinelRootNodes: [...servers.sentinelRootNodes],
    nodeClientOptions: {
      disableOfflineQueue: true,
      socket: FAILOVER_SOCKET,
    },
  })
  c.on('error', () => {})
  return cleanup.track(c)
}

beforeAll(async () => {
  servers = await startRedisSentinel(
    envPort('REDIS_LEASE_SENTINEL_DATA_PORT', 7310),
    envPort('REDIS_LEASE_SENTINEL_PORT', 7312),
  )
  ioSentinel = ioredisSentinel()
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  for (const client of ioredisOwn.splice(0)) client.disconnect()
  await servers?.stop()
}, 60_000)

runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'redis sentinel (ioredis client)',
    leases: true,
    getThen: true,
    create: ({ prefix }) => redisStorage({ client: ioSentinel, prefix }),
  },
)

describe('redis leases through Sentinel', () => {
  it('work on the promoted replica after the master is killed (node-redis and ioredis)', async () => {
    const storages = [
      open({ client: nodeRedisSentinel(), prefix: uid('ls-node'), operationTimeoutMs: 500 }),
      open({ client: ioredisSentinel(), prefix: uid('ls-io'), operationTimeoutMs: 500 }),
    ]
    const t = token()
    // Each client first finds the master through the sentinels, which on a loaded runner once took longer than the
    // 500 ms bound of the first lease call; what is tested is the failover, so the clients are connected first.
    for (const storage of storages) await writesSteadily(() => storage.set('ns', 'probe', 1))
    for (const storage of storages) {
      expect(await storage.acquireLease('ns', 'k', t, LONG)).toBe(true)
      expect(await storage.releaseLease('ns', 'k', t)).toBe(true)
    }
    servers.master.signal('SIGKILL')
    const killedAt = performance.now()
    const evals = async (): Promise<number> =>
      Number(/cmdstat_eval:calls=(\d+)/.exec(await redisCli(servers.replica.port, 'info', 'commandstats'))?.[1] ?? 0)
    for (const [i, storage] of storages.entries()) {
      // A write succeeds on the old master's replica only once it is the master: the promoted one. (A probe, not the
      // lease: a try that timed out may still land, and would hold the lease for the next.)
      await writesSteadily(() => storage.set('ns', 'probe', 1))
      expect(await redisCli(servers.replica.port, 'role')).toMatch(/^master/)
      expect(await storage.acquireLease('ns', 'k', t, LONG)).toBe(true)
      const before = await evals()
      expect(await storage.extendLease('ns', 'k', t, LONG)).toBe(true)
      // The first client teaches the promoted replica the script; the second finds it cached.
      expect(await evals()).toBe(before + (i === 0 ? 1 : 0))
      expect(await storage.setIfLeased('ns', 'k', 'after', t)).toBe(true)
      expect((await storage.get('ns', 'k'))?.value).toBe('after')
      expect(await storage.delete('ns', 'k')).toBe(true)
    }
    process.stdout.write(
      `redis sentinel leases: both clients took, extended and wrote through a lease ${Math.round(performance.now() - killedAt)} ms after SIGKILL of the master\n`,
    )
  }, 60_000)
})
