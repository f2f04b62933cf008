// A write memokit reported failed (its operationTimeoutMs passed while the master of the key's slot was down) must
// not reach the server later, behind another process's delete. node-redis' cluster client sends it to that
// master's node client, whose offline queue (on by default) holds it for the client's own commandOptions.timeout
// (5 s by default), past memokit's deadline, and writes it once the node is reachable again.
import { afterAll, beforeAll, describe, it } from '@jest/globals'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createCluster, type RedisClusterType } from 'redis'
import { uid } from './counted'
import { deleteAll, expectNoneLanded, expectRefused, writeOld } from './offline-writes'
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

/** Deletes `key`'s entry as soon as its restarted master accepts writes (it answers CLUSTERDOWN for about 2 s). */
async function deleteOnceWritable(storage: RedisStorage, key: string): Promise<void> {
  const end = performance.now() + 10_000
  for (;;) {
    try {
      await storage.delete('ns', key)
      return
    } catch (error) {
      if (performance.now() > end) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

describe("a user's cluster client with its nodes' offline queue (the default)", () => {
  it('a set, an add and an acquireLease that timed out while the master was down never land after a later delete by another process', async () => {
    // Its node clients reconnect 4 s after a drop (within node-redis' 5 s command timeout): the restarted master
    // refuses writes for its first 2 s (CLUSTERDOWN, Redis' writable delay), and the other process's deletes
    // run once it accepts them, before this client is back.
    const client = createCluster({
      rootNodes: [...cluster.rootNodes],
      defaults: { socket: { reconnectStrategy: () => 4000 } },
    })
    const dropped = new Promise((resolve) => client.once('node-error', resolve))
    client.on('error', () => {})
    await client.connect()
    try {
      // A hash tag puts every key (and lease) of the test on one slot, so on the master that goes down.
      const prefix = `{${uid('offline-cluster')}}`
      const mine = open({ client, prefix, operationTimeoutMs: TIMEOUT })
      const theirs = open({ client: other, prefix, operationTimeoutMs: 2000 })
      await writeOld(mine)
      const master = await cluster.masterFor(`${prefix}:ns:k`)

      master.signal('SIGKILL')
      await master.exited()
      await dropped
      await expectRefused(mine)

      await master.restart()
      await deleteAll(theirs, (key) => deleteOnceWritable(theirs, key))
      // Answered once the node client has reconnected and sent what it held before it (the writes, if still queued).
      await client.get(`${prefix}:ns:k`)
      await expectNoneLanded(theirs)
    } finally {
      client.on('node-error', () => {})
      client.destroy()
    }
  }, 20_000)
})
