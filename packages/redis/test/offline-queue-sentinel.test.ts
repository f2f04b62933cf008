// A write memokit reported failed (its operationTimeoutMs passed while the master was down) must not reach the
// server later, behind another process's delete. node-redis' Sentinel client holds a command while its master
// connection isn't ready (RedisSentinelInternal.execute waits for a reconnect or a new master, then sends it on the
// master's node client), for the client's own commandOptions.timeout (5 s by default), past memokit's deadline,
// with or without the node clients' offline queue.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createSentinel } from 'redis'
import { uid } from './counted'
import { deleteAll, expectNoneLanded, expectRefused, writeOld } from './offline-writes'
import { disposer, envPort, type RedisSentinelProcesses, redisCli, startRedisSentinel } from './servers'

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const TIMEOUT = 300

let servers: RedisSentinelProcesses
beforeAll(async () => {
  servers = await startRedisSentinel(
    envPort('REDIS_OFFLINE_SENTINEL_DATA_PORT', 7710),
    envPort('REDIS_OFFLINE_SENTINEL_PORT', 7712),
  )
  // No failover while the master is down: it comes back as the master (a restart, not a promotion).
  await Promise.all(
    servers.sentinels.map((s) => redisCli(s.port, 'sentinel', 'set', servers.name, 'down-after-milliseconds', '60000')),
  )
}, 60_000)
afterAll(async () => {
  await cleanup.disposeAll()
  await servers?.stop()
}, 60_000)

// With disableOfflineQueue (the README's example) too: the wait for a ready master is Sentinel's own.
describe.each([
  ["with its nodes' offline queue (the default)", false],
  ['with disableOfflineQueue', true],
])("a user's Sentinel client %s", (_, disableOfflineQueue) => {
  it('a set, an add and an acquireLease that timed out while the master was down never land after a later delete by another process', async () => {
    // The master connection reconnects 1.5 s after a drop: the other process's deletes run first.
    const client = createSentinel({
      name: servers.name,
      sentinelRootNodes: [...servers.sentinelRootNodes],
      nodeClientOptions: { disableOfflineQueue, socket: { reconnectStrategy: () => 1500 } },
      // The master connection's errors reach 'error' too: the test waits for the drop.
      passthroughClientErrorEvents: true,
    })
    client.on('error', () => {})
    await client.connect()
    const dropped = new Promise((resolve) => client.once('error', resolve))
    try {
      const prefix = uid('offline-sentinel')
      const mine = open({ client, prefix, operationTimeoutMs: TIMEOUT })
      const other = open({ url: servers.master.url, prefix, operationTimeoutMs: 2000 })
      await writeOld(mine)

      servers.master.signal('SIGKILL')
      await servers.master.exited()
      await dropped
      const refused = await expectRefused(mine)
      // Not "no master known yet": one was known, it is down.
      expect(String(refused.set)).toMatch(/ on Sentinel \(no master ready\) timed out after 300 ms/)

      await servers.master.restart()
      await deleteAll(other)
      // Answered once the master connection is back; the writes, if still held, go out with it (or just after).
      await client.get(`${prefix}:ns:k`)
      await sleep(100)
      await expectNoneLanded(other)
    } finally {
      await client.destroy()
    }
  }, 20_000)
})
