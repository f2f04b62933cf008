// A write memokit reported failed (its operationTimeoutMs passed while the master of the key's slot was down) must
// not reach the server later, behind another process's delete. node-redis' cluster client sends it to that
// master's node client, whose offline queue (on by default) holds it for the client's own commandOptions.timeout
// (5 s by default), past memokit's deadline, and writes it once the node is reachable again.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createCluster, type RedisClusterType } from 'redis'
import { uid } from './counted'
import { disposer, envPort, FAILOVER_SOCKET, type RedisClusterProcesses, redisCli, startRedisCluster } from './servers'

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const TIMEOUT = 300

let cluster: RedisClusterProcesses
// Another process's client: no offline queue, so its delete is never held back itself.
let other: RedisClusterType
beforeAll(async () => {
  cluster = await startRedisCluster(envPort('REDIS_OFFLINE_CLUSTER_PORT', 7700))
  // No failover while a master is down: it comes back as the master of its slots (a restart, not a promotion).
  await Promise.all(cluster.nodes.map((node) => redisCli(node.port, 'config', 'set', 'cluster-node-timeout', '60000')))
  other = createCluster({
    rootNodes: [...cluster.rootNodes],
    defaults: { disableOfflineQueue: true, socket: FAILOVER_SOCKET },
  })
  other.on('error', () => {})
  cleanup.track(other)
  await other.connect()
}, 60_000)
afterAll(async () => {
  await cleanup.disposeAll()
  await cluster?.stop()
}, 60_000)

/** Deletes the entry as soon as its restarted master accepts writes (it answers CLUSTERDOWN for about 2 s). */
async function deleteOnceWritable(storage: RedisStorage): Promise<void> {
  const end = performance.now() + 10_000
  for (;;) {
    try {
      await storage.delete('ns', 'k')
      return
    } catch (error) {
      if (performance.now() > end) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

describe("a user's cluster client with its nodes' offline queue (the default)", () => {
  it.each([
    ['set', (s: RedisStorage) => s.set('ns', 'k', 'stale')],
    ['add', (s: RedisStorage) => s.add('ns', 'k', 'stale')],
    // A lease taken late would hold off every other process's computation of the key until its ttl.
    ['acquireLease', (s: RedisStorage) => s.acquireLease('ns', 'k', 'late-token-0123456789', 60_000)],
  ])(
    'a %s that timed out while the master was down never lands after a later delete by another process',
    async (_, write) => {
      // Its node clients reconnect 4 s after a drop (within node-redis' 5 s command timeout): the restarted master
      // refuses writes for its first 2 s (CLUSTERDOWN, Redis' writable delay), and the other process's delete
      // runs once it accepts them, before this client is back.
      const client = createCluster({
        rootNodes: [...cluster.rootNodes],
        defaults: { socket: { reconnectStrategy: () => 4000 } },
      })
      const dropped = new Promise((resolve) => client.once('node-error', resolve))
      client.on('error', () => {})
      await client.connect()
      try {
        const prefix = uid('offline-cluster')
        const mine = open({ client, prefix, operationTimeoutMs: TIMEOUT })
        const theirs = open({ client: other, prefix, operationTimeoutMs: 2000 })
        const key = `${prefix}:ns:k`
        await mine.set('ns', 'k', 'old')
        const master = await cluster.masterFor(key)

        master.signal('SIGKILL')
        await master.exited()
        await dropped
        await expect(write(mine)).rejects.toBeInstanceOf(StorageError)

        await master.restart()
        await deleteOnceWritable(theirs)
        // Answered once the node client has reconnected and sent what it held before it (the write, if still queued).
        await client.get(key)
        expect((await theirs.get('ns', 'k'))?.value).toBeUndefined()
        expect(await theirs.acquireLease('ns', 'k', 'other-token-0123456789', 1000)).toBe(true)
      } finally {
        client.on('node-error', () => {})
        client.destroy()
      }
    },
    20_000,
  )
})
